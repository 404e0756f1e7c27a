"""``stackgan``: StackGAN (Zhang et al. 2017) as the diary's days 5-6 and seed 002 built it.

Two stages, trained one after the other through the same CLI:

    python -m emoji_t2i.train --model stackgan --set stage=1 --out runs/stack1
    python -m emoji_t2i.train --model stackgan --set stage=2 --set stage1_run=runs/stack1 --out runs/stack2

Stage I draws a 36x36 sketch from noise and the augmented text condition; Stage II reads
that sketch with its own condition and paints the 72x72 emoji. A Stage II run loads Stage I
frozen from ``stage1_run`` (and its tokenizer), and its checkpoints, generation and export
hold both stages. Seed 002's WGAN variant is ``--set loss=wgan_gp``.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from emoji_t2i.errors import UsageError
from emoji_t2i.models.cgan import ConditionalGAN, Discriminator
from emoji_t2i.models.layers import ConditionalGroupNorm
from emoji_t2i.models.registry import register
from emoji_t2i.text import make_text_encoder


@keras.saving.register_keras_serializable("emoji_t2i")
class ConditioningAugmentation(layers.Layer):
    """text code -> Dense -> (mu, log_var); condition = mu + exp(log_var / 2) * eps.

    Sampling the condition around the text code smooths the conditioning manifold when
    there are few images per caption (~4 here). The first ``condition_dim`` outputs are
    mu, the last ``condition_dim`` the LOG-VARIANCE, and the KL term uses them as such:
    KL(N(mu, sigma²) ‖ N(0, I)) = ½ Σ (mu² + sigma² - 1 - log sigma²).
    """

    def __init__(self, condition_dim=64, **kwargs):
        super().__init__(**kwargs)
        self.condition_dim = condition_dim
        self.dense = layers.Dense(2 * condition_dim, dtype="float32", name="dense")

    def call(self, code, eps):
        stats = self.dense(ops.cast(code, "float32"))
        mu, log_var = stats[:, : self.condition_dim], ops.clip(stats[:, self.condition_dim :], -10.0, 10.0)
        condition = mu + ops.exp(0.5 * log_var) * ops.cast(eps, "float32")
        kl = 0.5 * ops.sum(ops.square(mu) + ops.exp(log_var) - 1.0 - log_var, axis=-1)
        return condition, kl

    def get_config(self):
        return {**super().get_config(), "condition_dim": self.condition_dim}


def _up_blocks(owner, channels, prefix, conditional):
    """Named (not listed) upsampling blocks; see cgan.Generator for why."""
    for i, c in enumerate(channels, 1):
        setattr(owner, f"{prefix}conv{i}", layers.Conv2D(c, 3, padding="same", use_bias=False,
                                                         name=f"{prefix}conv{i}"))
        norm = ConditionalGroupNorm(c, name=f"{prefix}norm{i}") if conditional else \
            layers.GroupNormalization(min(8, c), epsilon=1e-5, name=f"{prefix}norm{i}")
        setattr(owner, f"{prefix}norm{i}", norm)


@keras.saving.register_keras_serializable("emoji_t2i")
class StageOneGenerator(keras.Model):
    """noise ⊕ CA(text) -> Dense 9x9 -> 2 x (nearest up, conv, cGN, ReLU) -> 36x36x4 tanh.

    ``noise`` carries z (``z_dim``) and the CA's eps (``condition_dim``), so one seed fixes
    the whole sample. Called with ``return_kl=True`` it also returns the CA KL per example.
    """

    def __init__(self, vocabulary_size, z_dim=64, condition_dim=64, text_encoder="embedding_gru",
                 text_dim=128, channels=(192, 96, 48), **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size, self.z_dim, self.condition_dim = vocabulary_size, z_dim, condition_dim
        self.text_encoder_kind, self.text_dim, self.channels = text_encoder, text_dim, tuple(channels)
        # === Layers ===
        self.text = make_text_encoder(text_encoder, vocabulary_size, text_dim)
        self.augment = ConditioningAugmentation(condition_dim, name="conditioning_augmentation")
        self.project = layers.Dense(9 * 9 * channels[0], use_bias=False, name="project")
        self.norm0 = ConditionalGroupNorm(channels[0], name="norm0")
        self.upsample = layers.UpSampling2D(2, interpolation="nearest", name="upsample")
        _up_blocks(self, channels[1:], "", conditional=True)
        self.to_rgba = layers.Conv2D(4, 3, padding="same", activation="tanh", dtype="float32", name="to_rgba")

    def call(self, inputs, training=False, return_kl=False):
        noise, tokens = inputs
        z, eps = noise[:, : self.z_dim], noise[:, self.z_dim : self.z_dim + self.condition_dim]
        condition, kl = self.augment(self.text(tokens), eps)
        cond = ops.cast(ops.concatenate([ops.cast(z, "float32"), condition], -1), self.compute_dtype)
        x = ops.relu(self.norm0(ops.reshape(self.project(cond), (-1, 9, 9, self.channels[0])), cond))
        for i in range(1, len(self.channels)):
            x = getattr(self, f"conv{i}")(self.upsample(x))
            x = ops.relu(getattr(self, f"norm{i}")(x, cond))
        images = self.to_rgba(x)
        return (images, kl) if return_kl else images

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "z_dim": self.z_dim,
                "condition_dim": self.condition_dim, "text_encoder": self.text_encoder_kind,
                "text_dim": self.text_dim, "channels": list(self.channels)}


@keras.saving.register_keras_serializable("emoji_t2i")
class StageTwoGenerator(keras.Model):
    """Stage I image (36x36) + its own CA condition -> 72x72x4.

    Encoder: convs 36 -> 18 -> 9; the condition is tiled over the 9x9 map and joined by a
    conv (StackGAN's "condition replicated spatially" at low resolution only); residual
    blocks; then 3 x (up, conv, GroupNorm, ReLU) to 72x72 and a float32 tanh head.
    """

    def __init__(self, vocabulary_size, condition_dim=64, text_encoder="embedding_gru", text_dim=128,
                 channels=(128, 64, 32, 16), residual_blocks=2, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size, self.condition_dim = vocabulary_size, condition_dim
        self.text_encoder_kind, self.text_dim, self.channels = text_encoder, text_dim, tuple(channels)
        self.residual_blocks = residual_blocks
        # === Layers ===
        width = channels[0]
        self.text = make_text_encoder(text_encoder, vocabulary_size, text_dim)
        self.augment = ConditioningAugmentation(condition_dim, name="conditioning_augmentation")
        self.down1 = layers.Conv2D(width // 2, 4, strides=2, padding="same", name="down1")
        self.down2 = layers.Conv2D(width, 4, strides=2, padding="same", name="down2")
        self.join = layers.Conv2D(width, 3, padding="same", name="join")
        for i in range(residual_blocks):
            setattr(self, f"res{i}a", layers.Conv2D(width, 3, padding="same", name=f"res{i}a"))
            setattr(self, f"res{i}b", layers.Conv2D(width, 3, padding="same", name=f"res{i}b"))
        self.upsample = layers.UpSampling2D(2, interpolation="nearest", name="upsample")
        _up_blocks(self, channels[1:], "up_", conditional=False)
        self.to_rgba = layers.Conv2D(4, 3, padding="same", activation="tanh", dtype="float32", name="to_rgba")

    def call(self, inputs, training=False, return_kl=False):
        sketch, eps, tokens = inputs
        condition, kl = self.augment(self.text(tokens), eps)
        x = ops.leaky_relu(self.down1(ops.cast(sketch, self.compute_dtype)), 0.2)
        x = ops.leaky_relu(self.down2(x), 0.2)
        tiled = ops.tile(ops.cast(condition, x.dtype)[:, None, None, :], (1, 9, 9, 1))
        x = ops.relu(self.join(ops.concatenate([x, tiled], -1)))
        for i in range(self.residual_blocks):
            x = x + getattr(self, f"res{i}b")(ops.relu(getattr(self, f"res{i}a")(x)))
        for i in range(1, len(self.channels)):
            x = getattr(self, f"up_conv{i}")(self.upsample(x))
            x = ops.relu(getattr(self, f"up_norm{i}")(x))
        images = self.to_rgba(x)
        return (images, kl) if return_kl else images

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "condition_dim": self.condition_dim, "text_encoder": self.text_encoder_kind,
                "text_dim": self.text_dim, "channels": list(self.channels),
                "residual_blocks": self.residual_blocks}


@keras.saving.register_keras_serializable("emoji_t2i")
class StackedGenerator(keras.Model):
    """Stage I (frozen) then Stage II: noise = [z, eps for Stage I's CA, eps for Stage II's CA]."""

    def __init__(self, stage1, stage2, **kwargs):
        super().__init__(**kwargs)
        self.stage1, self.stage2 = stage1, stage2
        self.stage1.trainable = False

    def call(self, inputs, training=False, return_kl=False):
        noise, tokens = inputs
        first = self.stage1.z_dim + self.stage1.condition_dim
        sketch = self.stage1([noise[:, :first], tokens], training=False)
        return self.stage2([sketch, noise[:, first:], tokens], training=training, return_kl=return_kl)


@register("stackgan")
@keras.saving.register_keras_serializable("emoji_t2i")
class StackGAN(ConditionalGAN):
    """StackGAN: Conditioning Augmentation, Stage I at 36x36, Stage II at 72x72.

    Shares ``cgan``'s discriminator (projection + auxiliary heads; at 36x36 it has one
    downsampling fewer) and training (hinge + matching-aware, DiffAugment, EMA); adds the CA
    KL term, weighted by ``kl_weight``, to the generator loss.

    Args (beyond ``cgan``'s):
        stage: 1 trains Stage I (samples are its 36x36 images upscaled to 72x72); 2 trains
            Stage II on a frozen Stage I loaded from ``stage1_run``.
        stage1_run: run directory of a trained Stage I (required for stage 2).
        condition_dim: size of the CA condition.
        kl_weight: weight of the CA KL term (StackGAN: 1-2).
        g2_channels: Stage II channels at 9, 18, 36 and 72 px.
        residual_blocks: Stage II residual blocks at 9x9.
        ``g_channels`` (3 entries: 9, 18, 36 px) and ``d_channels`` are Stage I's G and the
        discriminator of the stage being trained.
    """

    def __init__(self, vocabulary_size, stage=1, stage1_run="", condition_dim=64, kl_weight=1.0,
                 g_channels=(192, 96, 48), g2_channels=(128, 64, 32, 16), residual_blocks=2,
                 d_channels=(16, 32, 64, 128), **kwargs):
        if stage not in (1, 2):
            raise UsageError(f"stackgan: stage must be 1 or 2, not {stage!r}")
        if stage == 2 and not stage1_run:
            raise UsageError("stackgan stage 2 needs a trained Stage I: --set stage1_run=RUN_DIR")
        # === Config ===
        self.stage, self.stage1_run = int(stage), str(stage1_run)
        self.condition_dim, self.kl_weight = condition_dim, kl_weight
        self.g2_channels, self.residual_blocks = tuple(g2_channels), residual_blocks
        kwargs.setdefault("noise_dim", 64)
        self.z_dim = kwargs["noise_dim"]
        d_channels = tuple(d_channels)[: 3 if stage == 1 else 4]
        super().__init__(vocabulary_size, g_channels=g_channels, d_channels=d_channels, **kwargs)
        # The sampler's noise holds z and the eps of each CA stage.
        self.noise_dim = self.z_dim + self.stage * condition_dim

    def make_generator(self, name):
        stage1 = StageOneGenerator(self.vocabulary_size, self.z_dim, self.condition_dim,
                                   self.text_encoder, self.text_dim, self.g_channels,
                                   name=f"{name}_stage1" if self.stage == 2 else name)
        if self.stage == 1:
            return stage1
        stage2 = StageTwoGenerator(self.vocabulary_size, self.condition_dim, self.text_encoder,
                                   self.text_dim, self.g2_channels, self.residual_blocks,
                                   name=f"{name}_stage2")
        return StackedGenerator(stage1, stage2, name=name)

    def make_discriminator(self, name):
        return Discriminator(self.vocabulary_size, self.text_encoder, self.text_dim,
                             self.d_channels, self.num_classes, name=name)

    def get_config(self):
        config = {**super().get_config(), "stage": self.stage, "stage1_run": self.stage1_run,
                  "condition_dim": self.condition_dim, "kl_weight": self.kl_weight,
                  "g2_channels": list(self.g2_channels), "residual_blocks": self.residual_blocks}
        config["noise_dim"] = self.z_dim
        return config

    # --- hooks of TextConditionalGAN -------------------------------------------------------
    def generator_forward(self, noise, tokens, training):
        images, kl = self.generator([noise, tokens], training=training, return_kl=True)
        return images, self.kl_weight * kl

    def real_images(self, images):
        if self.stage == 1:  # Stage I learns the 36x36 version
            return ops.average_pool(images, 2, 2)
        return images

    def generate(self, tokens, noise):
        images = super().generate(tokens, noise)
        if self.stage == 1:
            images = ops.repeat(ops.repeat(images, 2, axis=1), 2, axis=2)
        return images

    @classmethod
    def source_runs(cls, hparams: dict) -> list[str]:
        """Runs a new run of this config starts from (their tokenizer must be reused)."""
        stage1 = []
        if int(hparams.get("stage", 1)) == 2:
            if not hparams.get("stage1_run"):
                raise UsageError("stackgan stage 2 needs a trained Stage I: --set stage1_run=RUN_DIR")
            stage1 = [hparams["stage1_run"]]
        return [*super().source_runs(hparams), *stage1]

    def initialize_from_runs(self, load_run):
        """A pretrained text encoder, and for Stage II the Stage I run's EMA generator copied
        into both G copies (frozen)."""
        super().initialize_from_runs(load_run)
        if self.stage != 2:
            return
        first = load_run(self.stage1_run, "stackgan")[0]
        if first.stage != 1:
            raise UsageError(f"stage1_run {self.stage1_run} is a stage-{first.stage} run; "
                             "give the run of --set stage=1")
        weights = first.ema_generator.get_weights()
        for net in (self.generator, self.ema_generator):
            net.stage1.set_weights(weights)
