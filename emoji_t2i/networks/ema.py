"""The exponential moving average of a network's weights that every zoo generator samples
from, in ``keras.ops``: the TensorFlow models and the JAX trainer share these lines."""

from __future__ import annotations

from keras import ops


def warmup_decay(step, decay):
    """min(decay, (1 + step) / (10 + step)): early averages forget their random start fast."""
    step = ops.cast(step, "float32")
    return ops.minimum(decay, (1.0 + step) / (10.0 + step))


def moved_average(average, value, decay):
    """One EMA update: decay * average + (1 - decay) * value."""
    return decay * average + (1.0 - decay) * value


def update_ema(trained, ema, decay) -> None:
    """Assign ``ema``'s weights their EMA update towards ``trained``'s (two networks of one
    architecture); non-trainable state (a normalisation's statistics) is copied as it is."""
    averaged = {id(v) for v in trained.trainable_variables}
    for src, dst in zip(trained.weights, ema.weights, strict=True):
        dst.assign(moved_average(dst.value, src.value, decay) if id(src) in averaged else src.value)
