"""Learning-rate schedules the zoo's optimizers use (defined in ``networks.lr_schedules``,
which imports no TensorFlow, so that the JAX trainer can use the same schedule)."""

from emoji_t2i.networks.lr_schedules import WarmupCosine

__all__ = ["WarmupCosine"]
