"""The multi-scale text-to-image GAN that StackGAN++ introduced and AttnGAN extended: one
generator tree drawing each emoji at 18, 36 and 72 px, one discriminator per scale, each with
an unconditional and a conditional head (StackGAN++'s joint loss). ``stackganpp`` (seed 001)
and ``attngan`` (seed 003) subclass :class:`MultiScaleGAN` with their text encoders, side
inputs and extra losses.
"""

from __future__ import annotations

import inspect

import keras
import tensorflow as tf
from keras import layers, ops

from emoji_t2i import CHANNELS
from emoji_t2i.errors import UsageError
from emoji_t2i.models import losses
from emoji_t2i.models.gan import TextConditionalGAN
from emoji_t2i.models.layers import ConditionalGroupNorm, SpectralConv2D, diff_augment
from emoji_t2i.models.registry import get_model_class
from emoji_t2i.models.stackgan import ConditioningAugmentation

SCALES = (18, 36, 72)


def _norm(channels, name):
    return layers.GroupNormalization(min(8, channels), epsilon=1e-5, name=name)


@keras.saving.register_keras_serializable("emoji_t2i")
class TreeGenerator(keras.Model):
    """StackGAN++'s generator tree: [z, CA(text)] -> Dense 9x9 -> up -> h at 18 px; then per
    further scale: the condition tiled and joined by a conv, residual blocks, up. Each scale
    has its own float32 tanh RGBA head, so the call returns three images (18, 36, 72 px).
    ``noise`` holds z and the CA's eps, so one seed fixes the whole sample.
    """

    def __init__(self, z_dim=64, condition_dim=64, channels=(192, 128, 64, 32), residual_blocks=1, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.z_dim, self.condition_dim = z_dim, condition_dim
        self.channels, self.residual_blocks = tuple(channels), residual_blocks
        # === Layers === (named attributes: checkpoints miss layers held in lists)
        self.augment = ConditioningAugmentation(condition_dim, name="conditioning_augmentation")
        self.project = layers.Dense(9 * 9 * channels[0], use_bias=False, name="project")
        self.norm0 = ConditionalGroupNorm(channels[0], name="norm0")
        self.upsample = layers.UpSampling2D(2, interpolation="nearest", name="upsample")
        self.conv1 = layers.Conv2D(channels[1], 3, padding="same", use_bias=False, name="conv1")
        self.norm1 = ConditionalGroupNorm(channels[1], name="norm1")
        for s in (2, 3):  # the stages that join the condition again (36 and 72 px)
            width = channels[s - 1]
            setattr(self, f"join{s}", layers.Conv2D(width, 3, padding="same", name=f"join{s}"))
            setattr(self, f"join_norm{s}", _norm(width, f"join_norm{s}"))
            for r in range(residual_blocks):
                for part in "ab":
                    setattr(self, f"res{s}_{r}{part}", layers.Conv2D(width, 3, padding="same", use_bias=False,
                                                                    name=f"res{s}_{r}{part}"))
                    setattr(self, f"res{s}_{r}{part}_norm", _norm(width, f"res{s}_{r}{part}_norm"))
            setattr(self, f"conv{s}", layers.Conv2D(channels[s], 3, padding="same", use_bias=False,
                                                    name=f"conv{s}"))
            setattr(self, f"norm{s}", _norm(channels[s], f"norm{s}"))
        for size in SCALES[:-1]:
            setattr(self, f"to_rgba{size}", layers.Conv2D(CHANNELS, 3, padding="same", activation="tanh",
                                                          dtype="float32", name=f"to_rgba{size}"))
        self.to_rgba = layers.Conv2D(CHANNELS, 3, padding="same", activation="tanh", dtype="float32",
                                     name="to_rgba")

    def heads(self):
        return [self.to_rgba18, self.to_rgba36, self.to_rgba]

    def side_input(self, stage, x, condition, extra):
        """What joins the image features at ``stage`` (2: 18 px, 3: 36 px): StackGAN++ tiles the
        condition over the map; AttnGAN (a subclass) gives each region its word context."""
        size = ops.shape(x)[1]
        return ops.tile(ops.cast(condition, x.dtype)[:, None, None, :], (1, size, size, 1))

    def call(self, inputs, training=False, return_kl=False):
        noise, text, *extra = inputs
        z, eps = noise[:, : self.z_dim], noise[:, self.z_dim : self.z_dim + self.condition_dim]
        condition, kl = self.augment(text, eps)
        cond = ops.cast(ops.concatenate([ops.cast(z, "float32"), condition], -1), self.compute_dtype)
        x = ops.relu(self.norm0(ops.reshape(self.project(cond), (-1, 9, 9, self.channels[0])), cond))
        x = ops.relu(self.norm1(self.conv1(self.upsample(x)), cond))
        images = [self.to_rgba18(x)]
        for s in (2, 3):
            joined = ops.concatenate([x, ops.cast(self.side_input(s, x, condition, extra), x.dtype)], -1)
            x = ops.relu(getattr(self, f"join_norm{s}")(getattr(self, f"join{s}")(joined)))
            for r in range(self.residual_blocks):
                h = ops.relu(getattr(self, f"res{s}_{r}a_norm")(getattr(self, f"res{s}_{r}a")(x)))
                x = x + getattr(self, f"res{s}_{r}b_norm")(getattr(self, f"res{s}_{r}b")(h))
            x = ops.relu(getattr(self, f"norm{s}")(getattr(self, f"conv{s}")(self.upsample(x))))
            images.append(self.heads()[s - 1](x))
        return (images, kl) if return_kl else images

    def get_config(self):
        return {**super().get_config(), "z_dim": self.z_dim, "condition_dim": self.condition_dim,
                "channels": list(self.channels), "residual_blocks": self.residual_blocks}


@keras.saving.register_keras_serializable("emoji_t2i")
class ScaleDiscriminator(keras.Model):
    """One scale's discriminator: spectral-normalised convs down to 9x9, then seed 001's three
    heads: ``real_head`` (unconditional), ``conditional`` (the text code tiled over the 9x9
    map, joined by a conv: StackGAN++'s conditional D) and ``align`` (the image features
    projected into the CLIP space, trained contrastively against the caption's embedding).
    """

    def __init__(self, size=72, channels=(16, 32, 64, 128), embed_dim=256, condition_channels=32, aligned=True,
                 **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.size, self.embed_dim, self.condition_channels = size, embed_dim, condition_channels
        self.aligned_head = aligned
        downs = {72: 3, 36: 2, 18: 1}[size]
        self.channels = tuple(channels)[-(downs + 1):]
        # === Layers ===
        self.stem = SpectralConv2D(self.channels[0], 3, padding="same", name="stem")
        for i, c in enumerate(self.channels[1:], 1):
            setattr(self, f"down{i}", SpectralConv2D(c, 4, strides=2, padding="same", name=f"down{i}"))
        width = self.channels[-1]
        self.final = SpectralConv2D(width, 3, padding="same", name="final")
        self.real_head = layers.Dense(1, dtype="float32", name="real_head")
        self.condition_code = layers.Dense(condition_channels, name="condition_code")
        self.joint = SpectralConv2D(width, 3, padding="same", name="joint")
        self.conditional_head = layers.Dense(1, dtype="float32", name="conditional_head")
        if aligned:
            self.align = layers.Dense(embed_dim, dtype="float32", name="align")

    def build(self, input_shape):
        images_shape, text_shape = input_shape
        self.call([ops.zeros((1, *images_shape[1:])), ops.zeros((1, text_shape[-1]))])

    def features(self, images, training=False):
        x = ops.leaky_relu(self.stem(images), 0.2)
        for i in range(1, len(self.channels)):
            x = ops.leaky_relu(getattr(self, f"down{i}")(x), 0.2)
        return ops.leaky_relu(self.final(x), 0.2)

    def scores(self, fmap, text):
        """(unconditional logit, conditional logit) for a 9x9 feature map and text code."""
        pooled = ops.sum(ops.cast(fmap, "float32"), axis=(1, 2))
        code = ops.cast(ops.leaky_relu(self.condition_code(ops.cast(text, self.compute_dtype)), 0.2), fmap.dtype)
        tiled = ops.tile(code[:, None, None, :], (1, 9, 9, 1))
        joint = ops.leaky_relu(self.joint(ops.concatenate([fmap, tiled], -1)), 0.2)
        return self.real_head(pooled), self.conditional_head(ops.sum(ops.cast(joint, "float32"), axis=(1, 2)))

    def aligned(self, fmap):
        """Unit vectors in the CLIP space from the image alone (no text: it is a retrieval)."""
        return ops.normalize(self.align(ops.mean(ops.cast(fmap, "float32"), axis=(1, 2))), axis=-1)

    def call(self, inputs, training=False):
        images, text = inputs
        fmap = self.features(images, training)
        return (*self.scores(fmap, text), *([self.aligned(fmap)] if self.aligned_head else []))

    def get_config(self):
        return {**super().get_config(), "size": self.size, "channels": list(self.channels),
                "embed_dim": self.embed_dim, "condition_channels": self.condition_channels,
                "aligned": self.aligned_head}


@keras.saving.register_keras_serializable("emoji_t2i")
class MultiScaleDiscriminator(keras.Model):
    """The three scale discriminators as one trained network (one optimizer)."""

    def __init__(self, channels=(16, 32, 64, 128), embed_dim=256, aligned=True, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.embed_dim, self.aligned = tuple(channels), embed_dim, aligned
        for size in SCALES:
            setattr(self, f"d{size}", ScaleDiscriminator(size, channels, embed_dim, aligned=aligned, name=f"d{size}"))

    def scales(self):
        return [self.d18, self.d36, self.d72]

    @property
    def real_head(self):  # the final scale's, where the harness checks its float32 head
        return self.d72.real_head

    def call(self, inputs, training=False):
        images, text = inputs
        return [d([x, text], training=training) for d, x in zip(self.scales(), images, strict=True)]

    def get_config(self):
        return {**super().get_config(), "channels": list(self.channels), "embed_dim": self.embed_dim,
                "aligned": self.aligned}


def color_consistency(small, large):
    """StackGAN++'s colour-consistency term per example: squared differences of the per-image
    channel means and covariances of two scales (``large`` average-pooled to ``small``'s)."""
    factor = ops.shape(large)[1] // ops.shape(small)[1]
    large = ops.average_pool(large, factor, factor)

    def stats(x):
        pixels = ops.reshape(ops.cast(x, "float32"), (ops.shape(x)[0], -1, CHANNELS))
        mean = ops.mean(pixels, axis=1, keepdims=True)
        centred = pixels - mean
        cov = ops.matmul(ops.transpose(centred, (0, 2, 1)), centred) / ops.cast(ops.shape(pixels)[1], "float32")
        return mean[:, 0], cov

    (m1, c1), (m2, c2) = stats(small), stats(large)
    return ops.sum(ops.square(m1 - m2), -1) + 5.0 * ops.sum(ops.square(c1 - c2), (1, 2))


class MultiScaleGAN(TextConditionalGAN):
    """Training shared by the multi-scale GANs (hinge, DiffAugment on real and fake, EMA G).

    Per scale s: D's unconditional term plus its conditional, matching-aware one (a real image
    with another caption is fake), plus ``d_scale_loss``; G's matching terms plus
    ``g_scale_loss``; then ``g_final_loss`` on the three images (a frozen encoder's loss),
    ``kl_weight`` x the CA KL and, optionally, ``color_weight`` x StackGAN++'s colour
    consistency between neighbouring scales. A subclass gives the text: ``condition(tokens)``
    -> (sentence code (B, E), extra generator inputs).
    """

    uses_labels = False
    aligned = False  # D's CLIP-aligned heads (stackganpp)
    UNUSED_HPARAMS = ("text_encoder", "text_dim", "aux_weight")  # the frozen encoder is the text encoder
    extra_metrics: tuple[str, ...] = ()

    def __init__(self, vocabulary_size, condition_dim=64, g_channels=(192, 128, 64, 32), residual_blocks=1,
                 d_channels=(16, 32, 64, 128), kl_weight=1.0, color_weight=0.0, **kwargs):
        # === Config ===
        self.condition_dim, self.g_channels, self.d_channels = condition_dim, tuple(g_channels), tuple(d_channels)
        self.residual_blocks, self.kl_weight, self.color_weight = residual_blocks, kl_weight, color_weight
        kwargs.setdefault("noise_dim", 64)
        self.z_dim = kwargs["noise_dim"]
        super().__init__(vocabulary_size, **kwargs)
        self.noise_dim = self.z_dim + condition_dim  # z and the CA's eps
        del self.trackers["aux_accuracy"]
        for name in self.extra_metrics:
            self.trackers[name] = keras.metrics.Mean(name=name)

    def make_generator(self, name):
        return TreeGenerator(self.z_dim, self.condition_dim, self.g_channels, self.residual_blocks, name=name)

    def make_discriminator(self, name):
        return MultiScaleDiscriminator(self.d_channels, self.embed_dim, self.aligned, name=name)

    def get_config(self):
        config = {**super().get_config(), "condition_dim": self.condition_dim, "g_channels": list(self.g_channels),
                  "residual_blocks": self.residual_blocks, "d_channels": list(self.d_channels),
                  "kl_weight": self.kl_weight, "color_weight": self.color_weight}
        config["noise_dim"] = self.z_dim
        for key in (*self.UNUSED_HPARAMS, "num_classes"):
            config.pop(key, None)
        return config

    def build(self, input_shape=None):
        sentence, extra = self.condition(ops.ones((2, 4), "int32"))
        noise = ops.zeros((2, self.noise_dim))
        images = self.generator([noise, sentence, *extra])
        self.ema_generator([noise, sentence, *extra])
        self.discriminator([images, sentence])
        self.copy_to_ema(decay=0.0)
        self.built = True

    # --- the frozen encoder this model starts from ------------------------------------------
    # (hyper-parameter naming its run or preset, its zoo model, the key its architecture is
    # pinned under, the architecture's keys); the subclass copies the weights in
    # initialize_from_runs.
    ENCODER: tuple = ()

    @classmethod
    def source_runs(cls, hparams):
        key = cls.ENCODER[0]
        return [hparams[key]] if hparams.get(key) else []

    @classmethod
    def pin_sources(cls, hparams, read_config):
        key, model, pinned, keys = cls.ENCODER
        if not hparams.get(key):
            raise UsageError(f"{cls.zoo_name} needs a trained {model}: --set {key}=RUN_DIR "
                             f"(train one with python -m emoji_t2i.train --model {model})")
        source = read_config(hparams[key])
        if source.get("model") != model:
            raise UsageError(f"{key} {hparams[key]}: a {source.get('model')!r} model, not a {model}")
        defaults = inspect.signature(get_model_class(model).__init__).parameters
        values = {k: source["hparams"].get(k, defaults[k].default) for k in keys}
        return {**hparams, pinned: {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}}

    # --- hooks ---------------------------------------------------------------------------------
    def condition(self, tokens):
        """(sentence code (B, E), [extra generator inputs]) from ids or cached features."""
        raise NotImplementedError

    def training_condition(self, data):
        sentence, extra = self.condition(data["text_features"] if self.cached_text else data["tokens"])
        return ops.stop_gradient(sentence), [ops.stop_gradient(x) if x.dtype.is_floating else x for x in extra]

    def d_scale_loss(self, d, real_features, sentence):
        return 0.0

    def g_extra_loss(self, fakes, fake_features, sentence, extra):
        """(per-example loss, {metric: per-example value}) on G's images and D's features of
        them at every scale."""
        return 0.0, {}

    # --- sampling ------------------------------------------------------------------------------
    def generate(self, tokens, noise):
        sentence, extra = self.condition(tokens)
        return ops.cast(self.ema_generator([noise, sentence, *extra], training=False)[-1], "float32")

    # --- training ------------------------------------------------------------------------------
    def _d_step(self, reals, fakes, sentence, wrong, aug):
        with tf.GradientTape() as tape:
            per_example = 0.0
            for d, real, fake in zip(self.discriminator.scales(), reals, fakes, strict=True):
                if self.augment:
                    real, fake = diff_augment(real, aug[:, 0]), diff_augment(fake, aug[:, 1])
                f_real, f_fake = d.features(real, training=True), d.features(fake, training=True)
                (u_real, c_real), (u_fake, c_fake) = d.scores(f_real, sentence), d.scores(f_fake, sentence)
                c_wrong = d.scores(f_real, wrong)[1]
                per_example += losses.d_loss(self.loss_kind, u_real, u_fake, u_fake, 0.0)
                per_example += losses.d_loss(self.loss_kind, c_real, c_fake, c_wrong, self.matching_weight)
                per_example += self.d_scale_loss(d, f_real, sentence)
            loss = tf.nn.compute_average_loss(per_example)
            scaled = self.d_optimizer.scale_loss(loss)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables, strict=True))
        self.trackers["d_loss"].update_state(ops.mean(per_example))
        self.trackers["real_score"].update_state(ops.mean(c_real))
        self.trackers["fake_score"].update_state(ops.mean(c_fake))
        self.trackers["wrong_score"].update_state(ops.mean(c_wrong))

    def train_step(self, data):
        images, noise, aug = data["images"], data["noise"], data["augment"]
        sentence, extra = self.training_condition(data)
        wrong = tf.roll(sentence, shift=1, axis=0)
        reals = [ops.average_pool(images, 72 // s, 72 // s) if s < 72 else images for s in SCALES]
        with tf.GradientTape() as tape:
            fakes, kl = self.generator([noise, sentence, *extra], training=True, return_kl=True)
            with tape.stop_recording():
                self._d_step(reals, [tf.stop_gradient(f) for f in fakes], sentence, wrong, aug)
            per_example, fake_features = self.kl_weight * kl, []
            for d, fake in zip(self.discriminator.scales(), fakes, strict=True):
                f_fake = d.features(diff_augment(fake, aug[:, 1]) if self.augment else fake, training=True)
                uncond, cond = d.scores(f_fake, sentence)
                per_example += losses.g_loss(self.loss_kind, uncond) + losses.g_loss(self.loss_kind, cond)
                fake_features.append(f_fake)
            extra_loss, logged = self.g_extra_loss(fakes, fake_features, sentence, extra)
            per_example += extra_loss
            if self.color_weight:
                per_example += self.color_weight * (color_consistency(fakes[0], fakes[1])
                                                    + color_consistency(fakes[1], fakes[2]))
            loss = tf.nn.compute_average_loss(per_example)
            scaled = self.g_optimizer.scale_loss(loss)
        self.apply_generator_step(tape, scaled, per_example)
        for name, value in logged.items():
            self.trackers[name].update_state(ops.mean(value))
        return {name: t.result() for name, t in self.trackers.items()}
