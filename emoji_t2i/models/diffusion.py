"""``diffusion``: a text-conditioned pixel diffusion model, the zoo's flagship.

A U-Net (``networks/unet.py``) predicts v on premultiplied RGBA under the cosine schedule
(``schedulers/``); the caption enters through FiLM from a frozen sentence embedding
(``minilm`` by default, cached per run) or any zoo text encoder trained with it. Classifier-
free guidance: captions are dropped for ``condition_dropout`` of the examples in training and
sampling mixes the conditional and unconditional predictions in one batched call per step.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.data.images import premultiply, unpremultiply
from emoji_t2i.errors import UsageError
from emoji_t2i.models.base import ShapeFreeZooModel
from emoji_t2i.models.registry import register
from emoji_t2i.networks.augment import GEOMETRY_LABELS, GEOMETRY_PARAMS
from emoji_t2i.networks.condition import ANY_STYLE, pack_condition
from emoji_t2i.networks.ema import warmup_decay
from emoji_t2i.networks.lr_schedules import WarmupCosine
from emoji_t2i.networks.optimizers import AdamW
from emoji_t2i.networks.unet import GROWABLE, TextConditionedUNet, grow_unet
from emoji_t2i.schedulers import ConditionAnnealing, CosineSchedule, DenoisingLoss, make_sampler
from emoji_t2i.text import make_text_encoder
from emoji_t2i.text.encoders import frozen_text_encoder, is_frozen_encoder


def _per_example(weight, like):
    """A condition's weight as a scalar or a (B,) vector broadcast over images like ``like``."""
    weight = tf.cast(weight, tf.float32)
    return weight if weight.shape.rank == 0 else tf.reshape(weight, [-1, 1, 1, 1])


