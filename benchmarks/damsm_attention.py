"""Where a DAMSM's words look: each word's attention over the 18x18 regions of its image.

    python benchmarks/damsm_attention.py --run runs/damsm --figure docs/attngan/damsm_attention.png

For a few training and held-out emoji (their first caption), a row: the emoji, then one map
per word (the attention alpha of that word over the regions, upsampled to 72x72 and laid
over the emoji). Also prints, over all held-out captions, the share of attention mass each
kind of word draws to its most-attended quarter of the image, and how peaked the maps of
colour words are against the others: seed 003 found attention mostly on colour words.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

COLOURS = {"red", "orange", "yellow", "green", "blue", "purple", "brown", "black", "white", "pink", "grey",
           "gray", "light", "dark", "medium"}


def peak(maps):
    """Share of a map's mass in its top 10 % of regions (0.1: flat; 1: one spot)."""
    flat = np.sort(maps.reshape(len(maps), -1), axis=1)[:, ::-1]
    return flat[:, : max(1, flat.shape[1] // 10)].sum(axis=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="a damsm run directory")
    p.add_argument("--figure", help="PNG of attention maps")
    p.add_argument("--rows", type=int, default=8)
    args = p.parse_args()
    import keras
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from emoji_t2i.data import load_dataset
    from emoji_t2i.data.images import to_unit_range
    from emoji_t2i.pipelines import load_run_model

    keras.config.set_dtype_policy("float32")
    model, tokenizer, _ = load_run_model(args.run, "damsm")
    data = load_dataset("embedded")
    vocabulary = tokenizer.get_vocabulary() if hasattr(tokenizer, "get_vocabulary") else None

    def maps_of(subset, indices):
        captions = [subset.captions[i][0] for i in indices]
        tokens = np.asarray(tokenizer(captions))
        images = to_unit_range(subset.images[indices].astype(np.float32))
        maps, mask = model.attention_maps(tokens, images)
        return captions, tokens, np.asarray(maps), np.asarray(mask)

    held = data.subset("heldout")
    _, tokens, maps, mask = maps_of(held, np.arange(len(held)))
    words = [[vocabulary[t] if vocabulary else str(t) for t in row] for row in tokens]
    kinds = {"colour": [], "other": []}
    for b in range(len(tokens)):
        for t in np.flatnonzero(mask[b]):
            kinds["colour" if words[b][t] in COLOURS else "other"].append(maps[b, t])
    for kind, found in kinds.items():
        if found:
            print(f"{kind} words: {len(found)}, median peak (mass in the top 10 % of regions) "
                  f"{np.median(peak(np.stack(found))):.3f}  (flat: 0.100)")
    if not args.figure:
        return
    train = data.subset("train")
    rng = np.random.default_rng(0)
    picks = [(train, i, "") for i in rng.choice(len(train), args.rows // 2, replace=False)]
    picks += [(held, i, "[held-out] ") for i in rng.choice(len(held), args.rows - args.rows // 2, replace=False)]
    columns = 1 + int(tokenizer([""]).shape[1])
    rows = []
    for subset, i, tag in picks:
        captions, tokens, maps, mask = maps_of(subset, np.array([i]))
        real = np.flatnonzero(mask[0])
        rows.append((tag + captions[0], subset.images[i], [(vocabulary[tokens[0, t]] if vocabulary else "",
                                                            maps[0, t]) for t in real]))
    columns = 1 + max(len(r[2]) for r in rows)
    fig, axes = plt.subplots(len(rows), columns, figsize=(1.3 * columns, 1.45 * len(rows)), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for r, (caption, image, word_maps) in enumerate(rows):
        axes[r, 0].imshow(image)
        axes[r, 0].set_title(caption[:28], fontsize=6, loc="left")
        for c, (word, m) in enumerate(word_maps, 1):
            axes[r, c].imshow(image[..., :3] * (image[..., 3:] > 0) + 255 * (image[..., 3:] == 0))
            axes[r, c].imshow(np.kron(m, np.ones((4, 4))), cmap="magma", alpha=0.6,
                              extent=(0, 72, 72, 0))
            axes[r, c].set_title(word, fontsize=7)
    fig.suptitle("DAMSM word attention over 18x18 regions", fontsize=9)
    fig.tight_layout()
    Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.figure, dpi=110)
    print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
