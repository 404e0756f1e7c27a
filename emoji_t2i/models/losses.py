"""Per-example GAN losses. Callers average them with ``tf.nn.compute_average_loss`` so
the mean is over the global batch under ``tf.distribute``.

A discriminator loss takes the scores of (real, matching caption), (fake, matching caption)
and (real, mismatched caption) - GAN-INT-CLS's matching-aware term, which makes D judge
whether the image fits the text and not only whether it looks real.
"""

from __future__ import annotations

from keras import ops

LOSSES = ("hinge", "bce")


def d_loss(kind, real, fake, wrong, matching_weight=0.5):
    real, fake, wrong = (ops.cast(ops.reshape(s, (-1,)), "float32") for s in (real, fake, wrong))
    if kind == "hinge":
        neg = lambda s: ops.relu(1.0 + s)  # noqa: E731
        pos = ops.relu(1.0 - real)
    elif kind == "bce":
        neg = lambda s: ops.softplus(s)  # noqa: E731  (-log(1 - sigmoid(s)))
        pos = ops.softplus(-real)
    else:
        raise ValueError(f"unknown loss {kind!r}; use one of {', '.join(LOSSES)}")
    return pos + (1.0 - matching_weight) * neg(fake) + matching_weight * neg(wrong)


def g_loss(kind, fake):
    fake = ops.cast(ops.reshape(fake, (-1,)), "float32")
    if kind == "hinge":
        return -fake
    if kind == "bce":
        return ops.softplus(-fake)  # the non-saturating loss
    raise ValueError(f"unknown loss {kind!r}; use one of {', '.join(LOSSES)}")


def masked_cross_entropy(labels, logits):
    """Sparse CE per example, 0 where the label is -1 (a row without that label)."""
    labels = ops.cast(labels, "int32")
    valid = ops.cast(labels >= 0, "float32")
    ce = ops.sparse_categorical_crossentropy(ops.maximum(labels, 0), ops.cast(logits, "float32"),
                                             from_logits=True)
    return ce * valid
