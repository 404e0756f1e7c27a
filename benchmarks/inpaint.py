"""Inpainting on a diffusion preset: is the rest kept, how much of the region changes, and what
it looks like.

    python benchmarks/inpaint.py [--preset diffusion-emoji72] [--seeds 8] \
        [--set guidance_interval=0,1e9 ...] [--figure docs/diffusion/inpaint.png]

Each case starts from a real emoji of the embedded dataset (Google's drawing of the start's
caption) and redraws a region after a prompt that names another emoji, ``--seeds`` times
(seed 0), at the preset's sampling with ``--set`` options. Per case: "kept", the largest change
outside the region's feathered band, and "redrawn", the mean change inside its fully redrawn
core, both in premultiplied colour (0 to 1). ``--figure``: each case's start, then its results:
whether they show the new emoji is read from it. The evaluation's judges cannot say: its matcher
and classifier put most plain samples of these face prompts nearer the start's face too.
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

# (the start's caption, the region, the new prompt): a part another emoji draws differently
CASES = [("grinning face", "eyes", "smiling face with heart-eyes"),
         ("grinning face", "eyes", "smiling face with sunglasses"),
         ("slightly smiling face", "eyes", "star-struck"),
         ("neutral face", "eyes", "sleeping face"),
         ("grinning face", "mouth", "face with tongue"),
         ("slightly smiling face", "mouth", "face with open mouth"),
         ("neutral face", "mouth", "zipper-mouth face"),
         ("slightly smiling face", "mouth", "frowning face"),
         ("grinning face", "top", "face with cowboy hat"),
         ("slightly smiling face", "top", "partying face"),
         ("cat face", "eyes", "smiling cat with heart-eyes"),
         ("cat face", "mouth", "grinning cat")]


def start_image(data, caption: str):
    import numpy as np

    rows = [i for i, caps in enumerate(data.captions) if caption in caps and data.metadata["style"][i] == "google"]
    if not rows:
        raise SystemExit(f"no Google drawing captioned {caption!r} in the embedded dataset")
    return np.asarray(data.images[rows[0]])


def measure(pipe, data, seeds: int, options: dict):
    import numpy as np

    from emoji_t2i.data.images import premultiplied_unit
    from emoji_t2i.pipelines.editing import redraw_mask

    rows, grids = [], []
    for old, region, new in CASES:
        start = start_image(data, old)
        results = pipe.inpaint(start, new, mask=region, n=seeds, seed=0, **options)
        band = redraw_mask(region)[..., 0]
        change = np.abs(premultiplied_unit(results) - premultiplied_unit(start[None]))
        rows.append({"case": (old, region, new), "kept": float(change[:, band == 0].max()),
                     "redrawn": float(change[:, band == 1].mean())})
        grids.append((start, results))
    return rows, grids


def table(rows) -> str:
    import numpy as np

    lines = ["| start | region | new prompt | kept (largest change outside) | redrawn (mean change inside) |",
             "|---|---|---|---:|---:|"]
    for r in rows:
        old, region, new = r["case"]
        lines.append(f"| {old} | {region} | {new} | {r['kept']:.4f} | {r['redrawn']:.3f} |")
    lines.append(f"| **median of {len(rows)}** | | | {np.median([r['kept'] for r in rows]):.4f} | "
                 f"{np.median([r['redrawn'] for r in rows]):.3f} |")
    return "\n".join(lines)


def main() -> None:
    args = preset_parser(__doc__, "results per case",
                         "also draw each case's start and its results into this PNG").parse_args()
    pipe, options, sampling = open_preset(args)
    import numpy as np

    from emoji_t2i.data import load_dataset
    from emoji_t2i.plotting import save_grid

    began = time.perf_counter()
    rows, grids = measure(pipe, load_dataset(), args.seeds, options)
    print(f"{sampling} per case ({time.perf_counter() - began:.0f} s)\n")
    print(table(rows))
    if args.figure:
        images = np.concatenate([np.concatenate([start[None], results]) for start, results in grids])
        captions = [c for (old, region, new) in CASES
                    for c in (f"{old}", f"{region} → {new}", *[""] * (args.seeds - 1))]
        save_grid(args.figure, images, captions, columns=args.seeds + 1)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
