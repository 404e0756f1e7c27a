"""The denoising objective, as an object apart from any training loop (NVlabs EDM's
``training/loss.py``): the TensorFlow model's ``train_step`` and the JAX trainer's jitted step
both call it, so the two backends train one objective."""

from __future__ import annotations

from keras import ops

from emoji_t2i.networks.augment import geometric_augment
from emoji_t2i.networks.condition import row_relative_noise
from emoji_t2i.schedulers.schedule import CosineSchedule


class DenoisingLoss:
    """Per-example v-prediction mean squared error under a noise schedule.

    x_t = alpha_t x0 + sigma_t eps; the network predicts v = alpha_t eps - sigma_t x0
    (Salimans & Ho 2022; eps-prediction gave pure noise after 30 CPU-minutes here). For
    classifier-free guidance a caption is dropped (``keep`` = 0: the network's null caption)
    where its uniform draw falls below ``condition_dropout``. With ``text_noise`` > 0 the text
    features get Gaussian noise of that size relative to their RMS, per example (Somepalli et
    al., NeurIPS 2023, found noise on the text embedding in training reduces copying).

    With ``augment_probability`` > 0 the clean image is first transformed geometrically (EDM's
    non-leaky augmentation, ``networks.augment.geometric_augment``: translation, scale,
    rotation, anisotropy, each with that probability, never flips) and the network is told
    what was done: ``denoise`` then takes the labels as a fifth argument.

    All randomness comes in as draws, so each backend keeps its own generator (TensorFlow's
    stateless draws per step, ``jax.random`` keys) and a step is a function of its inputs.

    Args:
        schedule: the noise schedule (default ``CosineSchedule()``).
        condition_dropout: share of captions replaced by the null caption.
        text_noise: standard deviation of the noise on the text features, relative to their
            root mean square (0: none; 0.1 leaves them at 20 dB signal-to-noise).
        augment_probability: probability of each geometric augmentation (0: none).

    Call: ``loss(denoise, x0, eps, t, keep_draw, text, text_draw=None)`` with
    ``denoise(x_t, logsnr, text, keep) -> v`` (the caller closes over the weights), x0
    premultiplied RGBA in [-1, 1] (B, H, W, C), eps like x0, t and keep_draw in [0, 1) (B,),
    text (B, D) and, with ``text_noise``, text_draw standard normals like it; with
    ``augment_probability``, augment_draw (B, GEOMETRY_PARAMS) uniforms. Returns (B,) float32.
    """

    def __init__(self, schedule: CosineSchedule | None = None, condition_dropout: float = 0.15,
                 text_noise: float = 0.0, augment_probability: float = 0.0):
        self.schedule = schedule or CosineSchedule()
        self.condition_dropout = float(condition_dropout)
        self.text_noise = float(text_noise)
        self.augment_probability = float(augment_probability)

    def noisy_text(self, text, text_draw):
        """The text features the network sees in training."""
        text = ops.cast(text, "float32")
        if self.text_noise <= 0:
            return text
        if text_draw is None:
            raise ValueError("DenoisingLoss(text_noise > 0) needs text_draw, standard normals like the text")
        return text + self.text_noise * row_relative_noise(text, text_draw)

    def __call__(self, denoise, x0, eps, t, keep_draw, text, text_draw=None, augment_draw=None):
        keep = ops.cast(keep_draw >= self.condition_dropout, "float32")
        labels = ()
        if self.augment_probability > 0:
            if augment_draw is None:
                raise ValueError("DenoisingLoss(augment_probability > 0) needs augment_draw, uniforms (B, 9)")
            x0, augment_labels = geometric_augment(x0, augment_draw, self.augment_probability)
            labels = (augment_labels,)
        x_t = self.schedule.add_noise(x0, eps, t)
        v = denoise(x_t, self.schedule.logsnr(t), self.noisy_text(text, text_draw), keep, *labels)
        target = self.schedule.v_target(x0, eps, t)
        return ops.mean(ops.square(ops.cast(v, "float32") - target), axis=tuple(range(1, len(x0.shape))))

    def get_config(self) -> dict:
        return {"schedule": self.schedule.get_config(), "condition_dropout": self.condition_dropout,
                "text_noise": self.text_noise, "augment_probability": self.augment_probability}
