"""The StyleGAN figures and numbers in docs/models/stylegan.md and the model cards, from the shipped presets
(or any run/preset): samples at two truncations, SeFa directions, network blending, and
projection of held-out emoji (with its wall time on this CPU).

    python benchmarks/stylegan_figures.py --out docs/stylegan
    python benchmarks/stylegan_figures.py --model runs/stylegan --first runs/google --second runs/twitter
    python benchmarks/stylegan_figures.py --compare runs/a runs/b --out docs/stylegan/compare.png   # a row each
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="stylegan-emoji72")
    p.add_argument("--first", default="stylegan-emoji72-google")
    p.add_argument("--second", default="stylegan-emoji72-twitter")
    p.add_argument("--out", type=Path, default=Path("docs/stylegan"))
    p.add_argument("--project", type=int, default=6, help="held-out emoji to project")
    p.add_argument("--steps", type=int, default=200, help="projection steps")
    p.add_argument("--compare", nargs="+", metavar="RUN",
                   help="only draw these runs or presets, seeds 0-7 at psi 1 in a row each, to --out (a .png)")
    p.add_argument("--labels", nargs="+", help="with --compare: a caption per row")
    args = p.parse_args(argv)
    if args.labels and len(args.labels) != len(args.compare or ()):
        p.error(f"--labels: give one per --compare source ({len(args.compare or ())}), not {len(args.labels)}")
    if args.compare:
        if args.out.suffix != ".png":
            p.error(f"--out {args.out}: with --compare give the figure's file, e.g. --out docs/stylegan/compare.png")
        return compare(args.compare, args.labels or [Path(c).name for c in args.compare], args.out)
    from emoji_t2i.blend import main as blend_main
    from emoji_t2i.data import load_dataset
    from emoji_t2i.directions import main as directions_main
    from emoji_t2i.pipelines.stylegan import StyleGANPipeline
    from emoji_t2i.plotting import save_grid

    args.out.mkdir(parents=True, exist_ok=True)
    pipe = StyleGANPipeline.load(args.model)
    start = time.perf_counter()
    rows = [pipe.sample(8, seed=0, truncation_psi=psi) for psi in (0.5, 0.7, 1.0)]
    sampling_ms = (time.perf_counter() - start) / 24 * 1000
    save_grid(args.out / "samples.png", np.concatenate(rows),
              [f"psi {psi}" if i == 0 else "" for psi in (0.5, 0.7, 1.0) for i in range(8)], columns=8, scale=2,
              caption_lines=1, title=f"{Path(args.model).name}: seeds 0-7 at truncation psi 0.5 / 0.7 / 1.0")
    save_grid(args.out / "samples_many.png", pipe.sample(48, seed=1, truncation_psi=0.7), columns=12, scale=1,
              title="48 samples (seed 1), truncation psi 0.7")
    directions_main(["--preset" if not (Path(args.model) / "checkpoints").is_dir() else "--run", args.model,
                     "--figure", str(args.out / "sefa.png"), "--seed", "3"])
    blend_main([args.first, args.second, "--figure", str(args.out / "blend.png"), "-n", "6"])
    data = load_dataset()
    held = np.flatnonzero(data.split == "heldout")
    rows = np.random.default_rng(0).choice(held, args.project, replace=False)
    directions = pipe.directions(5)
    images, captions, seconds, losses = [], [], [], []
    for i in rows:
        w, projected, curve = pipe.project(data.images[i], steps=args.steps)
        seconds.append(pipe.last_projection_seconds)
        losses.append([float(curve[0]), float(curve[-1])])
        edited = pipe.synthesize(np.concatenate([pipe.edit(w, directions, np.eye(5)[0] * s) for s in (-2, 2)]))
        images += [data.images[i], projected[0], edited[0], edited[1]]
        captions += [data.captions[i][0][:28], "projection", "dir 0: -2", "dir 0: +2"]
    save_grid(args.out / "projection.png", np.stack(images), captions, columns=4, scale=2, caption_lines=2,
              title=f"held-out emoji projected into w ({args.steps} steps), then edited along SeFa direction 0")
    report = {"sampling_ms_per_emoji_batch8": round(sampling_ms, 1),
              "projection_seconds": [round(s, 1) for s in seconds],
              "projection_seconds_median": round(float(np.median(seconds)), 1),
              "projection_loss_first_last": losses, "steps": args.steps}
    (args.out / "numbers.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


def compare(sources, labels, out: Path) -> int:
    """One row per run or preset, the same eight z (seeds 0-7, psi 1): what two recipes made of one start."""
    from emoji_t2i.pipelines.stylegan import StyleGANPipeline
    from emoji_t2i.plotting import save_grid

    rows, captions = [], []
    for source, label in zip(sources, labels, strict=True):
        rows.append(StyleGANPipeline.load(source).sample(8, seed=0, truncation_psi=1.0))
        captions += [label] + [""] * 7
    save_grid(out, np.concatenate(rows), captions, columns=8, scale=2, caption_lines=1,
              title="seeds 0-7, truncation psi 1.0, a row per run")
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
