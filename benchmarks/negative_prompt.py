"""Negative prompts on a diffusion preset: how far each one moves the drawings away from what it
names, and what that costs the prompt, read by the evaluation's matcher; and what it looks like.

    python benchmarks/negative_prompt.py [--preset diffusion-emoji72] [--seeds 8] \
        [--set guidance_interval=0,1e9 ...] [--figure docs/diffusion/negative_prompt.png]

For each (prompt, negative prompt) pair, ``--seeds`` images with and without the negative
prompt, from the same noises (seed 0), at the preset's sampling with ``--set`` sampling options (as
``evaluate --set`` takes them) on both sides. The matcher (``emoji_t2i/evaluation/judges``) embeds each
image and both texts; per pair, the mean cosine similarity of the images to the negative prompt
and to the prompt, and how often the matcher puts the image nearer the negative prompt than the
prompt ("read as the negative"). One markdown row per pair, then the medians over pairs.
``--figure``: the pairs of ``FIGURE_PAIRS``, a row without and a row with, 8 seeds each.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from preset_options import open_preset, preset_parser  # noqa: E402

# an attribute the prompt's drawings often carry (a skin tone, hair, a gender, a colour, a part),
# named as the dataset's captions name it
PAIRS = [("woman", "blond hair"), ("man", "beard"), ("person", "blond hair"), ("thumbs up", "dark skin tone"),
         ("thumbs up", "light skin tone"), ("waving hand", "medium skin tone"), ("ok hand", "dark skin tone"),
         ("clapping hands", "light skin tone"), ("police officer", "woman"), ("firefighter", "man"),
         ("construction worker", "man"), ("person running", "woman"), ("farmer", "woman"), ("teacher", "man"),
         ("cat face", "smiling"), ("smiling face", "open mouth"), ("face with tears of joy", "tears"),
         ("red heart", "red"), ("rocket", "fire"), ("christmas tree", "star"), ("dog", "face"),
         ("santa claus", "beard"), ("grinning face", "sweat"), ("crying cat", "tears")]
FIGURE_PAIRS = [("woman", "blond hair"), ("thumbs up", "light skin tone"), ("police officer", "woman"),
                ("red heart", "red")]


def similarities(judges, images, texts):
    """(N, len(texts)) cosine similarities of the matcher's image and text embeddings."""
    import numpy as np

    features, _ = judges.image_outputs(images)
    return judges.image_embeddings(features) @ np.asarray(judges.text_embeddings(texts)).T


def measure(pipe, judges, pairs, seeds: int, options: dict) -> list[dict]:
    rows = []
    for prompt, negative in pairs:
        plain = pipe.sample([prompt], seed=0, n=seeds, **options)
        away = pipe.sample([prompt], seed=0, n=seeds, negative_prompt=negative, **options)
        row = {"prompt": prompt, "negative": negative}
        for name, images in (("plain", plain), ("away", away)):
            sims = similarities(judges, images, [negative, prompt])
            row[name] = {"to_negative": float(sims[:, 0].mean()), "to_prompt": float(sims[:, 1].mean()),
                         "read_as_negative": float((sims[:, 0] > sims[:, 1]).mean())}
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    import numpy as np

    lines = ["| prompt | negative prompt | similarity to the negative: without → with | to the prompt | "
             "read as the negative |", "|---|---|---:|---:|---:|"]

    def cell(row, key, percent=False):
        a, b = row["plain"][key], row["away"][key]
        return f"{a:.0%} → {b:.0%}" if percent else f"{a:.2f} → {b:.2f}"

    for row in rows:
        lines.append(f"| {row['prompt']} | {row['negative']} | {cell(row, 'to_negative')} | "
                     f"{cell(row, 'to_prompt')} | {cell(row, 'read_as_negative', True)} |")
    median = {side: {key: float(np.median([r[side][key] for r in rows])) for key in rows[0]["plain"]}
              for side in ("plain", "away")}
    lines.append(f"| **median of {len(rows)}** | | {cell(median, 'to_negative')} | {cell(median, 'to_prompt')} | "
                 f"{cell(median, 'read_as_negative', True)} |")
    return "\n".join(lines)


def figure(pipe, pairs, path: Path, options: dict) -> None:
    import numpy as np

    from emoji_t2i.plotting import save_grid

    images, captions = [], []
    for prompt, negative in pairs:
        images += [pipe.sample([prompt], seed=1, n=8, **options),
                   pipe.sample([prompt], seed=1, n=8, negative_prompt=negative, **options)]
        captions += [prompt, *[""] * 7, f"{prompt}, negative prompt: {negative}", *[""] * 7]
    save_grid(path, np.concatenate(images), captions, columns=8)
    print(f"wrote {path}")


def main() -> None:
    args = preset_parser(__doc__, "images per pair and side",
                         "also draw FIGURE_PAIRS without and with into this PNG").parse_args()
    pipe, options, sampling = open_preset(args)
    from emoji_t2i.evaluation.judges import Judges

    start = time.perf_counter()
    rows = measure(pipe, Judges.load(), PAIRS, args.seeds, options)
    print(f"{sampling} per pair and side ({time.perf_counter() - start:.0f} s)\n")
    print(table(rows))
    if args.figure:
        figure(pipe, FIGURE_PAIRS, args.figure, options)


if __name__ == "__main__":
    main()
