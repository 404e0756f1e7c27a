"""``cgan``: the conditional GAN with a word embedding + GRU text code (the diary's day 5).

The textbook version of this model fully mode-collapsed on this dataset in 25 CPU-minutes
(shared/LESSONS.md). This one keeps the day-5 idea - text -> Embedding -> GRU -> code,
concatenated with noise - and adds what made the second attempt stop collapsing.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from emoji_t2i.models.gan import TextConditionalGAN
from emoji_t2i.models.layers import ConditionalGroupNorm, SpectralConv2D
from emoji_t2i.models.registry import register
from emoji_t2i.text import make_text_encoder


@keras.saving.register_keras_serializable("emoji_t2i")
class Generator(keras.Model):
    """noise ⊕ text code -> Dense -> 9x9 -> 3 x (nearest up, 3x3 conv, cGN, ReLU) -> 72x72x4 tanh.

    With ``conditional_norm`` (the default) a conditional GroupNorm feeds noise ⊕ text code to
    every block, not only the input; without it the condition enters only at the input Dense
    and the blocks use plain GroupNorm (the diary's day-1 generator).
    The output layer computes in float32 under mixed precision.
    """

    def __init__(self, vocabulary_size, noise_dim=64, text_encoder="embedding_gru", text_dim=128,
                 channels=(256, 128, 64, 32), conditional_norm=True, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.noise_dim = noise_dim
        self.text_encoder_kind = text_encoder
        self.text_dim = text_dim
        self.channels = tuple(channels)
        self.conditional_norm = conditional_norm
        # === Layers ===
        self.text = make_text_encoder(text_encoder, vocabulary_size, text_dim)
        self.project = layers.Dense(9 * 9 * channels[0], use_bias=False, name="project")
        norm = ConditionalGroupNorm if conditional_norm else (
            lambda c, name: layers.GroupNormalization(min(8, c), epsilon=1e-5, name=name))
        self.norm0 = norm(channels[0], name="norm0")
        # Resize-based nearest upsampling: its gradient is a cheap resize, unlike ops.repeat's
        # gather, whose scatter-add gradient made the G step 3x slower on CPU.
        self.upsample = layers.UpSampling2D(2, interpolation="nearest", name="upsample")
        # Blocks are named attributes, not a list: tf.train.Checkpoint does not see layers
        # held in a Keras-tracked list, and a checkpoint would silently miss their weights.
        for i, c in enumerate(channels[1:], 1):
            setattr(self, f"conv{i}", layers.Conv2D(c, 3, padding="same", use_bias=False, name=f"conv{i}"))
            setattr(self, f"norm{i}", norm(c, name=f"norm{i}"))
        self.to_rgba = layers.Conv2D(4, 3, padding="same", activation="tanh", dtype="float32",
                                     name="to_rgba")

    def call(self, inputs, training=False):
        noise, tokens = inputs
        cond = ops.concatenate([ops.cast(noise, self.compute_dtype), self.text(tokens)], axis=-1)
        x = ops.reshape(self.project(cond), (-1, 9, 9, self.channels[0]))
        x = ops.relu(self._norm(self.norm0, x, cond))
        for i in range(1, len(self.channels)):
            conv, norm = getattr(self, f"conv{i}"), getattr(self, f"norm{i}")
            x = ops.relu(self._norm(norm, conv(self.upsample(x)), cond))
        return self.to_rgba(x)

    def _norm(self, norm, x, cond):
        return norm(x, cond) if self.conditional_norm else norm(x)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "noise_dim": self.noise_dim, "text_encoder": self.text_encoder_kind,
                "text_dim": self.text_dim, "channels": list(self.channels),
                "conditional_norm": self.conditional_norm}


@keras.saving.register_keras_serializable("emoji_t2i")
class Discriminator(keras.Model):
    """Spectral-normalised convs 72 -> 9, global SUM pooling, then three heads on the features:

    - ``score``: unconditional logit + projection (Miyato & Koyama 2018) of its own text code
      onto the features. The text meets the image at 1x1, not tiled over 72x72 pixels.
    - ``classify``: auxiliary class logits per label field (AC-GAN), which sort generated
      images by category and identity.
    Sum (not average) pooling keeps D's output scale growing with evidence; the heads are not
    spectrally normalised - both choices address the weak D measured in shared/LESSONS.md.
    """

    def __init__(self, vocabulary_size, text_encoder="embedding_gru", text_dim=128,
                 channels=(32, 64, 128, 256), num_classes=(), **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.text_encoder_kind = text_encoder
        self.text_dim = text_dim
        self.channels = tuple(channels)
        self.num_classes = tuple(num_classes)
        # === Layers ===
        self.text = make_text_encoder(text_encoder, vocabulary_size, text_dim, normalize=False)
        self.stem = SpectralConv2D(channels[0], 3, padding="same", name="stem")
        for i, c in enumerate(channels[1:], 1):  # named attributes: see Generator
            setattr(self, f"down{i}", SpectralConv2D(c, 4, strides=2, padding="same", name=f"down{i}"))
        self.final = SpectralConv2D(channels[-1], 3, padding="same", name="final")
        self.real_head = layers.Dense(1, dtype="float32", name="real_head")
        self.text_projection = layers.Dense(channels[-1], dtype="float32", name="text_projection")
        for i, k in enumerate(self.num_classes):
            setattr(self, f"class_head{i}", layers.Dense(k, dtype="float32", name=f"class_head{i}"))

    def build(self, input_shape):
        images_shape, tokens_shape = input_shape
        h = self.features(ops.zeros((1, *images_shape[1:])))
        self.score(h, ops.ones((1, tokens_shape[1]), "int64"))
        self.classify(h)

    def features(self, images, training=False):
        x = ops.leaky_relu(self.stem(images), 0.2)
        for i in range(1, len(self.channels)):
            x = ops.leaky_relu(getattr(self, f"down{i}")(x), 0.2)
        x = ops.leaky_relu(self.final(x), 0.2)
        return ops.sum(ops.cast(x, "float32"), axis=(1, 2))

    def score(self, features, tokens, training=False):
        code = self.text_projection(ops.cast(self.text(tokens), "float32"))
        return self.real_head(features) + ops.sum(code * features, axis=-1, keepdims=True)

    def classify(self, features):
        return [getattr(self, f"class_head{i}")(features) for i in range(len(self.num_classes))]

    def call(self, inputs, training=False):
        images, tokens = inputs
        return self.score(self.features(images, training), tokens, training)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "text_encoder": self.text_encoder_kind, "text_dim": self.text_dim,
                "channels": list(self.channels), "num_classes": list(self.num_classes)}


@register("cgan")
@keras.saving.register_keras_serializable("emoji_t2i")
class ConditionalGAN(TextConditionalGAN):
    """Text-conditional GAN: day 5's Embedding + GRU text code, built to train stably here.

    What it uses, and why (each addresses a failure measured on this dataset):

    - hinge loss (``loss="bce"`` gives the non-saturating loss) and spectral norm in D;
    - a matching-aware term (GAN-INT-CLS): a real image with another image's caption counts
      as fake, so D learns whether image and text agree;
    - a projection discriminator with SUM pooling, so D stays strong enough to give G signal;
    - DiffAugment on real and fake: each emoji has only ~4 images (2 vendors, skin tones);
    - auxiliary classifier heads (``num_classes``, one per label field: subcategory and
      identity by default), which pull G's samples towards the captioned emoji;
    - conditional GroupNorm in every G block (not BatchNorm: see ConditionalGroupNorm);
    - an EMA of G's weights for sampling.

    With ``text_encoder="padded"`` it is the diary's day-3 CGAN (token ids as numbers).

    Args:
        vocabulary_size: the tokenizer's vocabulary size.
        noise_dim: size of the noise vector.
        text_encoder: one of ``emoji_t2i.text.ENCODERS``.
        text_dim: size of the text code in G and D (each has its own encoder).
        g_channels: channels at 9, 18, 36 and 72 px in G. The default is sized for a CPU:
            (256, 128, 64, 32) / (32, 64, 128, 256) ran at 18 img/s here, this at 43 img/s.
        d_channels: channels at 72, 36, 18 and 9 px in D.
        num_classes: classes of each auxiliary label field (empty: no auxiliary heads).
        loss: "hinge", "bce" (non-saturating) or "wgan_gp" (Wasserstein critic + gradient
            penalty in float32, as seed 002 found WGAN helped StackGAN).
        matching_weight: share of the fake term given to mismatched captions.
        aux_weight: weight of the auxiliary classification losses.
        augment: DiffAugment on/off.
        ema_decay: decay of the generator EMA used for sampling.
        d_steps: discriminator updates per generator update (default 5 for wgan_gp, else 1),
            all on the step's batch.
        gp_weight: weight of the WGAN-GP gradient penalty.
    """

    conditional_norm = True  # the text reaches every G block

    def __init__(self, vocabulary_size, g_channels=(192, 96, 48, 16),
                 d_channels=(16, 32, 64, 128), **kwargs):
        # === Config ===
        self.g_channels = tuple(g_channels)
        self.d_channels = tuple(d_channels)
        super().__init__(vocabulary_size, **kwargs)

    def make_generator(self, name):
        return Generator(self.vocabulary_size, self.noise_dim, self.text_encoder, self.text_dim,
                         self.g_channels, self.conditional_norm, name=name)

    def make_discriminator(self, name):
        return Discriminator(self.vocabulary_size, self.text_encoder, self.text_dim,
                             self.d_channels, self.num_classes, name=name)

    def get_config(self):
        return {**super().get_config(), "g_channels": list(self.g_channels),
                "d_channels": list(self.d_channels)}
