"""``stylegan``: StyleGAN2-ADA-lite for 72x72 RGBA emoji (seed 004's GAN-ji, in Keras 3)."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from emoji_t2i.errors import UsageError
from emoji_t2i.models.gan import TextConditionalGAN
from emoji_t2i.models.registry import register
from emoji_t2i.networks.augment import ADA_PARAMS
from emoji_t2i.networks.stylegan import StyleDiscriminator, StyleGenerator
from emoji_t2i.networks.stylegan_loss import StyleGANLoss


@register("stylegan")
@keras.saving.register_keras_serializable("emoji_t2i")
class StyleGAN(TextConditionalGAN):
    """StyleGAN2 with adaptive discriminator augmentation, sized for a CPU.

    - G: a mapping network z -> w (4 equalised Dense layers at 0.01 x the learning rate;
      the running mean w for truncation) and a synthesis network of modulated/demodulated
      3x3 convolutions at 9, 18, 36 and 72 px with per-pixel noise and skip-connected RGBA
      outputs (networks/stylegan.py); an EMA copy samples.
    - D: residual, minibatch standard deviation, the non-saturating logistic loss, R1 on
      the reals every ``r1_interval`` steps (lazy: the penalty times the interval).
    - ADA: every augmentation applied with probability p; every ``ada_interval`` steps p
      moves towards r_t = E[sign(D(real))] = ``ada_target`` by batch x interval /
      ``ada_speed_images``. p is a weight of D, so a resumed run continues with it and the
      ``augment_p`` and ``r_t`` columns of history.csv log it per epoch.
    - Style mixing (two z, a random crossover layer) with probability ``mixing_prob``;
      path-length regularisation when ``pl_weight`` > 0 (lazy, every 4 steps).
    - ``conditional=True`` joins a text code to z at the mapping network and adds a
      projection term to D, so prompts steer it; the default is seed 004's unconditional GAN
      (its prompts are ignored).

    Sampling takes ``truncation_psi`` (1: none) and uses each layer's fixed noise map, so a
    seed always gives the same emoji. Presets carry D too: fine-tunes (``--init-from``, the
    vendor pair that network blending swaps layers between) continue the adversarial game,
    and projection's feature loss reads D's feature maps.

    Args:
        vocabulary_size: the tokenizer's vocabulary size (read only when ``conditional``).
        z_dim, w_dim, mapping_depth: latent sizes and mapping layers.
        g_channels: synthesis channels at 9, 18, 36, 72 px; d_channels: D's at 72, 36, 18, 9.
        conditional, text_encoder, text_dim: text conditioning (see above).
        r1_gamma, r1_interval: R1 weight (gamma / 2 x |grad|^2) and its lazy interval.
        pl_weight: path-length regularisation weight (0: off).
        mixing_prob: share of training examples drawn with two ws.
        ada_target, ada_interval, ada_speed_images: the ADA controller; ``ada=False``
            keeps p at 0 (no augmentation).
        truncation_psi: the default truncation at sampling.
        ema_decay: decay of the generator EMA.
    """

    uses_labels = False
    UNUSED_HPARAMS = ("noise_dim", "loss", "matching_weight", "aux_weight", "augment", "d_steps", "gp_weight")
    progress_metrics = ("d_loss", "g_loss", "augment_p")
    training_defaults = {"g_lr": 2e-3, "d_lr": 2e-4, "beta_1": 0.0, "beta_2": 0.99}
    run_defaults = {"epochs": 10, "batch_size": 32}

    def __init__(self, vocabulary_size, z_dim=64, w_dim=128, mapping_depth=4, g_channels=(128, 128, 64, 32),
                 d_channels=(32, 64, 128, 128), conditional=False, text_encoder="embedding_gru", text_dim=64,
                 r1_gamma=0.05, r1_interval=16, pl_weight=0.0, mixing_prob=0.5, ada=True, ada_target=0.6,
                 ada_interval=4, ada_speed_images=20_000, truncation_psi=1.0, ema_decay=0.998, **kwargs):
        # === Config ===
        self.z_dim, self.w_dim, self.mapping_depth = z_dim, w_dim, mapping_depth
        self.g_channels, self.d_channels, self.conditional = tuple(g_channels), tuple(d_channels), conditional
        self.r1_gamma, self.r1_interval, self.pl_weight = r1_gamma, r1_interval, pl_weight
        self.mixing_prob = mixing_prob
        self.ada, self.ada_target, self.ada_interval = ada, ada_target, ada_interval
        self.ada_speed_images, self.truncation_psi = ada_speed_images, truncation_psi
        super().__init__(vocabulary_size, noise_dim=z_dim, text_encoder=text_encoder, text_dim=text_dim,
                         loss="bce", augment=False, ema_decay=ema_decay, **kwargs)
        self.objective = StyleGANLoss(r1_gamma, r1_interval, mixing_prob, ada, ada_target, ada_interval,
                                      ada_speed_images)  # the JAX step calls the same object
        self.cached_text = False
        self.seed_generator = keras.random.SeedGenerator(0)  # per-pixel noise and path-length noise
        # ADA's running sum of sign(D(real)) since the last adjustment, and its count.
        self.ada_sign_sum = self.add_weight(shape=(), initializer="zeros", trainable=False, name="ada_sign_sum",
                                        autocast=False)
        self.ada_count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="ada_count",
                                        autocast=False)
        self.pl_mean = self.add_weight(shape=(), initializer="zeros", trainable=False, name="pl_mean",
                                        autocast=False)
        for name in ("aux_accuracy", "wrong_score"):
            del self.trackers[name]
        for name in ("augment_p", "r_t", "r1_penalty"):
            self.trackers[name] = keras.metrics.Mean(name=name)

    def make_generator(self, name):
        return StyleGenerator(self.vocabulary_size, self.z_dim, self.w_dim, self.mapping_depth, self.g_channels,
                              self.conditional, self.text_encoder, self.text_dim, name=name)

    def make_discriminator(self, name):
        return StyleDiscriminator(self.vocabulary_size, self.d_channels, self.conditional, self.text_encoder,
                                  self.text_dim, name=name)

    def get_config(self):
        config = {**super().get_config(), "z_dim": self.z_dim, "w_dim": self.w_dim,
                  "mapping_depth": self.mapping_depth, "g_channels": list(self.g_channels),
                  "d_channels": list(self.d_channels), "conditional": self.conditional,
                  "r1_gamma": self.r1_gamma, "r1_interval": self.r1_interval, "pl_weight": self.pl_weight,
                  "mixing_prob": self.mixing_prob, "ada": self.ada, "ada_target": self.ada_target,
                  "ada_interval": self.ada_interval, "ada_speed_images": self.ada_speed_images,
                  "truncation_psi": self.truncation_psi}
        for key in (*self.UNUSED_HPARAMS, "num_classes"):
            config.pop(key, None)
        return config

    # --- randomness and sampling ---------------------------------------------------------------
    def random_draws(self):
        return {"noise": ("normal", (self.z_dim,)), "mix_noise": ("normal", (self.z_dim,)),
                "mix": ("uniform", (2,)), "ada": ("uniform", (2, ADA_PARAMS))}

    def generate(self, tokens, noise):
        return self.sample(tokens, noise)

    def sample(self, tokens, noise, truncation_psi=None, **options):
        if options:
            raise UsageError(f"stylegan samples with truncation_psi only; it takes no {', '.join(sorted(options))}")
        psi = self.truncation_psi if truncation_psi is None else truncation_psi
        return ops.cast(self.ema_generator([noise, tokens], truncation_psi=psi, training=False), "float32")

    def sampling_layers(self):
        return [self.ema_generator]

    def preset_layers(self):
        return [self.ema_generator, self.discriminator]

    def warm_start(self, source) -> None:
        super().warm_start(source)
        self.discriminator.set_weights(source.discriminator.get_weights())

    # --- training ------------------------------------------------------------------------------
    def mixed_ws(self, z, mix_z, mix, tokens):
        """Per-layer ws with style mixing (``StyleGANLoss.mixed_ws``)."""
        return self.objective.mixed_ws(self.generator, z, mix_z, mix, tokens)

    def pixel_noise(self, batch):
        return {name: keras.random.normal((batch, *shape), seed=self.seed_generator)
                for name, shape in self.generator.synthesis.noise_shapes().items()}

    def _r1_penalty(self, real, tokens):
        with tf.GradientTape() as tape:
            tape.watch(real)
            total = ops.sum(ops.cast(self.discriminator([real, tokens], training=True), "float32"))
        return self.objective.r1_penalty(tape.gradient(total, real))

    def discriminator_gradients(self, real, fake, tokens, ada, step):
        """D's half of a step before its update: (per-example loss, D(real), D(fake), R1 per
        example, gradients of D's trainable weights); ``training/jax_stylegan.py`` computes the same."""
        d, objective = self.discriminator, self.objective
        p = d.augment_probability
        real_seen, fake_seen = objective.augment(real, ada[:, 0], p), objective.augment(fake, ada[:, 1], p)
        with tf.GradientTape() as tape:
            s_real = ops.cast(d([real_seen, tokens], training=True), "float32")[:, 0]
            s_fake = ops.cast(d([fake_seen, tokens], training=True), "float32")[:, 0]
            zeros = ops.zeros_like(s_real)
            r1 = tf.cond(objective.r1_due(step), lambda: self._r1_penalty(real_seen, tokens),
                         lambda: zeros) if objective.r1_gamma > 0 else zeros
            per_example = objective.discriminator_loss(s_real, s_fake, r1)
            scaled = self.d_optimizer.scale_loss(tf.nn.compute_average_loss(per_example))
        return per_example, s_real, s_fake, r1, tape.gradient(scaled, d.trainable_variables)

    def _d_update(self, real, fake, tokens, ada, step):
        d = self.discriminator
        p = ops.convert_to_tensor(d.augment_probability) if self.ada else ops.zeros(())
        _, s_real, s_fake, r1, grads = self.discriminator_gradients(real, fake, tokens, ada, step)
        self.d_optimizer.apply_gradients(zip(grads, d.trainable_variables, strict=True))
        if self.ada:
            moved = self.objective.adapt(d.augment_probability, self.ada_sign_sum, self.ada_count, ops.sign(s_real),
                                         step)
            for variable, value in zip((d.augment_probability, self.ada_sign_sum, self.ada_count), moved, strict=True):
                variable.assign(value)
        self.trackers["d_loss"].update_state(ops.mean(self.objective.discriminator_loss(s_real, s_fake, 0.0)))
        self.trackers["real_score"].update_state(ops.mean(s_real))
        self.trackers["fake_score"].update_state(ops.mean(s_fake))
        self.trackers["r_t"].update_state(ops.mean(ops.sign(s_real)))
        self.trackers["augment_p"].update_state(p)
        self.trackers["r1_penalty"].update_state(ops.sum(r1) / ops.maximum(ops.sum(ops.cast(r1 > 0, "float32")), 1.0))

    def _fake_scores(self, fake, tokens, ada):
        p = self.discriminator.augment_probability
        return ops.cast(self.discriminator([self.objective.augment(fake, ada[:, 1], p), tokens], training=True),
                        "float32")[:, 0]

    def generator_gradients(self, z, mix_z, mix, tokens, ada, noise):
        """G's half of a step against the current D: (per-example loss, gradients of G's
        trainable weights), without the path-length term; the JAX step computes the same."""
        with tf.GradientTape() as tape:
            ws = self.mixed_ws(z, mix_z, mix, tokens)
            fake = ops.cast(self.generator.synthesis(ws, noise, training=True), "float32")
            per_example = self.objective.generator_loss(self._fake_scores(fake, tokens, ada))
            loss = tf.nn.compute_average_loss(per_example)
        return per_example, tape.gradient(loss, self.generator.trainable_variables)

    def _path_length_penalty(self, ws, noise):
        """(|J_w^T y| - a)^2 with y ~ N(0, I)/sqrt(HW) and a the running mean length."""
        with tf.GradientTape() as tape:
            tape.watch(ws)
            images = ops.cast(self.generator.synthesis(ws, noise, training=True), "float32")
            y = keras.random.normal(ops.shape(images), seed=self.seed_generator) / 72.0
            total = ops.sum(images * y)
        grads = tape.gradient(total, ws)
        lengths = ops.sqrt(ops.mean(ops.sum(ops.square(grads), axis=-1), axis=-1))
        self.pl_mean.assign(self.pl_mean + 0.01 * (ops.mean(ops.stop_gradient(lengths)) - self.pl_mean))
        return ops.square(lengths - self.pl_mean)

    def train_step(self, data):
        real, tokens, ada = data["images"], data["tokens"], data["ada"]
        step = self.g_optimizer.iterations
        batch = ops.shape(real)[0]
        with tf.GradientTape() as g_tape:
            ws = self.mixed_ws(data["noise"], data["mix_noise"], data["mix"], tokens)
            noise = self.pixel_noise(batch)
            fake = ops.cast(self.generator.synthesis(ws, noise, training=True), "float32")
            with g_tape.stop_recording():
                self._d_update(real, tf.stop_gradient(fake), tokens, ada, step)
            s_fake = self._fake_scores(fake, tokens, ada)
            per_example = self.objective.generator_loss(s_fake)
            if self.pl_weight > 0:
                lazy = ops.equal(step % 4, 0)
                pl = tf.cond(lazy, lambda: self._path_length_penalty(ws, noise), lambda: ops.zeros_like(per_example))
                per_example = per_example + self.pl_weight * 4.0 * pl
            loss = tf.nn.compute_average_loss(per_example)
            scaled = self.g_optimizer.scale_loss(loss)
        self.apply_generator_step(g_tape, scaled, self.objective.generator_loss(s_fake))
        return {name: t.result() for name, t in self.trackers.items()}
