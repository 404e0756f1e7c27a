"""Evaluate a run (or the real-data ceiling, or the noise floor) with the shipped judges.

    python -m emoji_t2i.evaluate --run runs/default-cgan    # writes runs/default-cgan/eval
    python -m emoji_t2i.evaluate --preset diffusion-emoji72  # writes runs/eval-diffusion-emoji72
    python -m emoji_t2i.evaluate --real      # the ceiling, runs/eval-real
    python -m emoji_t2i.evaluate --noise     # the floor, runs/eval-noise
    python -m emoji_t2i.evaluate --preset diffusion-emoji72 --composition-only --out runs/comp

Writes report.json and report.md (FID, KID, IS, R-precision overall and per emoji category,
text-image similarity, memorisation, per-prompt diversity, on training and held-out prompts;
R-precision on 120 composition prompts such as "octopus wearing a top hat" against
distractors that share one part, read through the judges' composition caption side and,
for comparison, the matcher's own) with sample grids.
The judges are in-domain networks trained here (emoji_t2i/evaluation/judges/), so the
numbers compare this zoo's models with each other and with the real data, not with papers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoji_t2i.errors import EmojiT2IError, UsageError

MEANINGFUL_SAMPLES = 100  # below this, the figures are noise (the protocol's default is 1,000)


def parse_options(items: list[str]) -> dict:
    """``--set KEY=VALUE`` sampling options: numbers parsed, and numbers joined by commas
    (``guidance_interval=0.28,5.42``, ``condition_annealing=0.5,1.5,0.5``) as a tuple."""
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE, e.g. --set num_steps=20")
        parts = [_number(part) for part in value.split(",")]
        numbers = len(parts) > 1 and not any(isinstance(part, str) for part in parts)
        options[key.strip()] = tuple(float(part) for part in parts) if numbers else _number(value)
    return options


def _number(value: str):
    try:
        return int(value) if value.strip().lstrip("-").isdigit() else float(value)
    except ValueError:
        return value


def default_out(args: argparse.Namespace) -> Path:
    """Where a report goes without --out: beside the run, or runs/eval-NAME. A composition-only
    report has a folder of its own, so that it never replaces a full report."""
    suffix = "-composition" if args.composition_only else ""
    if args.run:
        return Path(args.run) / f"eval{suffix}"
    if args.preset:
        preset = Path(args.preset)
        # a run's preset folder is called "preset": the report is named after its run
        name = preset.parent.name if preset.name == "preset" else preset.name
    else:
        name = "real" if args.real else "noise"
    return Path("runs") / f"eval-{name}{suffix}"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m emoji_t2i.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", help="a run directory of a generator model")
    which.add_argument("--preset", help="a shipped preset's name or a preset folder")
    which.add_argument("--real", action="store_true", help="the partner style's real images: the ceiling")
    which.add_argument("--noise", action="store_true", help="uniform noise images: the floor")
    p.add_argument("--out", type=Path, help="folder for report.json, report.md and grids (default: RUN/eval, "
                                            "or runs/eval-PRESET, runs/eval-real, runs/eval-noise)")
    p.add_argument("--samples", type=int, default=1000,
                   help="prompts per split, at most (held-out has 216; default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="dataset spec (default: the embedded artifact)")
    p.add_argument("--reference-style", default=None,
                   help="the style whose drawings are the reference (default google; the ceiling "
                        "is then twitter's, else google's)")
    p.add_argument("--judges", help="folder of the evaluation networks (default: the shipped judges)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="sampling option (diffusion: num_steps, guidance_scale, sampler, "
                        "condition_annealing=0.5,1.5,0.5)")
    p.add_argument("--composition-only", action="store_true",
                   help="only the 120 composition prompts (4 samples each): a minute, not a quarter hour")
    return p


def main(argv=None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    if args.composition_only and (args.real or args.noise):
        p.error("--composition-only: real images and noise answer no composition prompt; "
                "pass --run or --preset")
    if args.samples < 2:
        p.error(f"--samples {args.samples}: need at least 2 per split for FID and KID")
    small = args.samples < MEANINGFUL_SAMPLES and not args.composition_only
    args.out = args.out or default_out(args)

    from emoji_t2i.console import check_writable, quiet_tensorflow

    quiet_tensorflow()
    from emoji_t2i.data import load_dataset
    from emoji_t2i.evaluation import sources
    from emoji_t2i.evaluation.judges import JUDGES_DIR, Judges
    from emoji_t2i.evaluation.protocol import comparison_styles
    from emoji_t2i.evaluation.report import evaluate
    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.pipelines.checks import check_sampling_options

    try:
        if not 0 <= args.seed <= sources.MAX_EVAL_SEED:  # numpy refused a negative one, the pipeline a large one, late
            raise UsageError(f"--seed {args.seed}: use a whole number from 0 to {sources.MAX_EVAL_SEED}")
        options = parse_options(args.set)
        check_sampling_options(options)  # before the data, the model and the judges load
        check_writable(args.out, "--out", folder=True)
        ds = load_dataset(args.data)
        if args.run or args.preset:
            pipe = (TextToImagePipeline.from_run(args.run) if args.run
                    else TextToImagePipeline.from_preset(args.preset))
            options = pipe.check_options(options)  # a key the model does not take, before the judges load
            source = sources.PipelineSource(pipe, args.run or args.preset, options,
                                            styles=comparison_styles(ds, args.reference_style))
        else:
            if options:
                raise UsageError(f"--set {args.set[0]}: --{'real' if args.real else 'noise'} samples no model; "
                                 "sampling options go with --run or --preset")
            source = sources.RealSource(ds) if args.real else sources.NoiseSource()
        judges = Judges.load(args.judges or JUDGES_DIR)
        report = evaluate(source, ds, judges, args.samples, args.seed, args.out, args.reference_style,
                          splits=() if args.composition_only else ("train", "heldout"))
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for split, values in report["splits"].items():
        print(f"{split:8s} FID {values['fid']:.1f}  KID {1000 * values['kid']:.1f}e-3  "
              f"IS {values['inception_score']:.2f}  R-prec {values['r_precision']:.3f}  "
              f"near copies {values['near_copy_fraction']:.1%}  diversity {values['diversity_relative']:.2f}")
    if report["composition"]:
        c = report["composition"]
        print(f"composition ({c['prompts']} prompts x {c['samples'] // c['prompts']}): R-prec {c['r_precision']:.3f} "
              f"(chance {c['chance']:.3f}), subject {c['subject_recognised']:.2f}, "
              f"attribute {c['attribute_recognised']:.2f} (read through the {c.get('reader', 'matcher')})")
        if "matcher" in c:
            m = c["matcher"]
            print(f"  through the matcher's single-emoji caption side: R-prec {m['r_precision']:.3f}, "
                  f"subject {m['subject_recognised']:.2f}, attribute {m['attribute_recognised']:.2f}")
    if small:
        print(f"warning: --samples {args.samples}: FID, KID, IS and R-precision mean little below "
              f"{MEANINGFUL_SAMPLES} samples per split (R-precision ranks each prompt against 99 other "
              f"captions); read these figures as a smoke test only", file=sys.stderr)
    print(f"wrote {args.out}/report.md in {report['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
