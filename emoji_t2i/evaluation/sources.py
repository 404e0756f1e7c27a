"""What gets evaluated: a trained model (run or preset), the real data (the ceiling) or
uniform noise (the floor).

A source answers a ``PromptSet`` with one uint8 RGBA image per prompt (``samples``) and
with several images for each of a few prompts (``variations``, for per-prompt diversity);
one that can draw any text also answers free prompts (``prompted``: the composition list).
"""

from __future__ import annotations

import warnings

import numpy as np

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.data import EmojiDataset
from emoji_t2i.errors import UsageError
from emoji_t2i.evaluation.protocol import PromptSet
from emoji_t2i.pipelines.checks import MAX_SEED

# a pipeline's seed is derived from the evaluation's: seed * 1000 + k (k < 1000) for a chunk,
# that times 8 plus the style's index for a model with styles; all must stay within MAX_SEED
MAX_EVAL_SEED = (MAX_SEED - 7999) // 8000


class PipelineSource:
    """Samples of a trained model (a run or a preset) through its pipeline: noise from
    ``tf.random.stateless_normal`` keyed by the seed; ``options`` are sampling options.

    A model conditioned on styles draws in the protocol's styles (``styles``: Google's and
    Twitter's, the FID reference's), alternating image by image, unless ``options`` name one:
    "any style" would be judged against drawings of two styles it was not asked for."""

    def __init__(self, pipeline, label, options: dict | None = None, chunk: int = 256,
                 styles: tuple[str, ...] = ()):
        self.pipeline, self.options, self.chunk = pipeline, dict(options or {}), chunk
        known = getattr(pipeline, "styles", ())
        self.styles = tuple(s for s in styles if s in known) if "style" not in self.options else ()
        self.name = f"{label} ({pipeline.config['model']})"
        if self.options:
            self.name += " " + ", ".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        if self.styles:
            self.name += f" in styles {'/'.join(self.styles)}"

    def generate(self, prompts, seed, n):
        with warnings.catch_warnings():  # held-out prompts with no known word are expected
            warnings.simplefilter("ignore", UserWarning)
            if not self.styles:
                return self.pipeline.sample(prompts, seed=seed, n=n, **self.options)
            # image i of the prompt-major list in style i mod len(styles), each style one call
            out = np.zeros((len(prompts) * n, IMAGE_SIZE, IMAGE_SIZE, CHANNELS), np.uint8)
            order = np.arange(len(prompts) * n)
            for k, style in enumerate(self.styles):
                chosen = order[order % len(self.styles) == k]
                if len(chosen):
                    out[chosen] = self.pipeline.sample([prompts[i // n] for i in chosen], seed=seed * 8 + k, n=1,
                                                       **self.options, style=style)
            return out

    def prompted(self, prompts: list[str], seed: int, per_prompt: int) -> np.ndarray:
        """``per_prompt`` images of each of any prompts, prompt-major."""
        return self.generate(prompts, seed * 1000 + 500, per_prompt)

    def samples(self, ps: PromptSet, seed: int) -> np.ndarray:
        return np.concatenate([self.generate(ps.prompts[s:s + self.chunk], seed * 1000 + k, 1)
                               for k, s in enumerate(range(0, len(ps.prompts), self.chunk))])

    def variations(self, ps: PromptSet, prompts: int, per_prompt: int, seed: int) -> list[np.ndarray]:
        images = self.generate(ps.prompts[:prompts], seed * 1000 + 999, per_prompt)
        return list(images.reshape(-1, per_prompt, *images.shape[1:]))


class RealSource:
    """The same emoji drawn by the partner style; variations are the emoji's images in the
    reference and partner styles (both drawings, skin tones)."""

    name = "real images (partner style)"

    def __init__(self, ds: EmojiDataset):
        self.ds = ds

    def samples(self, ps: PromptSet, seed: int) -> np.ndarray:
        if np.any(ps.partners < 0):
            raise UsageError("--real needs every emoji drawn in two styles; this dataset "
                             "has single images, evaluate a run instead")
        return self.ds.images[ps.partners]

    def variations(self, ps: PromptSet, prompts: int, per_prompt: int, seed: int) -> list[np.ndarray]:
        styles = np.isin(self.ds.metadata["style"], ps.styles) if ps.styles else True
        return [self.ds.images[np.flatnonzero((self.ds.identity == self.ds.identity[row])
                                              & (self.ds.split == ps.split) & styles)[:per_prompt]]
                for row in ps.rows[:prompts]]


class NoiseSource:
    """Uniform random RGBA pixels."""

    name = "uniform noise"

    def samples(self, ps: PromptSet, seed: int) -> np.ndarray:
        shape = (len(ps.prompts), IMAGE_SIZE, IMAGE_SIZE, CHANNELS)
        return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)

    def prompted(self, prompts: list[str], seed: int, per_prompt: int) -> np.ndarray:
        shape = (len(prompts) * per_prompt, IMAGE_SIZE, IMAGE_SIZE, CHANNELS)
        return np.random.default_rng(seed + 2).integers(0, 256, shape, np.uint8)

    def variations(self, ps: PromptSet, prompts: int, per_prompt: int, seed: int) -> list[np.ndarray]:
        rng = np.random.default_rng(seed + 1)
        return [rng.integers(0, 256, (per_prompt, IMAGE_SIZE, IMAGE_SIZE, CHANNELS), np.uint8) for _ in range(prompts)]

