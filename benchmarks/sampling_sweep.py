"""Sampling settings of a diffusion preset against each other, by the project's own evaluation,
and what they look like.

    python benchmarks/sampling_sweep.py --preset diffusion-emoji72-styles --samples 200 \
        --settings guidance_scale=2 guidance_scale=3 num_steps=10 "num_steps=6 guidance_interval=0.28,5.42" \
        [--figure docs/diffusion/styles_sampling.png --figure-settings ... --prompts ...]

A setting is one or more ``KEY=VALUE`` sampling options in one argument, as ``evaluate --set``
takes them. Each runs ``python -m emoji_t2i.evaluate --preset P --samples N --set ...`` into
runs/sampling-sweep/<preset>/<setting> (kept: a rerun reads a finished report instead of
sampling again), then one markdown row per setting: R-precision, near copies and relative
diversity on training / held-out prompts, FID, and composition R-precision. ``--figure``: one
row of 8 seeds per ``--figure-settings`` setting for each of ``--prompts``, the same seeds in
every row. ``benchmarks/condition_annealing.py`` is this sweep over ``condition_annealing``.
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

PROMPTS = ["crying cat", "woman firefighter"]  # a training caption; a held-out emoji


def options(setting: str) -> dict:
    from emoji_t2i.evaluate import parse_options

    return parse_options(setting.split())


def check(settings: list[str]) -> None:
    """Exits with evaluate's one-line error for a malformed setting, before any evaluation runs."""
    from emoji_t2i.errors import UsageError
    from emoji_t2i.pipelines.checks import check_sampling_options

    try:
        for setting in settings:
            check_sampling_options(options(setting))
    except UsageError as error:
        sys.exit(f"error: {error}")


def folder_name(setting: str) -> str:
    return "_".join(setting.split()).replace("/", "-")


def evaluate(preset: str, setting: str, samples: int, out: Path) -> dict:
    report = out / "report.json"
    if not report.exists():
        sets = [arg for item in setting.split() for arg in ("--set", item)]
        subprocess.run([sys.executable, "-m", "emoji_t2i.evaluate", "--preset", preset, "--samples", str(samples),
                        *sets, "--out", str(out)], check=True, cwd=ROOT)
    return json.loads(report.read_text())


def row(setting: str, report: dict) -> str:
    train, held = report["splits"]["train"], report["splits"]["heldout"]

    def pair(key, fmt):
        return f"{fmt.format(train[key])} / {fmt.format(held[key])}"

    return (f"| {setting} | {pair('r_precision', '{:.2f}')} | {pair('near_copy_fraction', '{:.1%}')} "
            f"| {pair('diversity_relative', '{:.2f}')} | {pair('fid', '{:.1f}')} "
            f"| {report['composition']['r_precision']:.3f} | {report.get('wall_seconds', float('nan')):.0f} |")


def figure(preset: str, settings: list[str], prompts: list[str], path: Path) -> None:
    import numpy as np

    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.plotting import save_grid

    pipe = TextToImagePipeline.from_preset(preset)
    images, captions = [], []
    for prompt in prompts:
        for setting in settings:
            images.append(pipe.sample([prompt], seed=1, n=8, **options(setting)))
            captions += [f"{prompt}: {setting}"] + [""] * 7
    save_grid(path, np.concatenate(images), captions, columns=8)
    print(f"wrote {path}")


def sweep(preset: str, settings: list[str], samples: int, out: Path, title: str = "setting") -> None:
    print(f"{preset}, {samples} prompts per split, seed 0; training / held-out prompts\n")
    print(f"| {title} | R-precision | near copies | diversity (relative) | FID | composition | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for setting in settings:
        report = evaluate(preset, setting, samples, out / Path(preset).name / folder_name(setting))
        print(row(setting, report), flush=True)


def arguments(settings: list[str], figure_settings: list[str] | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="diffusion-emoji72")
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--settings", nargs="+", default=settings, required=not settings)
    p.add_argument("--figure-settings", nargs="+", default=figure_settings)
    p.add_argument("--prompts", nargs="+", default=PROMPTS)
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "sampling-sweep")
    p.add_argument("--figure", type=Path, help="also draw the settings' samples into this PNG")
    return p


def main() -> None:
    args = arguments([]).parse_args()
    check(args.settings + (args.figure_settings or []))
    sweep(args.preset, args.settings, args.samples, args.out)
    if args.figure:
        figure(args.preset, args.figure_settings or args.settings, args.prompts, args.figure)


if __name__ == "__main__":
    main()
