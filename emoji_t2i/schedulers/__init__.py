"""Noise schedules and samplers for diffusion models: no weights, only arithmetic.

    schedule = CosineSchedule()
    x_t = schedule.add_noise(x0, eps, t)                 # forward process, t in [0, 1]
    sampler = make_sampler("dpm_solver", schedule)        # or "ddim", "ddpm"
    x0 = sampler.sample(denoise, x_T, num_steps=20)      # denoise(x_t, t) -> (x0_hat, eps_hat)

Image-token models decode with ``MaskGITSampler`` (``maskgit.py``): [MASK] tokens to a full
grid in ``num_steps`` calls of ``logits_fn(tokens)``.

A denoising network is wrapped by its model into ``denoise``; samplers never see weights,
so they are unit-tested with an exact "model" (tests/schedulers).
"""

from emoji_t2i.schedulers.maskgit import MaskGITSampler, masked_after
from emoji_t2i.schedulers.samplers import (
    SAMPLERS,
    DDIMSampler,
    DDPMSampler,
    DPMSolverMultistepSampler,
    make_sampler,
)
from emoji_t2i.schedulers.schedule import CosineSchedule

__all__ = ["SAMPLERS", "CosineSchedule", "DDIMSampler", "DDPMSampler", "DPMSolverMultistepSampler",
           "MaskGITSampler", "make_sampler", "masked_after"]
