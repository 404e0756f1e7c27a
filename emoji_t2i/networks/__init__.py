"""Networks of the zoo's models. ``unet.py`` and ``lr_schedules.py`` are written in ``keras.ops``
alone (no TensorFlow import): they also run under JAX, for ``training/jax_diffusion.py``."""
