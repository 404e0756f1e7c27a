"""What the sampling-option benchmarks (``negative_prompt.py``, ``inpaint.py``) share: a preset,
seeds, ``--set`` sampling options as ``evaluate --set`` takes them, and a figure path."""

from __future__ import annotations

import argparse
from pathlib import Path


def preset_parser(doc: str, seeds_help: str, figure_help: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="diffusion-emoji72")
    p.add_argument("--seeds", type=int, default=8, help=seeds_help)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a sampling option")
    p.add_argument("--figure", type=Path, help=figure_help)
    return p


def open_preset(args):
    """(the preset's pipeline, the ``--set`` options, a line that names the sampling)."""
    from emoji_t2i.console import quiet_tensorflow

    quiet_tensorflow()
    from emoji_t2i.evaluate import parse_options
    from emoji_t2i.pipelines import TextToImagePipeline

    options = parse_options(args.set)
    sampling = ", ".join(f"{k}={v}" for k, v in options.items()) or "its default sampling"
    seeds = f"{args.seeds} seed" + ("" if args.seeds == 1 else "s")
    return TextToImagePipeline.from_preset(args.preset), options, f"{args.preset}, {seeds}, {sampling}"
