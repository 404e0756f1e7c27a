"""Samplers: from x_T ~ N(0, I) at t = 1 to an image at t = 0 in ``num_steps`` model calls.

Each takes ``denoise(x_t, t) -> (x0_hat, eps_hat)`` (t a float32 scalar tensor) and runs a
``tf.while_loop``, so ``num_steps`` may be a tensor and the loop lives inside a SavedModel
graph. Times are uniform in t. The last step returns the model's clean-image estimate.
``start_time`` < 1 starts from a partly noised image instead of pure noise (SDEdit, Meng et al.
2022): ``x_start`` is then the sample at that time and the steps cover [start_time, 0].

- ``ddim``: DDIM (Song et al. 2021), deterministic for ``eta=0``.
- ``ddpm``: DDIM with eta = 1, i.e. DDPM's ancestral sampling; needs a ``seed``.
- ``dpm_solver``: DPM-Solver++(2M) (Lu et al. 2022), second-order multistep in log-SNR,
  good at 10-25 steps.
- ``dpm_solver_3m``: DPM-Solver++(3M), third order once two earlier predictions exist (the
  update diffusers' ``DPMSolverMultistepScheduler`` uses with ``solver_order=3``), for fewer
  steps; like 2M it drops to lower orders at the last steps.
"""

from __future__ import annotations

import tensorflow as tf

from emoji_t2i.errors import UsageError
from emoji_t2i.schedulers.schedule import CosineSchedule


def _times(num_steps, start_time=1.0):
    num_steps = tf.cast(num_steps, tf.float32)
    start_time = tf.cast(start_time, tf.float32)
    return lambda i: start_time * (1.0 - tf.cast(i, tf.float32) / num_steps)


class DDIMSampler:
    """Args:
        schedule: the noise schedule the model was trained with.
        eta: 0 for deterministic DDIM, 1 for DDPM-like ancestral noise.
    """

    def __init__(self, schedule: CosineSchedule, eta: float = 0.0):
        self.schedule, self.eta = schedule, float(eta)

    def sample(self, denoise, x_T, num_steps, seed=None, start_time=1.0):
        if self.eta > 0 and seed is None:
            raise UsageError("a stochastic sampler (eta > 0, ddpm) needs a seed")
        num_steps = tf.convert_to_tensor(num_steps, tf.int32)
        time_of = _times(num_steps, start_time)
        seed = tf.concat([tf.reshape(tf.cast(0 if seed is None else seed, tf.int32), [-1]), [0]], 0)[:2]

        def body(i, x, x0):
            t, s = time_of(i), time_of(i + 1)
            x0, eps = denoise(x, t)
            alpha_t, sigma_t = self.schedule.alpha_sigma(t)
            alpha_s, sigma_s = self.schedule.alpha_sigma(s)
            x_next = alpha_s * x0 + sigma_s * eps
            if self.eta > 0:
                spread = self.eta * (sigma_s / sigma_t) * tf.sqrt(tf.maximum(1.0 - (alpha_t / alpha_s) ** 2, 0.0))
                z = tf.random.stateless_normal(tf.shape(x), seed=seed + tf.stack([0, i + 1]))
                x_next = alpha_s * x0 + tf.sqrt(tf.maximum(sigma_s**2 - spread**2, 0.0)) * eps + spread * z
            return i + 1, x_next, x0

        _, _, x0 = tf.while_loop(lambda i, x, x0: i < num_steps, body,
                                 (tf.constant(0), x_T, tf.zeros_like(x_T)))
        return x0


class DDPMSampler(DDIMSampler):
    """Ancestral sampling: DDIM with eta = 1."""

    def __init__(self, schedule: CosineSchedule):
        super().__init__(schedule, eta=1.0)


class DPMSolverMultistepSampler:
    """DPM-Solver++(2M) with data prediction; the first step and the last are first order.

    ``order=3`` is DPM-Solver++(3M): first order, then second, then third while at least two
    steps remain (the last is first order and the one before it second order)."""

    def __init__(self, schedule: CosineSchedule, order: int = 2):
        if order not in (2, 3):
            raise UsageError(f"DPM-Solver++ order {order}: use 2 or 3")
        self.schedule, self.order = schedule, order

    def sample(self, denoise, x_T, num_steps, seed=None, start_time=1.0):
        num_steps = tf.convert_to_tensor(num_steps, tf.int32)
        time_of = _times(num_steps, start_time)
        half_logsnr = lambda t: 0.5 * self.schedule.logsnr(t)  # noqa: E731  (lambda = log alpha/sigma)

        def body(i, x, x0_prev, x0_prev2, h_prev, h_prev2):
            t, s = time_of(i), time_of(i + 1)
            x0, _ = denoise(x, t)
            _, sigma_t = self.schedule.alpha_sigma(t)
            alpha_s, sigma_s = self.schedule.alpha_sigma(s)
            h = half_logsnr(s) - half_logsnr(t)
            left = num_steps - i  # steps left, this one included
            second_order = (i > 0) & (left > 1)
            r0 = h_prev / h
            d1_0 = (x0 - x0_prev) / r0
            data = tf.where(second_order, (1.0 + 0.5 / r0) * x0 - (0.5 / r0) * x0_prev, x0)
            x_next = (sigma_s / sigma_t) * x - alpha_s * tf.math.expm1(-h) * data
            if self.order == 3:
                third_order = (i > 1) & (left > 2)
                r1 = h_prev2 / h
                d1_1 = (x0_prev - x0_prev2) / r1
                d1 = d1_0 + (r0 / (r0 + r1)) * (d1_0 - d1_1)
                d2 = (d1_0 - d1_1) / (r0 + r1)
                phi1 = tf.math.expm1(-h)
                third = ((sigma_s / sigma_t) * x - alpha_s * phi1 * x0 + alpha_s * (phi1 / h + 1.0) * d1
                         - alpha_s * ((phi1 + h) / h**2 - 0.5) * d2)
                x_next = tf.where(third_order, third, x_next)
            return i + 1, x_next, x0, x0_prev, h, h_prev

        zeros = tf.zeros_like(x_T)
        _, _, x0, *_ = tf.while_loop(lambda i, *_: i < num_steps, body,
                                     (tf.constant(0), x_T, zeros, zeros, tf.constant(1.0), tf.constant(1.0)))
        return x0


SAMPLERS = {"ddim": DDIMSampler, "ddpm": DDPMSampler, "dpm_solver": DPMSolverMultistepSampler,
            "dpm_solver_3m": lambda schedule: DPMSolverMultistepSampler(schedule, order=3)}


def make_sampler(name: str, schedule: CosineSchedule):
    if name not in SAMPLERS:
        raise UsageError(f"unknown sampler {name!r}; use one of {', '.join(SAMPLERS)}")
    return SAMPLERS[name](schedule)
