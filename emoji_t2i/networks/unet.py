"""The text-conditioned U-Net denoiser of the ``diffusion`` model.

72x72x4 -> space-to-depth 2 (36x36x16) -> residual levels at 36, 18 and 9 px with
self-attention at 9 px -> back up with skip connections -> depth-to-space -> 72x72x4.
Time (the log-SNR) and text enter every residual block through FiLM (a per-channel scale
and shift after the block's second GroupNorm). The stem spends no convolution at 72 px:
measured here that is where a plain U-Net spends most of its time for the least gain.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.networks.condition import unpack_condition


def space_to_depth(x, block=2):
    b, h, w, c = ops.shape(x)
    x = ops.reshape(x, (b, h // block, block, w // block, block, c))
    return ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (b, h // block, w // block, block * block * c))


def depth_to_space(x, block=2):
    b, h, w, c = ops.shape(x)
    x = ops.reshape(x, (b, h, w, block, block, c // (block * block)))
    return ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (b, h * block, w * block, c // (block * block)))


def _groups(channels):
    return math.gcd(8, channels)


@keras.saving.register_keras_serializable("emoji_t2i")
class FiLMResBlock(layers.Layer):
    """GroupNorm-SiLU-conv, GroupNorm with FiLM(embedding)-SiLU-(dropout)-conv, plus a skip.
    The last conv starts at zero, so a new block is the identity and deep stacks train from
    step 1. Dropout sits where DDPM and ADM put it, before the last conv, in training only."""

    def __init__(self, channels, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.dropout_rate = channels, float(dropout)
        # no layer at 0: a U-Net without dropout has no seed state (the JAX trainer passes none)
        self.dropout = layers.Dropout(self.dropout_rate, name="dropout") if self.dropout_rate > 0 else None
        self.norm1 = layers.GroupNormalization(_groups(channels), epsilon=1e-5, name="norm1")
        self.conv1 = layers.Conv2D(channels, 3, padding="same", name="conv1")
        self.film = layers.Dense(2 * channels, name="film")
        self.norm2 = layers.GroupNormalization(_groups(channels), epsilon=1e-5, name="norm2")
        self.conv2 = layers.Conv2D(channels, 3, padding="same", kernel_initializer="zeros", name="conv2")
        self.skip = None

    def build(self, x_shape, emb_shape):
        self.norm1.build(x_shape)
        if x_shape[-1] != self.channels:
            self.skip = layers.Conv2D(self.channels, 1, name="skip")
            self.skip.build(x_shape)
        self.conv1.build(x_shape)
        self.film.build(emb_shape)
        inner = (*x_shape[:-1], self.channels)
        self.norm2.build(inner)
        self.conv2.build(inner)

    def call(self, x, emb, training=False):
        h = self.conv1(ops.silu(self.norm1(x)))
        scale, shift = ops.split(self.film(emb)[:, None, None, :], 2, axis=-1)
        h = self.norm2(h) * (1.0 + scale) + shift
        h = ops.silu(h)
        if self.dropout is not None:
            h = self.dropout(h, training=training)
        h = self.conv2(h)
        return (self.skip(x) if self.skip is not None else x) + h

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "dropout": self.dropout_rate}


@keras.saving.register_keras_serializable("emoji_t2i")
class SelfAttention(layers.Layer):
    """Multi-head self-attention over the pixels of a (small) feature map, residual."""

    def __init__(self, channels, heads=4, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.heads = channels, heads
        self.norm = layers.GroupNormalization(_groups(channels), epsilon=1e-5, name="norm")
        self.attention = layers.MultiHeadAttention(heads, channels // heads, name="attention",
                                                   output_shape=channels)

    def build(self, x_shape):
        self.norm.build(x_shape)
        flat = (x_shape[0], None, x_shape[-1])
        self.attention.build(flat, flat)

    def call(self, x):
        b, h, w, c = ops.shape(x)
        tokens = ops.reshape(self.norm(x), (b, h * w, c))
        return x + ops.reshape(self.attention(tokens, tokens), (b, h, w, c))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "heads": self.heads}


@keras.saving.register_keras_serializable("emoji_t2i")
class CrossAttention(layers.Layer):
    """The pixels of a feature map attend over the caption's words, residual.

    ``context`` (B, T, C) always begins with a learned null word that every mask keeps, so a
    dropped caption (or a masked-out one) attends to it alone instead of to nothing. The
    output projection starts at zero: a new layer is the identity. Scores in float32."""

    def __init__(self, channels, heads=4, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.heads = channels, heads
        self.norm = layers.GroupNormalization(_groups(channels), epsilon=1e-5, name="norm")
        self.query = layers.Dense(channels, use_bias=False, name="query")
        self.key = layers.Dense(channels, use_bias=False, name="key")
        self.value = layers.Dense(channels, name="value")
        self.out = layers.Dense(channels, kernel_initializer="zeros", name="out")

    def build(self, x_shape, context_shape):
        self.norm.build(x_shape)
        self.query.build(x_shape)
        self.key.build(context_shape)
        self.value.build(context_shape)
        self.out.build((*x_shape[:-1], self.channels))

    def _heads(self, x):
        b, n = ops.shape(x)[0], ops.shape(x)[1]
        return ops.transpose(ops.reshape(x, (b, n, self.heads, self.channels // self.heads)), (0, 2, 1, 3))

    def call(self, x, context, mask):
        b, h, w, c = ops.shape(x)
        q = self._heads(ops.reshape(self.query(self.norm(x)), (b, h * w, c)))
        k, v = self._heads(self.key(context)), self._heads(self.value(context))
        scores = ops.matmul(ops.cast(q, "float32"), ops.transpose(ops.cast(k, "float32"), (0, 1, 3, 2)))
        scores = ops.where(mask[:, None, None, :], scores / math.sqrt(c // self.heads), -1e9)
        attended = ops.matmul(ops.softmax(scores, axis=-1), ops.cast(v, "float32"))
        attended = ops.reshape(ops.transpose(attended, (0, 2, 1, 3)), (b, h, w, c))
        return x + self.out(ops.cast(attended, self.compute_dtype))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "heads": self.heads}


def timestep_embedding(logsnr, dim, scale=15.0):
    """Sinusoidal features of the log-SNR (or of any scalar; divided by ``scale`` into
    [~-1, 1] first)."""
    half = dim // 2
    freqs = ops.exp(-math.log(1000.0) * ops.arange(half, dtype="float32") / half)
    angles = ops.cast(logsnr, "float32")[:, None] / scale * 1000.0 * freqs[None, :]
    return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)


GUIDANCE_SCALE_RANGE = 10.0  # the guidance input's sinusoid covers scales up to about this


@keras.saving.register_keras_serializable("emoji_t2i")
class TextConditionedUNet(keras.Model):
    """(x_t (B, 72, 72, 4), logSNR (B,), text, keep (B,) in {0, 1}) -> v (B, 72, 72, 4).

    ``text`` is a (B, text_dim) sentence embedding, or with ``cross_attention`` the packed
    (B, 2 + L, text_dim) condition of ``networks/condition.py`` (sentence, style, words):
    the sentence and the style enter FiLM, and the pixels of every block at 18 and 9 px
    (and the middle) attend over the words. ``keep = 0`` replaces the text by a learned null
    embedding (and with cross-attention drops style and words, leaving the null word):
    classifier-free guidance trains on dropped captions and samples with the null one.
    Output layer in float32.

    With ``guidance_input`` the inputs take a fifth element, the classifier-free guidance
    scale (B,), embedded like the time and added to FiLM's input: a distilled student
    (Meng et al., CVPR 2023) that predicts the guided output in one call. Its last layer
    starts at zero, so a new student begins as its teacher's conditional prediction.

    With ``augment_dim`` the call takes ``augment_labels`` (B, augment_dim): what geometric
    augmentation was applied to the training image (EDM's non-leaky augmentation), through a
    bias-free projection into FiLM's input; absent or zero (sampling), it adds nothing.

    Args:
        text_dim: size of the text feature (384 for minilm).
        widths: channels at 36, 18 and 9 px.
        blocks: residual blocks per level on the way down (one more on the way up).
        embedding_dim: size of the time + text embedding FiLM reads.
        heads: attention heads at 9 px (and in cross-attention).
        cross_attention: read the packed condition and attend over its words.
        styles: number of styles the condition's style row may name (0: none).
        context_dim: width the words are projected to before cross-attention.
        guidance_input: read the guidance scale as a fifth input (a distilled student).
        augment_dim: size of the augmentation labels the call may take (0: none).
        dropout: dropout rate in every residual block in training (0: none). It adds no
            weights, so a U-Net trained with it loads into one without and back.
        image_size, channels: what it denoises: 72 x 72 x 4 pixels, or the latents of an
            autoencoder (18 x 18 x C for f = 4; ``benchmarks/latent_cost.py`` measures that).
        patch: space-to-depth factor before the first level (2: 72 px images are read at
            36 px; 1: latents at their own size).
    """

    def __init__(self, text_dim=384, widths=(32, 64, 128), blocks=2, embedding_dim=256, heads=4,
                 cross_attention=False, styles=0, context_dim=128, guidance_input=False, augment_dim=0,
                 dropout=0.0, image_size=IMAGE_SIZE, channels=CHANNELS, patch=2, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.text_dim, self.widths, self.blocks = text_dim, tuple(widths), blocks
        self.embedding_dim, self.heads = embedding_dim, heads
        self.cross_attention, self.styles, self.context_dim = bool(cross_attention), int(styles), context_dim
        self.guidance_input, self.augment_dim = bool(guidance_input), int(augment_dim)
        self.image_size, self.channels, self.patch = int(image_size), int(channels), int(patch)
        self.dropout = float(dropout)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout {dropout}: give a rate from 0 up to (not including) 1")
        if self.patch not in (1, 2) or self.image_size % (self.patch * 2 ** (len(self.widths) - 1)):
            raise ValueError(f"image_size {image_size} with patch {patch} and {len(self.widths)} levels: each level "
                             "halves the size; use patch 1 or 2 and a size divisible by patch x 2^(levels - 1)")
        # === Layers === (named attributes, not lists: tf.train.Checkpoint misses list items)
        # Text features arrive at any scale (minilm's are unit vectors: entries ~0.05, next
        # to unit-amplitude time features). Measured: un-normalised, the text reached FiLM
        # ~11x weaker than time and a 6-epoch run barely used the caption (x0 error with the
        # caption 2.6 % below the null caption's at t = 0.97). LayerNorm puts both on one scale.
        self.text_norm = layers.LayerNormalization(name="text_norm")
        self.null_text = self.add_weight(shape=(text_dim,), initializer="zeros", name="null_text")
        self.time_dense1 = layers.Dense(embedding_dim, name="time_dense1")
        self.time_dense2 = layers.Dense(embedding_dim, name="time_dense2")
        self.text_dense1 = layers.Dense(embedding_dim, name="text_dense1")
        self.text_dense2 = layers.Dense(embedding_dim, name="text_dense2")
        self.stem = layers.Conv2D(widths[0], 3, padding="same", name="stem")
        for level, width in enumerate(self.widths):
            for i in range(blocks):
                setattr(self, f"down{level}_{i}", FiLMResBlock(width, self.dropout, name=f"down{level}_{i}"))
            if level < len(self.widths) - 1:
                setattr(self, f"downsample{level}", layers.Conv2D(width, 3, strides=2, padding="same",
                                                                  name=f"downsample{level}"))
        self.mid1 = FiLMResBlock(self.widths[-1], self.dropout, name="mid1")
        self.mid_attention = SelfAttention(self.widths[-1], heads, name="mid_attention")
        self.mid2 = FiLMResBlock(self.widths[-1], self.dropout, name="mid2")
        for level, width in enumerate(self.widths):
            for i in range(blocks + 1):
                setattr(self, f"up{level}_{i}", FiLMResBlock(width, self.dropout, name=f"up{level}_{i}"))
            if level > 0:
                setattr(self, f"upsample{level}", layers.Conv2D(self.widths[level - 1], 3, padding="same",
                                                                name=f"upsample{level}"))
        self.down_attention = SelfAttention(self.widths[-1], heads, name="down_attention")
        self.up_attention = SelfAttention(self.widths[-1], heads, name="up_attention")
        if self.cross_attention:
            self.words_norm = layers.LayerNormalization(name="words_norm")
            self.words_dense = layers.Dense(context_dim, name="words_dense")
            self.null_word = self.add_weight(shape=(context_dim,), initializer="zeros", name="null_word")
            for level, width in list(enumerate(self.widths))[1:]:
                for i in range(blocks):
                    setattr(self, f"down{level}_{i}_words", CrossAttention(width, heads, name=f"down{level}_{i}_words"))
                for i in range(blocks + 1):
                    setattr(self, f"up{level}_{i}_words", CrossAttention(width, heads, name=f"up{level}_{i}_words"))
            self.mid_words = CrossAttention(self.widths[-1], heads, name="mid_words")
        if self.styles:
            self.style_dense = layers.Dense(embedding_dim, name="style_dense")
        if self.guidance_input:
            self.guidance_dense1 = layers.Dense(embedding_dim, name="guidance_dense1")
            self.guidance_dense2 = layers.Dense(embedding_dim, kernel_initializer="zeros", name="guidance_dense2")
        if self.augment_dim:
            self.augment_dense = layers.Dense(embedding_dim, use_bias=False, name="augment_dense")
        self.out_norm = layers.GroupNormalization(_groups(widths[0]), epsilon=1e-5, name="out_norm")
        self.out_conv = layers.Conv2D(self.channels * self.patch ** 2, 3, padding="same", kernel_initializer="zeros",
                                      dtype="float32", name="out_conv")
        self.upsample = layers.UpSampling2D(2, interpolation="nearest", name="upsample")

    def build(self, input_shape):
        b = 2
        text = ops.zeros((b, 2 + 4, self.text_dim) if self.cross_attention else (b, self.text_dim))
        guidance = (ops.ones((b,)),) if self.guidance_input else ()
        labels = ops.zeros((b, self.augment_dim)) if self.augment_dim else None
        self.call((ops.zeros((b, self.image_size, self.image_size, self.channels)), ops.zeros((b,)), text,
                   ops.ones((b,)), *guidance),
                  augment_labels=labels)
        self.built = True

    def embed(self, logsnr, text, keep, style=None, guidance=None, augment_labels=None):
        keep = ops.cast(keep, "float32")[:, None]
        text = self.text_norm(ops.cast(text, "float32"))
        text = keep * ops.cast(text, "float32") + (1.0 - keep) * ops.cast(self.null_text, "float32")[None]
        t = self.time_dense2(ops.silu(self.time_dense1(timestep_embedding(logsnr, self.embedding_dim))))
        c = self.text_dense2(ops.silu(self.text_dense1(ops.cast(text, self.compute_dtype))))
        if self.styles:  # a one-hot row through a Dense is a style embedding; zeros (any) its bias
            c = c + self.style_dense(ops.cast(keep * style, self.compute_dtype))
        if self.guidance_input:
            g = timestep_embedding(guidance, self.embedding_dim, scale=GUIDANCE_SCALE_RANGE)
            c = c + self.guidance_dense2(ops.silu(self.guidance_dense1(ops.cast(g, self.compute_dtype))))
        if self.augment_dim and augment_labels is not None:
            c = c + self.augment_dense(ops.cast(augment_labels, self.compute_dtype))
        return ops.silu(t + c)

    def words(self, tokens, mask, keep):
        """(context (B, 1 + L, context_dim) led by the null word, its mask); a dropped caption
        keeps the null word only."""
        context = self.words_dense(self.words_norm(ops.cast(tokens, self.compute_dtype)))
        null = ops.broadcast_to(ops.cast(self.null_word, context.dtype)[None, None],
                                (ops.shape(context)[0], 1, self.context_dim))
        kept = ops.logical_and(mask, ops.cast(keep, "bool")[:, None])
        return ops.concatenate([null, context], axis=1), \
            ops.concatenate([ops.ones_like(kept[:, :1]), kept], axis=1)

    def _attend(self, name, h, context):
        layer = getattr(self, f"{name}_words", None)
        return h if layer is None or context is None else layer(h, *context)

    def call(self, inputs, training=False, augment_labels=None):
        x, logsnr, text, keep = inputs[:4]
        guidance = inputs[4] if len(inputs) > 4 else None
        if self.guidance_input and guidance is None:
            raise ValueError("this U-Net reads the guidance scale: call it with (x, logsnr, text, keep, guidance)")
        context, style = None, None
        if self.cross_attention:
            text, style, tokens, mask = unpack_condition(text, self.styles)
            context = self.words(tokens, mask, keep)
        emb = self.embed(logsnr, text, keep, style, guidance, augment_labels)
        h = ops.cast(x, self.compute_dtype)
        h = self.stem(space_to_depth(h, self.patch) if self.patch > 1 else h)
        skips = [h]  # DDPM's layout: the stem, every down block and every downsample
        last = len(self.widths) - 1
        for level in range(len(self.widths)):
            for i in range(self.blocks):
                h = getattr(self, f"down{level}_{i}")(h, emb, training=training)
                h = self._attend(f"down{level}_{i}", h, context)
                if level == last and i == self.blocks - 1:
                    h = self.down_attention(h)
                skips.append(h)
            if level < last:
                h = getattr(self, f"downsample{level}")(h)
                skips.append(h)
        h = self.mid_attention(self.mid1(h, emb, training=training))
        h = self.mid2(self._attend("mid", h, context), emb, training=training)
        for level in reversed(range(len(self.widths))):
            for i in range(self.blocks + 1):
                skip = skips.pop()
                h = getattr(self, f"up{level}_{i}")(ops.concatenate([h, skip], axis=-1), emb, training=training)
                h = self._attend(f"up{level}_{i}", h, context)
                if level == last and i == self.blocks:
                    h = self.up_attention(h)
            if level > 0:
                h = getattr(self, f"upsample{level}")(self.upsample(h))
        h = self.out_conv(ops.silu(self.out_norm(h)))
        h = ops.cast(h, "float32")
        return depth_to_space(h, self.patch) if self.patch > 1 else h

    def get_config(self):
        return {**super().get_config(), "text_dim": self.text_dim, "widths": list(self.widths),
                "blocks": self.blocks, "embedding_dim": self.embedding_dim, "heads": self.heads,
                "cross_attention": self.cross_attention, "styles": self.styles, "context_dim": self.context_dim,
                "guidance_input": self.guidance_input, "augment_dim": self.augment_dim,
                "dropout": self.dropout, "image_size": self.image_size, "channels": self.channels, "patch": self.patch}


GROWABLE = ("cross_attention", "styles", "augment_dim")  # conditioning a trained U-Net can gain


def grow_unet(source: TextConditionedUNet, name: str | None = None, **changes) -> TextConditionedUNet:
    """``source`` with more conditioning (``cross_attention=True``, ``styles=N``,
    ``augment_dim=N``), computing exactly what ``source`` computes until it trains.

    Every weight of ``source`` is copied by its path. The new layers add to what was there:
    cross-attention is residual with its output projection at zero, and the style and
    augmentation embeddings are zeroed here, so that every style reads as "any" and the
    network reads a packed condition's sentence as ``source`` read its sentence alone.
    Raises ValueError for any other change (widths, depth, text size) or one that removes
    conditioning."""
    from emoji_t2i.networks.weights import weight_names

    old = source.get_config()
    other = sorted(k for k in changes if k not in GROWABLE)
    if other:
        raise ValueError(f"grow_unet changes only {', '.join(GROWABLE)}, not {', '.join(other)}")
    lost = [k for k, v in changes.items() if v < old[k]]
    if lost:
        raise ValueError(f"grow_unet adds conditioning; {', '.join(lost)} would shrink "
                         f"({', '.join(f'{k}={old[k]}' for k in lost)} in the source)")
    config = {**old, **changes, "name": name or source.name}
    grown = TextConditionedUNet.from_config(config)
    grown.build(None)
    theirs = dict(zip(weight_names(source), source.weights, strict=True))
    for path, w in zip(weight_names(grown), grown.weights, strict=True):
        if path in theirs:
            w.assign(theirs.pop(path))
        elif path.startswith(("style_dense/", "augment_dense/")):
            w.assign(ops.zeros(w.shape, w.dtype))
    if theirs:  # the grown U-Net is a superset by construction; a renamed layer would break it
        raise ValueError(f"grow_unet: {len(theirs)} of the source's weights have no place "
                         f"(first {next(iter(theirs))})")
    return grown
