"""The argument checks every pipeline and CLI shares: seeds, counts, prompts and sampling
options, each a one-line ``UsageError``. Without TensorFlow, so that the training CLI checks a
``--set`` sampling option where TensorFlow is absent (a JAX host) as where it is."""

from __future__ import annotations

import math

import numpy as np

from emoji_t2i.data.emoji_names import spell_out_emoji
from emoji_t2i.errors import UsageError

MAX_SEED = 2**31 - 1  # seeds are int32 inside the graph; larger ones would wrap
# the sampling options a model's config may hold (a pipeline offers those its model has)
SAMPLING_OPTIONS = ("num_steps", "guidance_scale", "sampler", "guidance_interval", "condition_annealing",
                    "temperature", "top_k", "truncation_psi")


def check_seed(seed) -> int:
    """A seed in 0..MAX_SEED, or a one-line UsageError (a larger one would wrap to another)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) <= MAX_SEED:
        raise UsageError(f"seed {seed!r}: use a whole number from 0 to {MAX_SEED}")
    return int(seed)


def check_count(n, name: str = "n") -> int:
    """A number of images: a whole number of at least 1, or a one-line UsageError."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise UsageError(f"{name} {n!r}: use a whole number of at least 1")
    return int(n)


def prompt_list(prompts) -> list[str]:
    """The prompts as a list of strings, each emoji in them read as its name ("🐙 wearing a 🎩"
    -> "octopus wearing a top hat", ``data.emoji_names.spell_out_emoji``). One string is one prompt:
    ``list("crying cat")`` would sample its ten characters."""
    if isinstance(prompts, str):
        prompts = [prompts]
    try:
        prompts = list(prompts)
    except TypeError:
        raise UsageError(f"prompts {prompts!r:.60}: give a string or a list of strings, "
                         "e.g. ['crying cat', 'pizza']") from None
    for index, prompt in enumerate(prompts):
        if not isinstance(prompt, str):
            raise UsageError(f"prompts[{index}] is {type(prompt).__name__} {prompt!r:.40}: prompts are strings, "
                             "e.g. ['crying cat', 'pizza']")
        try:
            prompt.encode("utf-8")
        except UnicodeEncodeError:  # a shell's bytes that are not UTF-8 arrive as lone surrogates
            raise UsageError(f"prompt {prompt!r:.40} is not UTF-8 text; "
                             "type it in a UTF-8 terminal (e.g. LANG=C.UTF-8)") from None
    return spell_out_emoji(prompts)


def check_sampling_options(options: dict) -> None:
    """One-line errors for sampling options that would silently give blank images."""
    steps = options.get("num_steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1):
        raise UsageError(f"num_steps {steps!r}: use a whole number of at least 1")
    for key in ("guidance_scale", "temperature", "truncation_psi"):
        value = options.get(key)
        if value is not None and not (isinstance(value, int | float | np.number) and math.isfinite(value)):
            raise UsageError(f"{key} {value!r}: use a finite number")
    interval = options.get("guidance_interval")
    if interval is not None and not (
            len(interval) == 2 and all(isinstance(g, int | float | np.number) and math.isfinite(g) for g in interval)
            and 0 <= interval[0] < interval[1]):
        raise UsageError(f"guidance_interval {interval!r}: give (low, high) noise levels with 0 <= low < high, "
                         "e.g. (0.28, 5.42)")
    if options.get("condition_annealing") is not None:
        from emoji_t2i.schedulers import ConditionAnnealing  # imports Keras: only where it is asked for

        ConditionAnnealing.parse(options["condition_annealing"])
    top_k = options.get("top_k")
    if top_k is not None and (not isinstance(top_k, int | np.integer) or top_k < 0):
        raise UsageError(f"top_k {top_k!r}: use a whole number, 0 for all tokens")
