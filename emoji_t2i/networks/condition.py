"""The diffusion U-Net's condition as one tensor: sentence, style and words in rows.

A U-Net with cross-attention reads more than a sentence embedding: the caption's token
features (for "octopus wearing a top hat", a place for each word to act) and a style. They
travel as one (B, 2 + L, D) tensor so that everything between the text encoder and the
network (classifier-free guidance's batched null caption, composable conditions, text noise
in training, the samplers, the SavedModel) handles them as it handles a (B, D) embedding:

    row 0       the pooled sentence embedding (FiLM reads it)
    row 1       the style as a one-hot vector over its first ``styles`` entries; zeros = any
    rows 2..    the token features, zero rows at padding (cross-attention's mask)

A zero row stays a zero row under the loss's text noise (scaled by each row's RMS), so the
mask survives training. Written in ``keras.ops``: both backends pack and unpack alike.
"""

from __future__ import annotations

from keras import ops

ANY_STYLE = -1


def pack_condition(pooled, sequence, mask, style):
    """(B, D) sentence, (B, L, D) tokens, (B, L) mask of real tokens, (B,) style ids
    (``ANY_STYLE`` = -1 for any) -> the (B, 2 + L, D) condition."""
    pooled = ops.cast(pooled, "float32")
    dim = ops.shape(pooled)[-1]
    style_row = ops.one_hot(ops.maximum(ops.cast(style, "int32"), 0), dim) \
        * ops.cast(ops.cast(style, "int32") >= 0, "float32")[:, None]
    tokens = ops.cast(sequence, "float32") * ops.cast(mask, "float32")[..., None]
    return ops.concatenate([pooled[:, None], style_row[:, None], tokens], axis=1)


def unpack_condition(condition, styles: int):
    """The condition -> (sentence (B, D), style one-hot (B, styles), tokens (B, L, D), mask (B, L))."""
    condition = ops.cast(condition, "float32")
    tokens = condition[:, 2:]
    mask = ops.any(ops.not_equal(tokens, 0.0), axis=-1)
    return condition[:, 0], condition[:, 1, :max(styles, 1)], tokens, mask


def row_relative_noise(condition, draw):
    """``draw`` (standard normals like ``condition``) scaled by the root mean square of each
    row of the condition: noise of a row's own size, zero on a zero row (padding, "any" style).
    The training loss's text noise and sampling's condition annealing both add it."""
    condition = ops.cast(condition, "float32")
    rms = ops.sqrt(ops.mean(ops.square(condition), axis=-1, keepdims=True))
    return rms * ops.cast(draw, "float32")
