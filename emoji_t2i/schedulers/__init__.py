"""Noise schedules and samplers for diffusion models: no weights, only arithmetic.

    schedule = CosineSchedule()
    x_t = schedule.add_noise(x0, eps, t)                 # forward process, t in [0, 1]
    sampler = make_sampler("dpm_solver", schedule)        # or "ddim", "ddpm"
    x0 = sampler.sample(denoise, x_T, num_steps=20)      # denoise(x_t, t) -> (x0_hat, eps_hat)

Image-token models decode with ``MaskGITSampler`` (``maskgit.py``): [MASK] tokens to a full
grid in ``num_steps`` calls of ``logits_fn(tokens)``.

``ConditionAnnealing`` (``condition_annealing.py``) noises the caption early in sampling and
not late (CADS), for more variety.

Training minimises ``DenoisingLoss`` (``loss.py``): v-prediction under the schedule;
distillation ``GuidedDistillationLoss`` (``distillation.py``): one student step for two of
its teacher's, the guidance scale an input.

A denoising network is wrapped by its model into ``denoise``; samplers never see weights,
so they are unit-tested with an exact "model" (tests/schedulers).
"""

import importlib

# Loaded on first use: the schedule and the loss are TensorFlow-free (the JAX trainer imports
# them), the samplers are not, and importing one submodule runs this file first.
_HOMES = {"SAMPLERS": "samplers", "DDIMSampler": "samplers", "DDPMSampler": "samplers",
          "DPMSolverMultistepSampler": "samplers", "make_sampler": "samplers",
          "MaskGITSampler": "maskgit", "masked_after": "maskgit",
          "CosineSchedule": "schedule", "DenoisingLoss": "loss", "ConditionAnnealing": "condition_annealing",
          "GuidedDistillationLoss": "distillation", "guided_teacher": "distillation"}
__all__ = sorted(_HOMES)


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
