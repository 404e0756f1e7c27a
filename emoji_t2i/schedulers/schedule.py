"""The variance-preserving cosine noise schedule in continuous time (Nichol & Dhariwal 2021,
in the log-SNR form of Kingma et al. 2021): x_t = alpha_t x0 + sigma_t eps with
alpha_t^2 + sigma_t^2 = 1 and logSNR(t) = -2 log tan(pi t / 2), clipped to
[logsnr_min, logsnr_max] so that t = 0 is (almost) clean and t = 1 (almost) pure noise.

Written in ``keras.ops``: the TensorFlow model and the JAX trainer import this one schedule."""

from __future__ import annotations

import math

from keras import ops


class CosineSchedule:
    """Args:
        logsnr_min: log-SNR at t = 1 (-15: alpha ~ 5e-4, the image is gone).
        logsnr_max: log-SNR at t = 0 (15: sigma ~ 5e-4, below one 8-bit level).
    """

    def __init__(self, logsnr_min: float = -15.0, logsnr_max: float = 15.0):
        self.logsnr_min, self.logsnr_max = float(logsnr_min), float(logsnr_max)
        self._t_min = math.atan(math.exp(-0.5 * logsnr_max))
        self._t_max = math.atan(math.exp(-0.5 * logsnr_min))

    def logsnr(self, t):
        t = ops.cast(t, "float32")
        return -2.0 * ops.log(ops.tan(self._t_min + t * (self._t_max - self._t_min)))

    def alpha_sigma(self, t):
        """(alpha_t, sigma_t) shaped like t."""
        logsnr = self.logsnr(t)
        return ops.sqrt(ops.sigmoid(logsnr)), ops.sqrt(ops.sigmoid(-logsnr))

    @staticmethod
    def expand(value, like):
        """``value`` (a scalar or (B,)) with trailing axes to broadcast against ``like``."""
        for _ in range(len(like.shape) - len(value.shape)):
            value = ops.expand_dims(value, -1)
        return value

    def add_noise(self, x0, eps, t):
        """x_t for per-example times t (B,) or one scalar t."""
        alpha, sigma = self.alpha_sigma(t)
        return self.expand(alpha, x0) * x0 + self.expand(sigma, x0) * eps

    def v_target(self, x0, eps, t):
        """v = alpha eps - sigma x0 (Salimans & Ho 2022): the network's training target."""
        alpha, sigma = self.alpha_sigma(t)
        return self.expand(alpha, x0) * eps - self.expand(sigma, x0) * x0

    def from_v(self, x_t, v, t):
        """(x0_hat, eps_hat) from a v prediction: x0 = alpha x_t - sigma v, eps = sigma x_t + alpha v."""
        alpha, sigma = self.alpha_sigma(t)
        alpha, sigma = self.expand(alpha, x_t), self.expand(sigma, x_t)
        return alpha * x_t - sigma * v, sigma * x_t + alpha * v

    def get_config(self) -> dict:
        return {"logsnr_min": self.logsnr_min, "logsnr_max": self.logsnr_max}
