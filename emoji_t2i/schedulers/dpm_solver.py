"""DPM-Solver++(2M) over ``keras.ops`` alone, for any backend.

``samplers.py`` is TensorFlow's (its ``tf.while_loop`` lets a SavedModel take the step count as
an input); a trainer under JAX needs the same arithmetic without TensorFlow: the in-training
probe compiles this one. ``ops.fori_loop`` keeps one network call in the compiled graph,
whatever the step count. Same time grid (t_i = 1 - i / N), same first- and last-step
fallbacks, same updates: tested to match.
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
    n = float(num_steps)

    def step(i, state):
        x, x0_prev, h_prev = state
        i = ops.cast(i, "float32")
        t, s = 1.0 - i / n, 1.0 - (i + 1.0) / n
        x0, _ = denoise(x, t)
        _, sigma_t = schedule.alpha_sigma(t)
        alpha_s, sigma_s = schedule.alpha_sigma(s)
        h = 0.5 * (schedule.logsnr(s) - schedule.logsnr(t))
        r0 = h_prev / h
        second_order = (i > 0) & (n - i > 1)  # between the first step and the last
        data = ops.where(second_order, (1.0 + 0.5 / r0) * x0 - (0.5 / r0) * x0_prev, x0)
        x = (sigma_s / sigma_t) * x - alpha_s * ops.expm1(-h) * data
        return x, x0, h

    x_T = ops.convert_to_tensor(x_T, "float32")
    _, x0, _ = ops.fori_loop(0, num_steps, step, (x_T, ops.zeros_like(x_T), ops.convert_to_tensor(1.0)))
    return x0
