"""Condition-annealed sampling (CADS, Sadat et al., ICLR 2024): the caption, noised early in
sampling and clean late, so that the first, layout-setting steps do not all head for the one
drawing a caption was trained on.

At sampling time t (1 = pure noise, 0 = clean) the conditional branch reads

    y_t = sqrt(gamma(t)) y + noise_scale sqrt(1 - gamma(t)) rms(y) n,
    gamma(t) = 1 below tau_low, 0 above tau_high, linear between

with n standard normal and rms(y) the root mean square of each row of y. The noise is relative
to the row's size, as the training loss's text noise is, so a zero row (padding in a packed
condition, the "any" style) stays zero. CADS rescales the noised condition back to the clean
one's mean and spread; the U-Net does that itself here, since it layer-normalises the sentence
and the words before reading them. The null caption of classifier-free guidance is a learned
embedding the network substitutes, so only the conditional branch is annealed.

Written in ``keras.ops``: no weights, either backend.
"""

from __future__ import annotations

import math
import numbers

from keras import ops

from emoji_t2i.errors import UsageError
from emoji_t2i.networks.condition import row_relative_noise


class ConditionAnnealing:
    """Args:
        tau_low: below this time the caption is read clean (CADS's tau_1).
        tau_high: above it the caption is noise alone (CADS's tau_2); between, a linear blend.
            Above 1, even sampling's first step (t = 1) keeps part of the caption.
        noise_scale: the noise's size relative to each row's root mean square.

    CADS's own setting, (0.6, 0.9, 0.25), gives blobs on this project's U-Net, which reads the
    first two of its 6 steps as pure noise; (0.5, 1.5, 0.5) keeps the emoji
    (docs/models/diffusion.md has the measurements).

    Call: ``annealing(text, t, draw)`` with text (B, ...) float, t a scalar time in [0, 1] and
    draw standard normals shaped like text.
    """

    def __init__(self, tau_low: float, tau_high: float, noise_scale: float):
        values = (tau_low, tau_high, noise_scale)
        if not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in values) \
                or not 0.0 <= tau_low < tau_high or noise_scale < 0:
            raise UsageError(f"condition_annealing {values!r}: give (tau_low, tau_high, noise_scale) with "
                             "0 <= tau_low < tau_high and noise_scale >= 0, e.g. (0.5, 1.5, 0.5)")
        self.tau_low, self.tau_high, self.noise_scale = float(tau_low), float(tau_high), float(noise_scale)

    @classmethod
    def parse(cls, value) -> ConditionAnnealing | None:
        """None (also "none" or "off"), an instance, a (tau_low, tau_high, noise_scale) sequence or
        "0.5,1.5,0.5"."""
        if value is None or isinstance(value, cls):
            return value
        if isinstance(value, str) and value.strip().lower() in ("", "none", "off"):
            return None
        try:
            parts = tuple(float(v) for v in value.split(",")) if isinstance(value, str) else tuple(value)
        except (ValueError, TypeError):
            parts = ()
        if len(parts) != 3:
            raise UsageError(f"condition_annealing {value!r}: give three numbers, tau_low, tau_high and "
                             "noise_scale, e.g. 0.5,1.5,0.5, or off")
        return cls(*parts)

    def strength(self, t):
        """gamma(t): 1 where the caption is read clean, 0 where it is noise alone."""
        t = ops.cast(t, "float32")
        return ops.clip((self.tau_high - t) / (self.tau_high - self.tau_low), 0.0, 1.0)

    def __call__(self, text, t, draw):
        text = ops.cast(text, "float32")
        gamma = self.strength(t)
        return ops.sqrt(gamma) * text + self.noise_scale * ops.sqrt(1.0 - gamma) * row_relative_noise(text, draw)

    def get_config(self) -> list[float]:
        return [self.tau_low, self.tau_high, self.noise_scale]
