"""Learning-rate schedules, in keras.ops alone: the same schedule drives the TensorFlow fit()
and the JAX trainer (training/jax_diffusion.py)."""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable("emoji_t2i")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 over ``warmup_steps``, then cosine decay to ``floor`` x peak at
    ``decay_steps`` (held there after); ``decay_steps=0`` keeps the peak after warm-up.

    Args:
        peak: learning rate at the end of warm-up.
        warmup_steps: steps of linear warm-up.
        decay_steps: step at which the cosine reaches its floor (0: no decay).
        floor: final learning rate as a fraction of ``peak``.
    """

    def __init__(self, peak, warmup_steps=0, decay_steps=0, floor=0.1):
        self.peak, self.warmup_steps = float(peak), int(warmup_steps)
        self.decay_steps, self.floor = int(decay_steps), float(floor)

    def __call__(self, step):
        graph = self._one_graph()
        if graph is not None:
            return graph(step)
        return warmup_cosine(step, self.peak, self.warmup_steps, self.decay_steps, self.floor)

    def _one_graph(self):
        """Under TensorFlow, the rate as one traced function of the step. Keras's AdamW asks
        for the rate once per weight it decays, and a train step's trace inlined the schedule's
        ops as many times (293 for the default U-Net: 33,595 graph ops where one function makes
        25,163, ``benchmarks/train_step_trace.py``). Each call still reads the step it is given.
        Held in a plain closure, as ``text/eager_graph.py`` explains."""
        if keras.backend.backend() != "tensorflow":
            return None
        if "_graph" not in self.__dict__:
            import tensorflow as tf

            rate = tf.function(lambda step: warmup_cosine(step, self.peak, self.warmup_steps,
                                                          self.decay_steps, self.floor))
            self.__dict__["_graph"] = lambda step: rate(tf.cast(step, tf.float32))
        return self.__dict__["_graph"]

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps,
                "decay_steps": self.decay_steps, "floor": self.floor}


def warmup_cosine(step, peak, warmup_steps, decay_steps, floor=0.1):
    """``WarmupCosine``'s rate at ``step``, ``decay_steps`` a tensor as well as a number: the
    JAX trainer passes the run's length into its jitted step, so a length fitted to a time
    budget as the run goes (``training/schedule_fit.py``) changes without a recompile.
    ``decay_steps`` at or below ``warmup_steps`` (0 among them) keeps the peak after warm-up."""
    step = ops.cast(step, "float32")
    warm = ops.minimum(1.0, (step + 1.0) / max(int(warmup_steps), 1))
    span = ops.cast(decay_steps, "float32") - float(warmup_steps)
    progress = ops.clip((step - float(warmup_steps)) / ops.maximum(span, 1.0), 0.0, 1.0)
    cosine = floor + (1.0 - floor) * 0.5 * (1.0 + ops.cos(math.pi * progress))
    return peak * warm * ops.where(span > 0, cosine, 1.0)
