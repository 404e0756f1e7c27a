"""Condition annealing (CADS) on a diffusion preset: what each setting trades, by the project's
own evaluation, and what it looks like.

    python benchmarks/condition_annealing.py [--preset diffusion-emoji72] [--samples 200] \
        [--settings off 0.5,1.5,0.5 ...] [--figure docs/diffusion/condition_annealing.png]

Each setting (``off`` or ``tau_low,tau_high,noise_scale``) runs ``python -m emoji_t2i.evaluate
--preset P --samples N --set condition_annealing=S`` into
runs/sampling-sweep/<preset>/condition_annealing=<S>
(``benchmarks/sampling_sweep.py``, this sweep for any sampling option)
(kept: a rerun reads a finished report instead of sampling again), then one markdown row per
setting: R-precision, near copies and relative diversity on training / held-out prompts, FID,
and composition R-precision. ``--figure``: one row of 8 seeds per ``--figure-settings``
setting for each of ``--prompts``, the same seeds in every row.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sampling_sweep import arguments, check, figure, sweep  # noqa: E402

SETTINGS = ["off", "0.5,1.5,0.25", "0.5,1.5,0.5", "0.5,1.5,1.0", "0.6,0.9,0.25"]
FIGURE_SETTINGS = ["off", "0.5,1.5,0.5", "0.5,1.5,1.0", "0.6,0.9,0.25"]


def main() -> None:
    # a value alone (off, 0.5,1.5,0.5) is a condition_annealing setting
    args = arguments(SETTINGS, FIGURE_SETTINGS).parse_args()
    settings = [s if "=" in s else f"condition_annealing={s}" for s in args.settings]
    figure_settings = [s if "=" in s else f"condition_annealing={s}" for s in args.figure_settings]
    check(settings + figure_settings)
    sweep(args.preset, settings, args.samples, args.out, title="condition annealing")
    if args.figure:
        figure(args.preset, figure_settings, args.prompts, args.figure)


if __name__ == "__main__":
    main()
