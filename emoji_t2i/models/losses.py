"""Per-example GAN losses. Callers average them with ``tf.nn.compute_average_loss`` so
the mean is over the global batch under ``tf.distribute``.

A discriminator loss takes the scores of (real, matching caption), (fake, matching caption)
and (real, mismatched caption) - GAN-INT-CLS's matching-aware term, which makes D judge
whether the image fits the text and not only whether it looks real.
"""

from __future__ import annotations

from keras import ops

from emoji_t2i.errors import UsageError

LOSSES = ("hinge", "bce", "wgan_gp")

# WGAN-GP's critic score is unbounded; this small drift penalty (Karras et al. 2018) keeps
# real scores near 0 so they cannot wander off while the gradient penalty holds the slope.
WGAN_DRIFT = 1e-3


def d_loss(kind, real, fake, wrong, matching_weight=0.5):
    real, fake, wrong = (ops.cast(ops.reshape(s, (-1,)), "float32") for s in (real, fake, wrong))
    if kind == "hinge":
        neg = lambda s: ops.relu(1.0 + s)  # noqa: E731
        pos = ops.relu(1.0 - real)
    elif kind == "bce":
        neg = lambda s: ops.softplus(s)  # noqa: E731  (-log(1 - sigmoid(s)))
        pos = ops.softplus(-real)
    elif kind == "wgan_gp":  # the gradient penalty is added by the caller (it needs D)
        neg = lambda s: s  # noqa: E731
        pos = -real + WGAN_DRIFT * ops.square(real)
    else:
        raise UsageError(f"unknown loss {kind!r}; use one of {', '.join(LOSSES)}")
    return pos + (1.0 - matching_weight) * neg(fake) + matching_weight * neg(wrong)


def g_loss(kind, fake):
    fake = ops.cast(ops.reshape(fake, (-1,)), "float32")
    if kind in ("hinge", "wgan_gp"):
        return -fake
    if kind == "bce":
        return ops.softplus(-fake)  # the non-saturating loss
    raise UsageError(f"unknown loss {kind!r}; use one of {', '.join(LOSSES)}")


def masked_cross_entropy(labels, logits):
    """Sparse CE per example, 0 where the label is -1 (a row without that label)."""
    labels = ops.cast(labels, "int32")
    valid = ops.cast(labels >= 0, "float32")
    ce = ops.sparse_categorical_crossentropy(ops.maximum(labels, 0), ops.cast(logits, "float32"),
                                             from_logits=True)
    return ce * valid


def gradient_penalty(critic, real, fake, alpha):
    """WGAN-GP (Gulrajani et al. 2017): (‖∇ critic(x̂)‖₂ - 1)² per example, at random points
    x̂ = alpha·real + (1 - alpha)·fake, alpha ~ U(0, 1) per example. Computed in float32:
    the interpolation, the gradient and its norm (under mixed precision only D's own layers
    run in the low precision)."""
    import tensorflow as tf

    mixed = alpha * ops.cast(real, "float32") + (1.0 - alpha) * ops.cast(fake, "float32")
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = ops.cast(critic(ops.cast(mixed, real.dtype)), "float32")
        total = ops.sum(scores)
    grads = ops.cast(tape.gradient(total, mixed), "float32")
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=(1, 2, 3)) + 1e-12)
    return ops.square(norms - 1.0)


def symmetric_info_nce(similarities, group, logit_scale):
    """CLIP's symmetric InfoNCE per example from a (B, B) caption x image cosine matrix, and
    the logits it used. Off-diagonal pairs of the same ``group`` (an int id per example; -1
    for none) are true matches, not negatives, so they are masked out of both softmaxes. The
    temperature exp(logit_scale) is capped at 100 (>= 0.01) as in CLIP."""
    batch = ops.shape(similarities)[0]
    group = ops.cast(group, "int32")
    excluded = (ops.equal(group[:, None], group[None, :]) & (group[:, None] >= 0)
                & ~ops.eye(batch, dtype="bool"))
    scale = ops.exp(ops.minimum(logit_scale, 4.6052))
    logits = ops.where(excluded, -1e9, scale * ops.cast(similarities, "float32"))
    targets = ops.arange(batch)
    per_example = 0.5 * (
        ops.sparse_categorical_crossentropy(targets, logits, from_logits=True)
        + ops.sparse_categorical_crossentropy(targets, ops.transpose(logits), from_logits=True))
    return per_example, logits
