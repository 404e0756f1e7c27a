"""The text-conditional GAN training wrapper every GAN of the zoo shares.

A zoo GAN subclasses :class:`TextConditionalGAN` and provides ``make_generator()`` and
``make_discriminator()``; this class holds the keras.io-style ``compile(g_optimizer,
d_optimizer)``, ``metrics`` and ``train_step`` that ``fit()`` runs, and the EMA copy of
the generator that sampling uses.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from emoji_t2i.errors import UsageError
from emoji_t2i.models import losses
from emoji_t2i.models.base import ZooModel
from emoji_t2i.models.layers import diff_augment
from emoji_t2i.networks.ema import warmup_decay
from emoji_t2i.text.encoders import is_frozen_encoder


class TextConditionalGAN(ZooModel):
    """Base class: see the subclasses (``cgan``) for the networks and their docstrings.

    Each batch is the pipeline's dict (images, tokens, wrong_tokens, labels, noise, augment).
    One step trains D ``d_steps`` times on the same generated batch, then G once. G is run
    forward once per step: the D update happens inside the G tape with recording paused,
    so the fake images are not generated twice.
    The engine's contract is ``ZooModel``'s (models/base.py).
    """

    OPTIMIZERS = {"g_optimizer": "g_lr", "d_optimizer": "d_lr"}
    uses_labels = True  # auxiliary classifier heads: num_classes comes from the data
    progress_metrics = ("d_loss", "g_loss")  # what the progress bar shows
    # TTUR (D learns faster) and Adam(0, 0.9), the usual stable GAN settings.
    training_defaults = {"g_lr": 2e-4, "d_lr": 4e-4, "beta_1": 0.0, "beta_2": 0.9}

    def __init__(self, vocabulary_size, noise_dim=64, text_encoder="embedding_gru", text_dim=128,
                 num_classes=(), loss="hinge", matching_weight=0.5, aux_weight=1.0, augment=True,
                 ema_decay=0.999, d_steps=None, gp_weight=10.0, **kwargs):
        super().__init__(**kwargs)
        if loss not in losses.LOSSES:
            raise UsageError(f"unknown loss {loss!r}; use one of {', '.join(losses.LOSSES)}")
        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.noise_dim = noise_dim
        self.text_encoder = text_encoder
        self.text_dim = text_dim
        self.num_classes = tuple(num_classes)
        self.loss_kind = loss
        self.matching_weight = matching_weight
        self.aux_weight = aux_weight
        self.augment = augment
        self.ema_decay = ema_decay
        # WGAN-GP trains its critic several times per G step (Gulrajani et al. use 5).
        self.d_steps = d_steps if d_steps is not None else (5 if loss == "wgan_gp" else 1)
        self.gp_weight = gp_weight
        # minilm and hub: encoders are frozen: the engine caches their caption embeddings and G
        # and D read those (one encoding per caption per run instead of one per network call).
        self.cached_text = is_frozen_encoder(text_encoder)
        # === Networks ===
        self.generator = self.make_generator(name="generator")
        self.ema_generator = self.make_generator(name="ema_generator")
        self.discriminator = self.make_discriminator(name="discriminator")
        self.ema_generator.trainable = False
        if loss == "wgan_gp":  # in-graph randomness for the penalty's interpolation points
            self.seed_generator = keras.random.SeedGenerator(0)
        names = ("d_loss", "g_loss", "real_score", "fake_score", "wrong_score", "aux_accuracy")
        self.trackers = {n: keras.metrics.Mean(name=n) for n in names}

    def make_generator(self, name):
        raise NotImplementedError

    def make_discriminator(self, name):
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "noise_dim": self.noise_dim, "text_encoder": self.text_encoder,
                "text_dim": self.text_dim, "num_classes": list(self.num_classes),
                "loss": self.loss_kind, "matching_weight": self.matching_weight,
                "aux_weight": self.aux_weight, "augment": self.augment,
                "ema_decay": self.ema_decay, "d_steps": self.d_steps, "gp_weight": self.gp_weight}

    # --- compile / build -------------------------------------------------------------
    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(**kwargs)
        if keras.config.dtype_policy().name == "mixed_float16":
            # Keras scales the loss only for self.optimizer; a GAN's two need it by hand.
            g_optimizer = keras.optimizers.LossScaleOptimizer(g_optimizer)
            d_optimizer = keras.optimizers.LossScaleOptimizer(d_optimizer)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    def build(self, input_shape):
        """``input_shape``: [noise shape, token shape], as the model is called."""
        sequence_length = input_shape[1][1]
        tokens = ops.ones((2, sequence_length), "int64")
        noise = ops.zeros((2, self.noise_dim))
        images = self.generator([noise, tokens])
        self.ema_generator([noise, tokens])
        self.discriminator([images, tokens])
        self.copy_to_ema(decay=0.0)
        self.built = True

    def build_all(self, sequence_length):
        """Create every variable (networks, EMA, optimizer slots) so a checkpoint can restore."""
        if not self.built:
            self.build([(None, self.noise_dim), (None, sequence_length)])
        for opt, net in ((self.g_optimizer, self.generator), (self.d_optimizer, self.discriminator)):
            if not opt.built:
                opt.build(net.trainable_variables)

    # --- sampling --------------------------------------------------------------------
    def generate(self, tokens, noise):
        """Images in [-1, 1], float32 (B, 72, 72, 4), from the EMA generator."""
        return ops.cast(self.ema_generator([noise, tokens], training=False), "float32")

    def sampling_layers(self):
        return [self.ema_generator]

    def networks(self):
        """The trained networks, by name (what tests and reports walk over)."""
        return {"generator": self.generator, "discriminator": self.discriminator}

    def ema_pairs(self):
        return [(self.generator, self.ema_generator)]

    # --- hooks a zoo GAN may override ----------------------------------------------------
    def generator_forward(self, noise, tokens, training):
        """(images, per-example extra G loss): StackGAN adds its Conditioning Augmentation KL."""
        return self.generator([noise, tokens], training=training), 0.0

    def real_images(self, images):
        """The real images D sees (StackGAN's Stage I sees them at 36x36)."""
        return images

    # --- training --------------------------------------------------------------------
    def _aux_terms(self, h, labels):
        logits = self.discriminator.classify(h)
        loss = 0.0
        for i, logit in enumerate(logits):
            loss = loss + losses.masked_cross_entropy(labels[:, i], logit)
        return loss, logits

    def _d_step(self, real, fake, tokens, wrong, labels, aug):
        d = self.discriminator
        with tf.GradientTape() as tape:
            if self.augment:
                real, fake = diff_augment(real, aug[:, 0]), diff_augment(fake, aug[:, 1])
            # The mismatched-caption term reuses the real features: only the head reruns.
            h_real = d.features(real, training=True)
            h_fake = d.features(fake, training=True)
            s_real = d.score(h_real, tokens, training=True)
            s_wrong = d.score(h_real, wrong, training=True)
            s_fake = d.score(h_fake, tokens, training=True)
            per_example = losses.d_loss(self.loss_kind, s_real, s_fake, s_wrong, self.matching_weight)
            aux, logits = self._aux_terms(h_real, labels)
            per_example = per_example + self.aux_weight * aux
            if self.loss_kind == "wgan_gp":
                alpha = keras.random.uniform((ops.shape(real)[0], 1, 1, 1), seed=self.seed_generator)
                critic = lambda x: d.score(d.features(x, training=True), tokens, training=True)  # noqa: E731
                per_example = per_example + self.gp_weight * losses.gradient_penalty(critic, real, fake, alpha)
            loss = tf.nn.compute_average_loss(per_example)
            scaled = self.d_optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, d.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, d.trainable_variables, strict=True))
        self.trackers["d_loss"].update_state(ops.mean(per_example))
        self.trackers["real_score"].update_state(ops.mean(ops.cast(s_real, "float32")))
        self.trackers["fake_score"].update_state(ops.mean(ops.cast(s_fake, "float32")))
        self.trackers["wrong_score"].update_state(ops.mean(ops.cast(s_wrong, "float32")))
        if logits:
            hit = ops.cast(ops.equal(ops.argmax(logits[0], -1), ops.cast(labels[:, 0], "int32")),
                           "float32")
            self.trackers["aux_accuracy"].update_state(ops.mean(hit))

    def train_step(self, data):
        real, tokens, wrong = self.real_images(data["images"]), data["tokens"], data["wrong_tokens"]
        if self.cached_text:  # the pipeline's wrong captions are the batch rolled by one
            tokens = data["text_features"]
            wrong = tf.roll(tokens, shift=1, axis=0)
        labels, noise, aug = data["labels"], data["noise"], data["augment"]
        with tf.GradientTape() as g_tape:
            fake, g_extra = self.generator_forward(noise, tokens, training=True)
            with g_tape.stop_recording():
                for _ in range(self.d_steps):
                    self._d_step(real, tf.stop_gradient(fake), tokens, wrong, labels, aug)
            seen = diff_augment(fake, aug[:, 1]) if self.augment else fake
            h_fake = self.discriminator.features(seen, training=True)
            s_fake = self.discriminator.score(h_fake, tokens, training=True)
            aux, _ = self._aux_terms(h_fake, labels)
            per_example = losses.g_loss(self.loss_kind, s_fake) + self.aux_weight * aux + g_extra
            loss = tf.nn.compute_average_loss(per_example)
            scaled = self.g_optimizer.scale_loss(loss)
        self.apply_generator_step(g_tape, scaled, per_example)
        return {name: t.result() for name, t in self.trackers.items()}

    def apply_generator_step(self, tape, scaled_loss, per_example):
        """G's update from its tape, then the EMA copy and the g_loss tracker."""
        g_vars = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled_loss, g_vars), g_vars, strict=True))
        # Short warm-up: early on the EMA follows G closely, later it averages ~1/(1-decay) steps.
        self.copy_to_ema(warmup_decay(self.g_optimizer.iterations, self.ema_decay))
        self.trackers["g_loss"].update_state(ops.mean(per_example))
