"""How often a trainer draws each drawing: as stored, or every emoji alike.

Skin tones multiply People & Body: 55 % of the training drawings show 19 % of the emoji
(365 of 1,911), each hand and person in five tones (twenty-five for couples) and up to eight
styles. Drawn as stored, a run spends over half its steps on people, and the categories the
flagship draws worst (Objects, Food & Drink, Animals & Nature, Activities) get 2-8 % each.
``balance="identity"`` draws every emoji in every style it has equally often, its skin tones
sharing that emoji's turn: People & Body falls to 18 % of the draws and every other
category gains 1.8x (``python -m emoji_t2i.data info`` prints both).

Balanced epochs are drawn with replacement: an epoch keeps its length (the images of the
split over the batch), some rare drawings come twice and some frequent ones not at all.
Numpy alone, so that the JAX trainer, which runs where TensorFlow is absent, uses it too; the
TensorFlow pipeline draws its rows the same way (inverse CDF) from its own stateless uniforms.
"""

from __future__ import annotations

import numpy as np

from emoji_t2i.errors import UsageError

BALANCE_MODES = ("none", "identity")


def check_balance(mode: str, flag: str = "--balance ") -> str:
    """``mode`` if it is one of ``BALANCE_MODES``; else a one-line error naming ``flag``."""
    if mode not in BALANCE_MODES:
        raise UsageError(f"{flag}{mode}: unknown; use one of {', '.join(BALANCE_MODES)}")
    return mode


def balance_groups(identity, style) -> np.ndarray:
    """(N,) int32: rows drawing the same emoji in the same style (its skin tones) share a group."""
    keys = [f"{i}\x00{s}" for i, s in zip(np.asarray(identity).astype(str), np.asarray(style).astype(str),
                                          strict=True)]
    return np.unique(keys, return_inverse=True)[1].astype(np.int32).reshape(-1)


def sampling_weights(groups: np.ndarray | None, mode: str = "identity") -> np.ndarray | None:
    """(N,) float64 summing to one, each group's rows splitting its equal share; None for
    ``mode="none"`` (draw a permutation, as stored)."""
    if check_balance(mode) == "none":
        return None
    if groups is None:
        raise UsageError("--balance identity needs each drawing's emoji and style; this data has neither "
                         "(write the bundle again with python -m emoji_t2i.train_jax bundle)")
    groups = np.asarray(groups)
    sizes = np.bincount(groups)
    weights = 1.0 / sizes[groups]
    return weights / weights.sum()


def weighted_rows(weights: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Rows drawn with probability ``weights`` from uniforms in [0, 1) (inverse CDF, as the
    TensorFlow pipeline draws them)."""
    cdf = np.cumsum(weights)
    return np.minimum(np.searchsorted(cdf / cdf[-1], uniforms, side="right"), len(weights) - 1)


def category_shares(category, weights: np.ndarray | None = None) -> dict[str, float]:
    """Share of draws per category, largest first: as stored, or under ``weights``."""
    category = np.asarray(category).astype(str)
    weights = np.full(len(category), 1.0 / len(category)) if weights is None else np.asarray(weights)
    names, inverse = np.unique(category, return_inverse=True)
    shares = np.bincount(inverse.reshape(-1), weights=weights, minlength=len(names)) / weights.sum()
    return dict(sorted(zip(names.tolist(), shares.tolist(), strict=True), key=lambda kv: -kv[1]))
