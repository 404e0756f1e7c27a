"""Guided progressive distillation, as an objective apart from any training loop.

Progressive distillation (Salimans & Ho, ICLR 2022) teaches a student to take in one DDIM step
what its teacher takes in two, so each stage halves the number of sampling steps; with the
guidance scale as an input of the student (Meng et al., CVPR 2023) a step is also one network
call instead of classifier-free guidance's two. Written in ``keras.ops`` like ``DenoisingLoss``,
so any backend's step can call it; the JAX distiller does (``training/jax_distill.py``).
"""

from __future__ import annotations

from keras import ops

from emoji_t2i.schedulers.schedule import CosineSchedule


def ddim_step(schedule: CosineSchedule, x_t, v, t, s):
    """The deterministic DDIM update from time t to s < t given the network's v at t."""
    alpha_t, sigma_t = (schedule.expand(a, x_t) for a in schedule.alpha_sigma(t))
    alpha_s, sigma_s = (schedule.expand(a, x_t) for a in schedule.alpha_sigma(s))
    x0 = alpha_t * x_t - sigma_t * v
    eps = sigma_t * x_t + alpha_t * v
    return alpha_s * x0 + sigma_s * eps


class GuidedDistillationLoss:
    """Per-example loss of a student that samples in ``student_steps`` DDIM steps against a
    teacher that takes twice as many.

    Both sample on the uniform time grid the project's samplers use (t_i = 1 - i / N). For a
    training image x0 the student's step i starts from z_t = alpha_t x0 + sigma_t eps at
    t = 1 - i / N; the teacher takes two DDIM steps, t -> t - 1/(2N) -> s = t - 1/N, to z_s;
    the target is the clean image x~ from which one DDIM step t -> s lands exactly on z_s,

        x~ = (z_s - (sigma_s / sigma_t) z_t) / (alpha_s - (sigma_s / sigma_t) alpha_t),

    expressed as v (the parametrisation both networks use): a mean squared error on v is
    Salimans & Ho's x-space error weighted by SNR + 1. The teacher is whatever the caller
    passes: the guided original (two U-Net calls, or one batched call, per step) or the
    previous stage's student.

    Args:
        student_steps: N, the steps the student samples in (the teacher takes 2N).
        schedule: the noise schedule (default ``CosineSchedule()``).

    Call: ``loss(student, teacher, x0, eps, step_draw, guidance, text)`` with ``student`` and
    ``teacher`` of the form ``f(x_t, logsnr, text, guidance) -> v``, x0 (B, H, W, C) in
    [-1, 1], eps like x0, step_draw in [0, 1) (B,) choosing the step, guidance (B,) the
    guidance scale. Returns (B,) float32; the target carries no gradient.
    """

    def __init__(self, student_steps: int, schedule: CosineSchedule | None = None):
        if int(student_steps) < 1:
            raise ValueError(f"student_steps {student_steps}: use a whole number of at least 1")
        self.student_steps = int(student_steps)
        self.schedule = schedule or CosineSchedule()

    def times(self, step_draw):
        """(t, the teacher's middle time, s) of the student's step chosen by ``step_draw``."""
        n = float(self.student_steps)
        index = ops.minimum(ops.floor(ops.cast(step_draw, "float32") * n), n - 1.0)
        t = 1.0 - index / n
        return t, t - 0.5 / n, t - 1.0 / n

    def target(self, teacher, x_t, t, middle, s, text, guidance):
        """The v that takes the student from (x_t, t) to where two teacher steps land."""
        sched = self.schedule
        x_mid = ddim_step(sched, x_t, teacher(x_t, sched.logsnr(t), text, guidance), t, middle)
        x_s = ddim_step(sched, x_mid, teacher(x_mid, sched.logsnr(middle), text, guidance), middle, s)
        alpha_t, sigma_t = (sched.expand(a, x_t) for a in sched.alpha_sigma(t))
        alpha_s, sigma_s = (sched.expand(a, x_t) for a in sched.alpha_sigma(s))
        ratio = sigma_s / sigma_t
        x0 = (x_s - ratio * x_t) / (alpha_s - ratio * alpha_t)
        eps = (x_t - alpha_t * x0) / sigma_t
        return ops.stop_gradient(alpha_t * eps - sigma_t * x0)

    def __call__(self, student, teacher, x0, eps, step_draw, guidance, text):
        t, middle, s = self.times(step_draw)
        x_t = self.schedule.add_noise(ops.cast(x0, "float32"), ops.cast(eps, "float32"), t)
        target = self.target(teacher, x_t, t, middle, s, text, guidance)
        v = ops.cast(student(x_t, self.schedule.logsnr(t), text, guidance), "float32")
        return ops.mean(ops.square(v - target), axis=tuple(range(1, len(x0.shape))))

    def get_config(self) -> dict:
        return {"student_steps": self.student_steps, "schedule": self.schedule.get_config()}


def guided_teacher(network, guidance_interval=None):
    """``network(x_t, logsnr, text, keep) -> v`` (an undistilled U-Net) as a teacher
    ``f(x_t, logsnr, text, guidance) -> v``: classifier-free guidance from one batched call
    on the caption and the null caption, guided only where sigma / alpha is inside
    ``guidance_interval`` (guidance 1 elsewhere), as the model samples."""

    def teacher(x_t, logsnr, text, guidance):
        batch = ops.shape(x_t)[0]
        keep = ops.concatenate([ops.ones((batch,)), ops.zeros((batch,))], axis=0)
        v = network(ops.concatenate([x_t, x_t], 0), ops.concatenate([logsnr, logsnr], 0),
                    ops.concatenate([text, text], 0), keep)
        v_cond, v_null = ops.cast(v[:batch], "float32"), ops.cast(v[batch:], "float32")
        scale = ops.cast(guidance, "float32")
        if guidance_interval is not None:
            low, high = guidance_interval
            sigma = ops.exp(-0.5 * ops.cast(logsnr, "float32"))  # EDM's noise level sigma / alpha
            scale = ops.where((sigma > low) & (sigma <= high), scale, 1.0)
        return v_null + CosineSchedule.expand(scale, x_t) * (v_cond - v_null)

    return teacher
