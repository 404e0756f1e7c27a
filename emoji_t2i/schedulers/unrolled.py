"""DPM-Solver++(2M) for a fixed number of steps, unrolled in Python over ``keras.ops``.

``samplers.py`` loops with ``tf.while_loop`` so that a SavedModel takes the step count as an
input; a trainer under JAX needs the same arithmetic without TensorFlow, for a step count
known when it compiles (the in-training probe samples in a handful of steps). Same time grid
(t_i = 1 - i / N), same first- and last-step fallbacks, same updates: tested to match.
"""

from __future__ import annotations

from keras import ops

from emoji_t2i.schedulers.schedule import CosineSchedule


def dpm_solver_2m(denoise, x_T, num_steps: int, schedule: CosineSchedule | None = None):
    """x0 after ``num_steps`` DPM-Solver++(2M) steps from pure noise ``x_T``;
    ``denoise(x_t, t) -> (x0_hat, eps_hat)`` with t a scalar."""
    schedule = schedule or CosineSchedule()
    num_steps = int(num_steps)
    if num_steps < 1:
        raise ValueError(f"num_steps {num_steps}: use a whole number of at least 1")
    x, x0_prev, h_prev = x_T, None, None
    for i in range(num_steps):
        t = ops.convert_to_tensor(1.0 - i / num_steps, "float32")
        s = ops.convert_to_tensor(1.0 - (i + 1) / num_steps, "float32")
        x0, _ = denoise(x, t)
        _, sigma_t = schedule.alpha_sigma(t)
        alpha_s, sigma_s = schedule.alpha_sigma(s)
        h = 0.5 * (schedule.logsnr(s) - schedule.logsnr(t))
        data = x0
        if i > 0 and num_steps - i > 1:  # second order between the first step and the last
            r0 = h_prev / h
            data = (1.0 + 0.5 / r0) * x0 - (0.5 / r0) * x0_prev
        x = (sigma_s / sigma_t) * x - alpha_s * ops.expm1(-h) * data
        x0_prev, h_prev = x0, h
    return x0