def _draw_like(noise, condition):
    """Standard normals shaped like ``condition`` (B, ...), one row per example from its own
    starting noise (B, H, W, C): its first entries, repeated where the condition is larger."""
    flat = tf.reshape(noise, [tf.shape(noise)[0], -1])
    size = tf.reduce_prod(tf.shape(condition)[1:])
    flat = tf.tile(flat, [1, (size + tf.shape(flat)[1] - 1) // tf.shape(flat)[1]])
    return tf.reshape(flat[:, :size], tf.shape(condition))


@register("diffusion")
@keras.saving.register_keras_serializable("emoji_t2i")
class TextToEmojiDiffusion(ShapeFreeZooModel):
    """Text-conditioned diffusion on 72x72 RGBA emoji.

    Training: x0 = premultiplied image, t ~ U(0, 1), x_t = alpha_t x0 + sigma_t eps, the
    U-Net predicts v = alpha_t eps - sigma_t x0 (v, not eps: eps-prediction gave pure noise
    after 30 CPU-minutes here, shared/LESSONS.md), mean squared error, AdamW with warm-up
    and cosine decay, an EMA of the weights for sampling. No flips: arrows, hands and flags
    have a direction.

    Sampling: ``sample(tokens, noise, num_steps, guidance_scale, sampler)`` starts from the
    given noise (B, 72, 72, 4) and runs DPM-Solver++(2M) (default), DDIM or DDPM.

    Args:
        vocabulary_size: the tokenizer's vocabulary size.
        text_encoder: ``minilm`` (frozen; its pooled 384-d embeddings of the training
            captions are computed once per run) or any other ``emoji_t2i.text`` kind,
            trained with the U-Net and producing ``text_dim`` features.
        text_dim: text feature size for a trained encoder (minilm's is 384).
        widths: U-Net channels at 36, 18 and 9 px. (32, 64, 128) trains at ~35 img/s on a
            2-core CPU; see docs/models/diffusion.md for the measurements behind the choice.
        blocks: residual blocks per U-Net level.
        condition_dropout: share of training captions replaced by the null caption (CFG).
        ema_decay: EMA decay (with warm-up: min(decay, (1 + step) / (10 + step))).
        text_noise: Gaussian noise on the text features in training, relative to their RMS
            (``DenoisingLoss``; 0 = none).
        num_steps, guidance_scale, sampler, guidance_interval: sampling defaults (see
            ``sample_conditions``; no interval guides every step).
        cross_attention: the U-Net also attends over the frozen minilm's token features (the
            packed condition of ``networks/condition.py``); the encoder then runs every step.
        styles: the style names the model is conditioned on (``sample(..., style=...)``);
            empty: none. A style is dropped to "any" for ``style_dropout`` of the examples.
        style_dropout: share of training examples whose style is replaced by "any".
        guidance_input: a distilled student (``python -m emoji_t2i.train_jax distill``): the
            U-Net reads the guidance scale and predicts the guided output, so a sampling step
            is one call on the undoubled batch. It samples with DDIM in the steps it was
            distilled for (``num_steps``); ``guidance_interval`` records its teacher's.
        augment_probability: EDM's non-leaky geometric augmentation in training (each of
            translation, scale, rotation and anisotropy with this probability, the U-Net told
            what was done; ``DenoisingLoss``); 0 = none. Sampling is unchanged.
        dropout: dropout rate in the U-Net's residual blocks in training (DDPM and ADM use
            0.1 against overfitting); 0 = none. No weights: presets load either way.
        condition_annealing: sampling default, (tau_low, tau_high, noise_scale) or None: the
            caption noised early in sampling and clean late (CADS; ``sample_conditions``).
    """

    OPTIMIZERS = {"optimizer": "lr"}
    SEQUENCE_LENGTH = 24  # minilm's WordPiece length (text/minilm.py)
    MAX_WORDS = 64  # the text-noise draw covers conditions of up to this many tokens
    progress_metrics = ("loss",)
    run_defaults = {"epochs": 18}  # ~60 min on a 2-core CPU at ~37 img/s (docs/models/diffusion.md)
    training_defaults = {"lr": 1e-3, "beta_1": 0.9, "beta_2": 0.99, "weight_decay": 0.01,
                         "warmup_steps": 200, "lr_schedule": "cosine"}

    def __init__(self, vocabulary_size, text_encoder="minilm", text_dim=128, widths=(32, 64, 128),
                 blocks=2, condition_dropout=0.15, ema_decay=0.998, num_steps=20,
                 guidance_scale=3.0, sampler="dpm_solver", guidance_interval=None, text_noise=0.0,
                 cross_attention=False, styles=(), style_dropout=0.3, guidance_input=False,
                 augment_probability=0.0, condition_annealing=None, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size, self.text_encoder_kind = vocabulary_size, text_encoder
        self.text_dim, self.widths, self.blocks = text_dim, tuple(widths), blocks
        self.condition_dropout, self.ema_decay = condition_dropout, ema_decay
        self.text_noise = float(text_noise)
        self.num_steps, self.guidance_scale, self.sampler = num_steps, guidance_scale, sampler
        self.guidance_interval = None if guidance_interval is None else tuple(float(g) for g in guidance_interval)
        if isinstance(styles, str):  # --set styles=google,twitter
            styles = [s.strip() for s in styles.split(",") if s.strip()]
        self.cross_attention, self.styles = bool(cross_attention), tuple(str(s) for s in styles)
        self.style_dropout = float(style_dropout)
        self.guidance_input = bool(guidance_input)
        self.augment_probability = float(augment_probability)
        self.dropout = float(dropout)
        if not 0.0 <= self.dropout < 1.0:
            raise UsageError(f"--set dropout={dropout}: give a rate from 0 up to (not including) 1, e.g. 0.1")
        annealing = ConditionAnnealing.parse(condition_annealing)  # fails now, naming the form, if malformed
        self.condition_annealing = None if annealing is None else tuple(annealing.get_config())
        make_sampler(sampler, CosineSchedule())  # fails now, naming the choices, if unknown
        if (self.cross_attention or self.styles) and not is_frozen_encoder(text_encoder):
            raise UsageError(f"--set text_encoder={text_encoder}: cross_attention and styles read the "
                             "frozen minilm's features; use text_encoder=minilm")
        # === Networks ===
        # with cross-attention the frozen encoder runs every step (its words are not cached)
        self.cached_text = is_frozen_encoder(text_encoder) and not (self.cross_attention or self.styles)
        if is_frozen_encoder(text_encoder):
            self.text_encoder = frozen_text_encoder(text_encoder)
            feature_dim = self.text_encoder.output_dim
        else:
            self.text_encoder = make_text_encoder(text_encoder, vocabulary_size, text_dim, name="text_encoder")
            feature_dim = text_dim
        self.text_feature_dim = feature_dim
        unet = {"cross_attention": self.cross_attention, "styles": len(self.styles),
                "guidance_input": self.guidance_input,
                "augment_dim": GEOMETRY_LABELS if self.augment_probability > 0 else 0}
        self.denoiser = TextConditionedUNet(feature_dim, self.widths, blocks, name="denoiser", dropout=self.dropout,
                                            **unet)
        self.ema_denoiser = TextConditionedUNet(feature_dim, self.widths, blocks, name="ema_denoiser", **unet)
        self.ema_denoiser.trainable = False
        if not is_frozen_encoder(text_encoder):
            self.ema_text_encoder = make_text_encoder(text_encoder, vocabulary_size, text_dim,
                                                      name="ema_text_encoder")
            self.ema_text_encoder.trainable = False
        self.schedule = CosineSchedule()
        self.loss_fn = DenoisingLoss(self.schedule, condition_dropout, text_noise, self.augment_probability)
        self.trackers = {"loss": keras.metrics.Mean(name="loss")}

    # --- what the engine asks of a zoo model ------------------------------------------------
    noise_shape = (IMAGE_SIZE, IMAGE_SIZE, CHANNELS)

    def random_draws(self) -> dict:
        draws = {"image_noise": ("normal", self.noise_shape), "time": ("uniform", ()), "keep": ("uniform", ())}
        if self.text_noise > 0:
            rows = (2 + self.MAX_WORDS,) if self.packed else ()
            draws["text_noise"] = ("normal", (*rows, self.text_feature_dim))
        if self.styles:
            draws["style_keep"] = ("uniform", ())
        if self.augment_probability > 0:
            draws["augment_geometry"] = ("uniform", (GEOMETRY_PARAMS,))
        return draws

    @property
    def packed(self) -> bool:
        """True when the U-Net reads the packed (sentence, style, words) condition."""
        return self.cross_attention or bool(self.styles)

    @property
    def frozen_text(self) -> bool:
        return is_frozen_encoder(self.text_encoder_kind)

    def networks(self):
        nets = {"denoiser": self.denoiser}
        if not self.frozen_text:
            nets["text_encoder"] = self.text_encoder
        return nets

    def sampling_layers(self):
        return [self.ema_denoiser] + ([self.text_encoder] if self.frozen_text else [self.ema_text_encoder])

    def make_optimizers(self, training: dict, total_steps: int) -> dict:
        return {"optimizer": AdamW(
            self.learning_rate(training, total_steps), weight_decay=float(training["weight_decay"]),
            beta_1=float(training["beta_1"]), beta_2=float(training["beta_2"]), clipnorm=1.0)}

    def apply_learning_rates(self, training: dict, total_steps: int) -> None:
        self.optimizer.learning_rate = self.learning_rate(training, total_steps)

    @staticmethod
    def learning_rate(training: dict, total_steps: int):
        kind = str(training["lr_schedule"])
        if kind not in ("cosine", "constant"):
            raise UsageError(f"--set lr_schedule={kind}: unknown; use cosine or constant")
        decay = total_steps if kind == "cosine" else 0
        return WarmupCosine(float(training["lr"]), int(training["warmup_steps"]), decay)

    def build(self, input_shape=None):
        self._build_unet(ema=False)
        self._build_unet(ema=True)
        self.copy_to_ema(0.0)
        self.built = True

    def _build_unet(self, ema: bool) -> None:
        """Call the (EMA or trained) U-Net, and the text encoder it reads, once on dummy input."""
        b = 2
        tokens = ops.ones((b, self.SEQUENCE_LENGTH if self.packed else 8), "int32")
        guidance = (ops.ones((b,)),) if self.guidance_input else ()
        unet = self.ema_denoiser if ema else self.denoiser
        unet((ops.zeros((b, *self.noise_shape)), ops.zeros((b,)), self.encode(tokens, ema=ema), ops.ones((b,)),
              *guidance))

    def build_sampling_layers(self, sequence_length: int) -> None:
        if not self.built:  # the trained U-Net would cost as much again (~0.8 s on a 2-core CPU)
            self._build_unet(ema=True)
            self.built = True

    def build_all(self, sequence_length):
        trained = [net for net, _ in self.ema_pairs()]
        if self.built and not all(net.built for net in trained):  # built to sample: train from the EMA
            self._build_unet(ema=False)
            for net, ema in self.ema_pairs():
                net.set_weights(ema.get_weights())
        super().build_all(sequence_length)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "text_encoder": self.text_encoder_kind, "text_dim": self.text_dim,
                "widths": list(self.widths), "blocks": self.blocks,
                "condition_dropout": self.condition_dropout, "ema_decay": self.ema_decay,
                "num_steps": self.num_steps, "guidance_scale": self.guidance_scale,
                "sampler": self.sampler,
                "guidance_interval": None if self.guidance_interval is None else list(self.guidance_interval),
                "text_noise": self.text_noise, "cross_attention": self.cross_attention,
                "styles": list(self.styles), "style_dropout": self.style_dropout,
                "guidance_input": self.guidance_input, "augment_probability": self.augment_probability,
                "condition_annealing": None if self.condition_annealing is None else list(self.condition_annealing),
                "dropout": self.dropout}

    # --- text --------------------------------------------------------------------------------
    def style_ids(self, style, batch):
        """A style name, a list of names or ids, or None ("any") -> (B,) int32 ids (-1 = any)."""
        if style is None or isinstance(style, str) and style in ("", "any"):
            return tf.fill([batch], ANY_STYLE)
        if isinstance(style, str):
            style = [style]
        if isinstance(style, list | tuple) and style and isinstance(style[0], str):
            unknown = [s for s in style if s not in self.styles and s not in ("", "any")]
            if unknown:
                raise UsageError(f"style {unknown[0]!r}: this model knows "
                                 f"{', '.join(self.styles) or 'no styles'}; use one of them or 'any'")
            style = [self.styles.index(s) if s in self.styles else ANY_STYLE for s in style]
        style = tf.cast(style, tf.int32)
        return tf.broadcast_to(style, [batch]) if style.shape.rank == 0 or style.shape[0] == 1 else style

    def encode(self, tokens, ema=True, style=None):
        """Token ids -> the text features the U-Net reads: (B, D), or the packed (B, 2 + L, D)
        condition with ``style`` (a name, names or ids per example; None = any)."""
        if self.packed:
            out = self.text_encoder(tokens)
            batch = tf.shape(tokens)[0]
            style = self.style_ids(style, batch) if self.styles else tf.fill([batch], ANY_STYLE)
            return pack_condition(out["pooled"], out["sequence"], out["mask"], style)
        if self.cached_text:
            return ops.cast(self.text_encoder(tokens)["pooled"], "float32")
        encoder = self.ema_text_encoder if ema else self.text_encoder
        return ops.cast(encoder(tokens), "float32")

    @property
    def takes_negative_prompt(self) -> bool:
        """Whether sampling can guide away from a prompt: classifier-free guidance has a null
        prediction to put it in (a distilled student, one call a step, has none)."""
        return not self.guidance_input

    def negative_condition(self, tokens, style=None):
        """What ``sample(negative=...)`` takes for tokenised negative prompts: their features."""
        return self.encode(tokens, style=style)

    # --- sampling ------------------------------------------------------------------------------
    def sample(self, tokens, noise, num_steps=None, guidance_scale=None, sampler=None, seed=None,
               callback=None, init_image=None, strength=1.0, guidance_interval=None, style=None,
               condition_annealing=None, negative=None, negative_keep=1.0, mask=None):
        """Images in [-1, 1] (straight alpha), float32 (B, 72, 72, 4), from the EMA U-Net.

        Conditional and unconditional predictions come from one batched U-Net call per step.
        ``callback()`` runs after each step when called eagerly (a progress bar).
        ``init_image`` (B, 72, 72, 4) in [-1, 1] with ``strength`` in [0, 1]: SDEdit, see
        ``sample_conditions``. ``style``: a name (or ids per example) for a model with styles;
        None draws in any of them. ``negative``: features to guide away from; ``mask``: what to
        redraw of ``init_image`` (both ``sample_conditions``)."""
        return self.sample_conditions([(self.encode(tokens, style=style), 1.0)], noise, num_steps, guidance_scale,
                                      sampler, seed, callback, init_image, strength, guidance_interval,
                                      condition_annealing, negative, negative_keep, mask)

    def sample_conditions(self, conditions, noise, num_steps=None, guidance_scale=None, sampler=None,
                          seed=None, callback=None, init_image=None, strength=1.0, guidance_interval=None,
                          condition_annealing=None, negative=None, negative_keep=1.0, mask=None):
        """Sampling under several text conditions at once (composable diffusion, Liu et al. 2022).

        ``conditions``: ``[(features (B, D), weight), ...]``; each step moves along
        v_null + guidance * sum_k weight_k (v_k - v_null), all conditions and the null one in a
        single U-Net call. One condition of weight 1 is plain classifier-free guidance.
        Conditions whose weight is the Python number 0 are left out (no call, no rounding).

        ``init_image`` with ``strength`` < 1 is SDEdit (Meng et al. 2022): the image is noised to
        t = strength and denoised over ceil(num_steps * strength) steps; strength 0 returns the
        image, 1 ignores it (the sampler's t = 1 is pure noise). ``strength`` may be a tensor (a
        SavedModel's input): the same arithmetic, in the graph.

        ``mask`` (B, 72, 72, 1) in [0, 1] with ``init_image``: inpainting. Where the mask is 1 the
        image is drawn anew, where 0 ``init_image`` is kept: every step's clean-image estimate
        is the image there, so the samplers carry that region along its own noising path
        (alpha_t image + sigma_t noise, exactly, for DDIM and DPM-Solver++) and the network
        draws the rest to fit it. A soft mask blends the two; strength 1 (the default) starts
        from pure noise.

        ``guidance_interval=(low, high)`` guides only where the noise level sigma/alpha (EDM's
        sigma) is in (low, high] (Kynkaenniemi et al. 2024 found (0.28, 5.42) best for EDM2);
        elsewhere guidance is 1 and, when the weights are numbers summing to 1, the null
        caption is not evaluated: a step costs half the images.

        A distilled student (``guidance_input``) predicts each condition's guided output in
        one call and mixes them as sum_k weight_k v_k: the formula above when the weights sum
        to 1 (the null caption's terms cancel); its teacher's interval is built in.

        ``condition_annealing=(tau_low, tau_high, noise_scale)`` reads the conditions noised
        early in sampling and clean late (CADS, ``schedulers/condition_annealing.py``). Each
        emoji's noise direction is the first entries of its own starting noise, so it is a
        function of the seed and of nothing else in the batch.

        ``negative`` (features shaped as a condition's): a negative prompt. Its prediction takes
        the null caption's place, v_neg + guidance * sum_k weight_k (v_k - v_neg), so guidance
        pushes away from it at no extra cost; where guidance is 1 it has no effect. A distilled
        student has no second prediction to put it in. ``negative_keep`` 0 (a tensor may choose)
        reads those rows as the null caption after all: a SavedModel's one graph, whose empty
        negative prompt is none."""
        num_steps = self.num_steps if num_steps is None else num_steps
        guidance = tf.cast(self.guidance_scale if guidance_scale is None else guidance_scale, tf.float32)
        guidance_interval = self.guidance_interval if guidance_interval is None else guidance_interval
        annealing = ConditionAnnealing.parse(self.condition_annealing if condition_annealing is None
                                             else condition_annealing or None)
        conditions = [(f, w) for f, w in conditions if not (isinstance(w, int | float) and w == 0)]
        if not conditions:
            raise UsageError("sample_conditions needs at least one condition with a non-zero weight")
        if negative is not None and self.guidance_input:
            raise UsageError("a negative prompt needs classifier-free guidance, and this distilled model samples "
                             "without it; use the model it was distilled from (e.g. diffusion-emoji72)")
        noise = tf.cast(noise, tf.float32)
        annealing_draw = None if annealing is None else _draw_like(noise, tf.cast(conditions[0][0], tf.float32))
        start_time, graph_strength = 1.0, None
        if mask is not None and init_image is None:
            raise UsageError("a mask says where to redraw an image: give the image too (init_image)")
        if init_image is not None:
            graph_strength = tf.cast(strength, tf.float32) if tf.is_tensor(strength) else None
            if graph_strength is None:
                strength = float(strength)
                if not 0.0 <= strength <= 1.0:
                    raise UsageError(f"strength {strength}: use a number from 0 (keep the image) to 1 (ignore it)")
                if strength == 0.0:
                    return tf.cast(init_image, tf.float32)
            if graph_strength is not None or strength < 1.0:
                start_time = strength if graph_strength is None else graph_strength
                num_steps = tf.maximum(1, tf.cast(tf.math.ceil(tf.cast(num_steps, tf.float32) * start_time), tf.int32))
                noised = self.schedule.add_noise(premultiply(tf.cast(init_image, tf.float32)), noise,
                                                 tf.fill([tf.shape(noise)[0]], start_time))
                # at strength 1 the sampler starts from the noise alone, as the Python path does
                noise = noised if graph_strength is None else tf.where(graph_strength < 1.0, noised, noise)
        features = [tf.cast(f, tf.float32) for f, _ in conditions]
        weights = [w for _, w in conditions]
        batch = tf.shape(features[0])[0]
        count = len(features)
        # The last rows are the null caption (keep 0), or the negative prompt read as a caption.
        null_rows = features[0] if negative is None else tf.cast(negative, tf.float32)
        stacked = tf.concat([*features, null_rows], 0)
        null_keep = 0.0 if negative is None else tf.cast(negative_keep, tf.float32)
        keep = tf.concat([tf.ones([count * batch]), tf.fill([batch], null_keep)], 0)
        # Eagerly, the sampler's loop runs in Python; the U-Net call is still a graph.
        network = self._denoiser_graph() if tf.executing_eagerly() else self.ema_denoiser

        weights_sum_to_one = all(isinstance(w, int | float) for w in weights) and abs(sum(weights) - 1.0) < 1e-9

        def guided(x, logsnr, scale, stacked):
            v = network((tf.concat([x] * (count + 1), 0), tf.fill([(count + 1) * batch], logsnr), stacked, keep))
            v_uncond = v[count * batch:]
            direction = sum(_per_example(w, x) * (v[k * batch:(k + 1) * batch] - v_uncond)
                            for k, w in enumerate(weights))
            return v_uncond + scale * direction

        def conditional(x, logsnr, stacked):  # guidance 1 with weights summing to 1: no null caption
            if not weights_sum_to_one:
                return guided(x, logsnr, 1.0, stacked)
            v = network((tf.concat([x] * count, 0), tf.fill([count * batch], logsnr), stacked[:count * batch],
                         keep[:count * batch]))
            return sum(_per_example(w, x) * v[k * batch:(k + 1) * batch] for k, w in enumerate(weights))

        def student(x, logsnr, stacked):  # the guidance scale is an input: one call, no null caption
            rows = count * batch
            v = network((tf.concat([x] * count, 0), tf.fill([rows], logsnr), stacked[:rows], keep[:rows],
                         tf.fill([rows], guidance)))
            return sum(_per_example(w, x) * v[k * batch:(k + 1) * batch] for k, w in enumerate(weights))

        def denoise(x, t):
            logsnr = self.schedule.logsnr(t)
            rows = stacked if annealing is None else tf.concat(
                [*(annealing(f, t, annealing_draw) for f in features), null_rows], 0)
            if self.guidance_input:
                v = student(x, logsnr, rows)
            elif guidance_interval is None:
                v = guided(x, logsnr, guidance, rows)
            else:
                low, high = guidance_interval
                sigma = tf.exp(-0.5 * logsnr)  # EDM's noise level sigma/alpha
                inside = (sigma > low) & (sigma <= high)
                if tf.executing_eagerly():
                    v = guided(x, logsnr, guidance, rows) if bool(inside) else conditional(x, logsnr, rows)
                else:
                    v = tf.cond(inside, lambda: guided(x, logsnr, guidance, rows),
                                lambda: conditional(x, logsnr, rows))
            if callback is not None and tf.executing_eagerly():
                callback()
            t_batch = tf.fill([batch], t)
            x0, eps = self.schedule.from_v(x, v, t_batch)
            if mask is None:
                return x0, eps
            x0 = x0 + (1.0 - redraw) * (kept - x0)  # exactly the network's x0 where the mask is 1
            alpha, sigma = self.schedule.alpha_sigma(t)
            # the noise this x0 implies, for DDIM; the network's own where nothing was replaced
            return x0, tf.where(redraw < 1.0, (x - alpha * x0) / sigma, eps)

        if mask is not None:
            redraw, kept = tf.cast(mask, tf.float32), premultiply(tf.cast(init_image, tf.float32))
        chosen = make_sampler(sampler or self.sampler, self.schedule)
        x0 = chosen.sample(denoise, noise, num_steps, seed=seed, start_time=start_time)
        images = unpremultiply(tf.clip_by_value(x0, -1.0, 1.0))
        if graph_strength is None:
            return images
        return tf.where(graph_strength > 0.0, images, tf.cast(init_image, tf.float32))  # 0 keeps the image

    def _denoiser_graph(self):
        if "_denoiser_fn" not in self.__dict__:
            net = self.ema_denoiser
            graph = tf.function(lambda inputs: net(inputs, training=False), reduce_retracing=True)

            def call(inputs):
                # A guidance interval switches between B and 2B rows mid-sampling; traced once
                # for any batch, the second trace (2.4 s of a 15 s `generate`) never happens.
                if not graph.experimental_get_tracing_count():
                    graph.get_concrete_function(tf.nest.map_structure(
                        lambda t: tf.TensorSpec([None, *t.shape[1:]], t.dtype), inputs))
                return graph(inputs)

            call.tracing_count = graph.experimental_get_tracing_count
            self.__dict__["_denoiser_fn"] = call
        return self.__dict__["_denoiser_fn"]

    def generate(self, tokens, noise):
        """``sample`` with the default options, its sampling loop traced once (the sample grids
        call it). Called eagerly, the captions are encoded first, outside that graph: a frozen
        minilm has one graph per process already, and tracing its six layers into the sampler
        again cost seconds at every run's first grid."""
        if not tf.executing_eagerly():
            return self.sample(tokens, noise)
        if "_sample_graph" not in self.__dict__:
            self.__dict__["_sample_graph"] = tf.function(
                lambda features, noise: self.sample_conditions([(features, 1.0)], noise))
        return self.__dict__["_sample_graph"](self.encode(tokens), noise)

    # --- training ------------------------------------------------------------------------------
    def warm_start_layers(self, source) -> list:
        """A source U-Net that lacks this one's cross-attention, styles or augmentation labels is
        grown to it first (``grow_unet``: it starts sampling as the preset did)."""
        layers = source.sampling_layers()
        mine, theirs = self.ema_denoiser.get_config(), layers[0].get_config()
        changed = {k for k in mine if k not in ("name", "trainable", "dtype") and mine[k] != theirs.get(k)}
        if changed and changed <= set(GROWABLE):
            try:
                layers[0] = grow_unet(layers[0], **{k: mine[k] for k in changed})
            except ValueError as e:
                raise UsageError(f"--init-from: the preset's U-Net cannot start this one ({e}); keep its "
                                 "conditioning or add to it") from None
        return layers

    def ema_pairs(self):
        pairs = [(self.denoiser, self.ema_denoiser)]
        if not self.frozen_text:
            pairs.append((self.text_encoder, self.ema_text_encoder))
        return pairs

    def denoising_loss(self, data, training=True):
        """Per-example ``DenoisingLoss`` of a batch (the JAX trainer calls the same object)."""
        if self.cached_text:
            features = data["text_features"]
        elif self.packed:
            style = tf.fill([tf.shape(data["tokens"])[0]], ANY_STYLE)
            if self.styles:
                names = tf.constant(list(self.styles))
                found = tf.reduce_any(tf.equal(data["style"][:, None], names[None]), axis=1)
                ids = tf.where(found, tf.argmax(tf.cast(tf.equal(data["style"][:, None], names[None]), tf.int32),
                                                axis=1, output_type=tf.int32), ANY_STYLE)
                style = tf.where(data["style_keep"] >= self.style_dropout, ids, ANY_STYLE) if training else ids
            features = self.encode(data["tokens"], ema=False, style=style)
        else:
            features = self.encode(data["tokens"], ema=False)

        def denoise(x_t, logsnr, text, keep, augment_labels=None):
            # a student trained on the plain objective learns the unguided prediction (scale 1)
            guidance = (tf.ones_like(logsnr),) if self.guidance_input else ()
            return self.denoiser((x_t, logsnr, text, keep, *guidance), training=training,
                                 augment_labels=augment_labels)

        text_draw = data.get("text_noise") if training else ops.zeros_like(features)
        if self.packed and text_draw is not None:  # drawn for MAX_WORDS tokens; the tokenizer may use fewer
            text_draw = text_draw[:, : tf.shape(features)[1]]
        augment_draw = data.get("augment_geometry") if training else None
        loss_fn = self.loss_fn if training or self.augment_probability == 0 else \
            DenoisingLoss(self.schedule, self.condition_dropout, self.text_noise)  # measured un-augmented
        return loss_fn(denoise, premultiply(data["images"]), data["image_noise"], data["time"], data["keep"],
                       features, text_draw, augment_draw)

    def train_step(self, data):
        variables = self._trained_variables()
        with tf.GradientTape() as tape:
            per_example = self.denoising_loss(data)
            loss = tf.nn.compute_average_loss(per_example)
            scaled = self.optimizer.scale_loss(loss)
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables, strict=True))
        self.copy_to_ema(warmup_decay(self.optimizer.iterations, self.ema_decay))
        self.trackers["loss"].update_state(ops.mean(per_example))
        return {name: tracker.result() for name, tracker in self.trackers.items()}
