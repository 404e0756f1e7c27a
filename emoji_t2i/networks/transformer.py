"""The bidirectional transformer of ``vq_transformer``: text prefix + image tokens -> logits
over the image codebook at every image position (MaskGIT, Chang et al. 2022).

Pre-LayerNorm blocks (attention, then a GELU MLP), learned position embeddings, [MASK] as
the extra id K. The text arrives as prefix vectors (minilm's token features, or one pooled
code) with a padding mask; image positions attend to every valid prefix position and to
each other.
"""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable("emoji_t2i")
class TransformerBlock(layers.Layer):
    def __init__(self, width, heads, mlp_ratio=4, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.width, self.heads, self.mlp_ratio, self.dropout_rate = width, heads, mlp_ratio, dropout
        self.norm1 = layers.LayerNormalization(epsilon=1e-5, name="norm1")
        self.attention = layers.MultiHeadAttention(heads, width // heads, dropout=dropout, name="attention")
        self.norm2 = layers.LayerNormalization(epsilon=1e-5, name="norm2")
        self.mlp_in = layers.Dense(width * mlp_ratio, name="mlp_in")
        self.mlp_out = layers.Dense(width, name="mlp_out")
        self.drop = layers.Dropout(dropout)

    def build(self, x_shape, mask_shape=None):
        self.norm1.build(x_shape)
        self.attention.build(x_shape, x_shape)
        self.norm2.build(x_shape)
        self.mlp_in.build(x_shape)
        self.mlp_out.build((*x_shape[:-1], self.width * self.mlp_ratio))

    def call(self, x, mask, training=False):
        h = self.norm1(x)
        x = x + self.drop(self.attention(h, h, attention_mask=mask, training=training), training=training)
        h = self.mlp_out(ops.gelu(self.mlp_in(self.norm2(x)), approximate=False))
        return x + self.drop(h, training=training)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "heads": self.heads,
                "mlp_ratio": self.mlp_ratio, "dropout": self.dropout_rate}


@keras.saving.register_keras_serializable("emoji_t2i")
class MaskedTokenTransformer(keras.Model):
    """``call((image_ids (B, L) in [0, K], prefix (B, P, width), prefix_mask (B, P)))`` ->
    (B, L, K) float32 logits.

    Args:
        num_codes: K, the image codebook size ([MASK] is id K).
        length: image tokens per emoji (g x g).
        width, depth, heads, mlp_ratio, dropout: the transformer's size.
    """

    def __init__(self, num_codes, length, width=192, depth=4, heads=4, mlp_ratio=4, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.num_codes, self.length, self.width, self.depth = num_codes, length, width, depth
        self.heads, self.mlp_ratio, self.dropout_rate = heads, mlp_ratio, dropout
        self.token_embedding = layers.Embedding(num_codes + 1, width, name="token_embedding")
        self.position = self.add_weight(shape=(length, width), name="position",
                                        initializer=keras.initializers.RandomNormal(stddev=0.02))
        for i in range(depth):  # named attributes: tf.train.Checkpoint misses list items
            setattr(self, f"block{i}", TransformerBlock(width, heads, mlp_ratio, dropout, name=f"block{i}"))
        self.out_norm = layers.LayerNormalization(epsilon=1e-5, name="out_norm")
        self.to_logits = layers.Dense(num_codes, dtype="float32", name="to_logits")

    def call(self, inputs, training=False):
        ids, prefix, prefix_mask = inputs
        x = self.token_embedding(ids) + ops.cast(self.position, self.compute_dtype)[None]
        x = ops.concatenate([ops.cast(prefix, self.compute_dtype), x], axis=1)
        b, prefix_len = ops.shape(prefix_mask)[0], ops.shape(prefix_mask)[1]
        keys = ops.concatenate([ops.cast(prefix_mask, "bool"), ops.ones((b, self.length), "bool")], axis=1)
        mask = ops.broadcast_to(keys[:, None, :], (b, prefix_len + self.length, prefix_len + self.length))
        for i in range(self.depth):
            x = getattr(self, f"block{i}")(x, mask, training=training)
        return self.to_logits(self.out_norm(x[:, prefix_len:]))

    def get_config(self):
        return {**super().get_config(), "num_codes": self.num_codes, "length": self.length,
                "width": self.width, "depth": self.depth, "heads": self.heads,
                "mlp_ratio": self.mlp_ratio, "dropout": self.dropout_rate}


@keras.saving.register_keras_serializable("emoji_t2i")
class TextPrefix(layers.Layer):
    """Text features -> prefix vectors of ``width``: (B, P, D) token features or (B, D) one
    pooled code (P = 1). ``keep = 0`` swaps an example's prefix for one learned null vector
    (classifier-free guidance), its mask for a single valid position."""

    def __init__(self, width, **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.norm = layers.LayerNormalization(epsilon=1e-5, name="norm")  # minilm's scale is tiny
        self.project = layers.Dense(width, name="project")

    def build(self, features_shape, mask_shape=None, keep_shape=None):
        self.norm.build(features_shape)
        self.project.build(features_shape)
        self.null = self.add_weight(shape=(self.width,), initializer="zeros", name="null")

    def call(self, features, mask, keep):
        if len(features.shape) == 2:
            features, mask = features[:, None, :], ops.ones_like(features[:, :1])
        prefix = self.project(self.norm(features))
        keep = ops.cast(keep, prefix.dtype)[:, None, None]
        prefix = keep * prefix + (1.0 - keep) * ops.cast(self.null, prefix.dtype)[None, None, :]
        first = ops.cast(ops.arange(ops.shape(mask)[1]) == 0, "float32")[None, :]
        kept = ops.cast(keep[:, :, 0], "float32")
        mask = kept * ops.cast(mask, "float32") + (1.0 - kept) * first
        return prefix, mask

    def get_config(self):
        return {**super().get_config(), "width": self.width}
