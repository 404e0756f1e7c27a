"""Condition annealing (CADS) on a diffusion preset: what each setting trades, by the project's
own evaluation, and what it looks like.

    python benchmarks/condition_annealing.py [--preset diffusion-emoji72] [--samples 200] \
        [--settings off 0.5,1.5,0.5 ...] [--figure docs/diffusion/condition_annealing.png]

Each setting (``off`` or ``tau_low,tau_high,noise_scale``) runs ``python -m emoji_t2i.evaluate
--preset P --samples N --set condition_annealing=S`` into runs/condition-annealing/<preset>/<S>
(kept: a rerun reads a finished report instead of sampling again), then one markdown row per
setting: R-precision, near copies and relative diversity on training / held-out prompts, FID,
and composition R-precision. ``--figure``: one row of 8 seeds per ``--figure-settings``
setting for each of ``--prompts``, the same seeds in every row.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SETTINGS = ["off", "0.5,1.5,0.25", "0.5,1.5,0.5", "0.5,1.5,1.0", "0.6,0.9,0.25"]
FIGURE_SETTINGS = ["off", "0.5,1.5,0.5", "0.5,1.5,1.0", "0.6,0.9,0.25"]
PROMPTS = ["crying cat", "woman firefighter"]  # a training caption; a held-out emoji it answers with a copy


def evaluate(preset: str, setting: str, samples: int, out: Path) -> dict:
    report = out / "report.json"
    if not report.exists():
        subprocess.run([sys.executable, "-m", "emoji_t2i.evaluate", "--preset", preset, "--samples", str(samples),
                        "--set", f"condition_annealing={setting}", "--out", str(out)], check=True, cwd=ROOT)
    return json.loads(report.read_text())


def row(setting: str, report: dict) -> str:
    train, held = report["splits"]["train"], report["splits"]["heldout"]

    def pair(key, fmt):
        return f"{fmt.format(train[key])} / {fmt.format(held[key])}"

    return (f"| {setting} | {pair('r_precision', '{:.2f}')} | {pair('near_copy_fraction', '{:.1%}')} "
            f"| {pair('diversity_relative', '{:.2f}')} | {pair('fid', '{:.1f}')} "
            f"| {report['composition']['r_precision']:.3f} |")


def figure(preset: str, settings: list[str], prompts: list[str], path: Path) -> None:
    import numpy as np

    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.plotting import save_grid

    pipe = TextToImagePipeline.from_preset(preset)
    images, captions = [], []
    for prompt in prompts:
        for setting in settings:
            images.append(pipe.sample([prompt], seed=1, n=8, condition_annealing=setting))
            captions += [f"{prompt}: {setting}"] + [""] * 7
    save_grid(path, np.concatenate(images), captions, columns=8)
    print(f"wrote {path}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="diffusion-emoji72")
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--settings", nargs="+", default=SETTINGS)
    p.add_argument("--figure-settings", nargs="+", default=FIGURE_SETTINGS)
    p.add_argument("--prompts", nargs="+", default=PROMPTS)
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "condition-annealing")
    p.add_argument("--figure", type=Path, help="also draw the settings' samples into this PNG")
    args = p.parse_args()
    print(f"{args.preset}, {args.samples} prompts per split, seed 0; training / held-out prompts\n")
    print("| condition annealing | R-precision | near copies | diversity (relative) | FID | composition |")
    print("|---|---:|---:|---:|---:|---:|")
    for setting in args.settings:
        report = evaluate(args.preset, setting, args.samples, args.out / Path(args.preset).name / setting)
        print(row(setting, report), flush=True)
    if args.figure:
        figure(args.preset, args.figure_settings, args.prompts, args.figure)


if __name__ == "__main__":
    main()
