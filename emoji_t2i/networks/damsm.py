"""DAMSM's two encoders (AttnGAN's Deep Attentional Multimodal Similarity Model), sized for
72x72 RGBA emoji: words and sentence from the caption, regions and a global code from the
image, all in one ``embed_dim`` space."""

from __future__ import annotations

import keras
from keras import layers, ops

from emoji_t2i.data.images import premultiply
from emoji_t2i.errors import UsageError
from emoji_t2i.networks.unet import space_to_depth
from emoji_t2i.networks.vq import ResBlock

TEXT_ENCODERS = ("bilstm", "minilm")
MINILM_HIDDEN = 384


@keras.saving.register_keras_serializable("emoji_t2i")
class DamsmTextEncoder(layers.Layer):
    """Token ids -> (words (B, T, D), sentence (B, D), mask (B, T)).

    ``bilstm``: AttnGAN's, a bidirectional LSTM over learned embeddings (word features are
    the two directions' states side by side, the sentence their last states). ``minilm``:
    the frozen MiniLM's token features and pooled embedding through trainable projections
    (reads WordPiece ids).
    """

    def __init__(self, vocabulary_size, kind="bilstm", embed_dim=128, word_dim=128, **kwargs):
        super().__init__(**kwargs)
        if kind not in TEXT_ENCODERS:
            raise UsageError(f"damsm text_encoder must be one of {', '.join(TEXT_ENCODERS)}, not {kind!r}")
        # === Config ===
        self.vocabulary_size, self.kind, self.embed_dim, self.word_dim = vocabulary_size, kind, embed_dim, word_dim
        # === Layers ===
        if kind == "bilstm":
            self.embedding = layers.Embedding(vocabulary_size, word_dim, name="embedding")
            self.lstm = layers.Bidirectional(layers.LSTM(embed_dim // 2, return_sequences=True, return_state=True),
                                             name="bilstm")
        else:  # MiniLM is read, not held: presets and checkpoints skip its 22 M frozen weights
            self.word_projection = layers.Dense(embed_dim, name="word_projection")
            self.sentence_projection = layers.Dense(embed_dim, name="sentence_projection")

    def build(self, tokens_shape):
        if self.kind == "bilstm":
            self.embedding.build(tokens_shape)
            self.lstm.build((*tokens_shape, self.word_dim))
        else:
            self.word_projection.build((None, None, MINILM_HIDDEN))
            self.sentence_projection.build((None, MINILM_HIDDEN))

    def call(self, tokens, training=False):
        mask = ops.not_equal(tokens, 0)
        if self.kind == "minilm":
            from emoji_t2i.text.minilm import shared_minilm

            out = shared_minilm()(tokens)
            return self.word_projection(out["sequence"]), self.sentence_projection(out["pooled"]), mask
        x = self.embedding(tokens)
        words, h_forward, _, h_backward, _ = self.lstm(x, mask=mask, training=training)
        words = words * ops.cast(mask, words.dtype)[..., None]
        return words, ops.concatenate([h_forward, h_backward], axis=-1), mask

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "kind": self.kind,
                "embed_dim": self.embed_dim, "word_dim": self.word_dim}


@keras.saving.register_keras_serializable("emoji_t2i")
class DamsmImageEncoder(keras.Model):
    """Premultiplied RGBA -> space-to-depth (36x36x16) -> residual blocks at 36 and 18 px ->
    local features: the 18x18 map projected to ``embed_dim`` (324 regions, where AttnGAN read
    Inception's 17x17) -> one more level at 9 px -> global average -> the global code."""

    def __init__(self, embed_dim=128, widths=(32, 64, 128), **kwargs):
        super().__init__(**kwargs)
        self.embed_dim, self.widths = embed_dim, tuple(widths)
        self.stem = layers.Conv2D(self.widths[0], 3, padding="same", name="stem")
        self.res0 = ResBlock(self.widths[0], name="res0")
        self.down1 = layers.Conv2D(self.widths[1], 3, strides=2, padding="same", name="down1")
        self.res1 = ResBlock(self.widths[1], name="res1")
        self.local = layers.Dense(embed_dim, dtype="float32", name="local")
        self.down2 = layers.Conv2D(self.widths[2], 3, strides=2, padding="same", name="down2")
        self.res2 = ResBlock(self.widths[2], name="res2")
        self.head = layers.Dense(embed_dim, dtype="float32", name="head")

    def call(self, images, training=False):
        """(regions (B, 324, D), global (B, D)), float32."""
        x = self.res0(self.stem(space_to_depth(premultiply(images))))
        x = self.res1(self.down1(x))
        regions = self.local(ops.reshape(ops.cast(x, "float32"), (ops.shape(x)[0], -1, self.widths[1])))
        x = self.res2(self.down2(x))
        return regions, self.head(ops.mean(ops.cast(x, "float32"), axis=(1, 2)))

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "widths": list(self.widths)}
