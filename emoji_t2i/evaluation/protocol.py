"""Which images, prompts and mismatched captions an evaluation uses: fixed by a seed.

For each split the REFERENCE set is the images of one style (Google's by default; the first
alphabetically where a dataset has no such style); each reference image gives one prompt (one
of its captions, drawn with the seed). A model draws one sample per prompt. The real-data
CEILING answers the same prompts with the same emoji drawn by the PARTNER style (Twitter's;
Google's when Twitter's is the reference): another artist's rendering of exactly what was
asked, never the reference image itself. Mismatched captions and the ceiling's variations come
from those two styles alone, so the figures stay comparable with those measured when the
dataset had only them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from emoji_t2i.data import EmojiDataset
from emoji_t2i.data.styles import PARTNER_STYLE, REFERENCE_STYLE
from emoji_t2i.errors import UsageError

MISMATCHED = 99  # AttnGAN: the true caption against 99 random mismatched ones


@dataclasses.dataclass
class PromptSet:
    split: str
    rows: np.ndarray  # reference rows in the full dataset
    prompts: list[str]
    partners: np.ndarray  # the partner style's row for each reference row (-1 if none)
    candidates: np.ndarray  # (n, MISMATCHED) indices into ``caption_pool``
    caption_pool: list[str]  # prompts first, then the mismatched captions the candidates name
    styles: tuple[str, ...] = ()  # (reference, partner) styles


def comparison_styles(ds: EmojiDataset, reference_style: str | None = None) -> tuple[str, ...]:
    """(reference, partner) styles of ``ds``; one style (maybe "") when it has only one."""
    present = sorted({str(s) for s in ds.metadata["style"]})
    if reference_style and reference_style not in present:
        raise UsageError(f"--reference-style {reference_style}: not a style of this dataset; "
                         f"use one of {', '.join(present)}")
    reference = reference_style or (REFERENCE_STYLE if REFERENCE_STYLE in present else present[0])
    partner = PARTNER_STYLE if reference != PARTNER_STYLE else REFERENCE_STYLE
    if partner not in present:
        others = [s for s in present if s != reference]
        return (reference, others[0]) if others else (reference,)
    return reference, partner


def prompt_set(ds: EmojiDataset, split: str, limit: int | None, seed: int,
               reference_style: str | None = None, pool_from: EmojiDataset | None = None) -> PromptSet:
    """``pool_from``: draw the mismatched captions from this dataset's split instead of ``ds``'s
    (a probe of a run on a few emoji still ranks against the whole split's captions)."""
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    styles = comparison_styles(ds, reference_style)
    in_split = (ds.split == split) & np.isin(ds.metadata["style"], styles)
    reference = np.flatnonzero(in_split & (ds.metadata["style"] == styles[0]))
    # random order: grids and the diversity prompts take the first few, which must not all
    # be keycaps and flags (the artifact's rows are sorted by code point)
    reference = rng.permutation(reference)[:limit]
    prompts = [ds.captions[i][rng.integers(len(ds.captions[i]))] for i in reference]
    by_code = {}
    for row in np.flatnonzero(in_split):
        by_code.setdefault(str(ds.metadata["unified"][row]), []).append(row)
    partners = np.array([next((r for r in by_code[str(ds.metadata["unified"][i])] if r != i), -1)
                         for i in reference], np.int64)
    # mismatched captions: other emoji's captions in the split, never the prompt's own text
    # (generic tags such as "keycap" belong to many emoji)
    source = ds if pool_from is None else pool_from
    pool_rows = np.flatnonzero((source.split == split) & np.isin(source.metadata["style"], styles))
    pool = [(str(source.identity[r]), c) for r in pool_rows for c in source.captions[r]]
    pool_identity = np.array([p[0] for p in pool])
    pool_text = np.array([p[1] for p in pool], dtype=object)
    drawn = np.empty((len(reference), MISMATCHED), np.int64)
    for k, row in enumerate(reference):
        allowed = np.flatnonzero((pool_identity != ds.identity[row]) & (pool_text != prompts[k]))
        if len(allowed) < MISMATCHED:
            raise UsageError(f"R-precision ranks each prompt against {MISMATCHED} mismatched captions; the {split} "
                             f"split has {len(allowed)} for {prompts[k]!r}: use a dataset with more emoji (or, "
                             "training, leave probe_every at 0)")
        drawn[k] = rng.choice(allowed, MISMATCHED, replace=False)
    # the pool keeps only the captions drawn: a split has tens of thousands, and every caption
    # of the pool is embedded
    used, remapped = np.unique(drawn, return_inverse=True)
    caption_pool = list(prompts) + [pool[i][1] for i in used]
    candidates = len(prompts) + remapped.reshape(drawn.shape)
    return PromptSet(split, reference, prompts, partners, candidates, caption_pool, styles)
