"""``python -m emoji_t2i.train_jax``: train the diffusion U-Net on a GPU that has JAX but no TensorFlow.

Three steps; the middle one imports no TensorFlow (see ``training/jax_diffusion.py``):

    # 1. here (TensorFlow): training images, cached minilm caption features, warm-start weights
    python -m emoji_t2i.train_jax bundle --init-from diffusion-emoji72 --out runs/bundle
    # 2. on the GPU machine (Keras 3 on JAX): train; --resume continues a run from state/
    python -m emoji_t2i.train_jax train --bundle runs/bundle --out runs/gpu --steps 30000 --minutes 9
    python -m emoji_t2i.train_jax train --bundle runs/bundle --out runs/gpu --resume --minutes 9
    # or as many steps as 9 minutes hold, the cosine decay ending with them (measured as it goes)
    python -m emoji_t2i.train_jax train --bundle runs/bundle --out runs/gpu --minutes 9 --fit-schedule
    # 3. here again: a preset that generate / evaluate / export / the app load like any other
    python -m emoji_t2i.train_jax finish --run runs/gpu --out runs/gpu/preset

Distillation (``training/jax_distill.py``) is step 2 on a bundle of the preset to distil: every
stage, 2 x 8 guided steps -> 8 -> 4, in one command; ``finish`` makes the last student a preset:

    python -m emoji_t2i.train_jax distill --bundle runs/bundle --out runs/distill --stages 8,4 --stage-steps 4000
    # or each stage an equal share of 9 minutes, its length fitted to it as it goes
    python -m emoji_t2i.train_jax distill --bundle runs/bundle --out runs/distill --minutes 9 --fit-schedule
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
from pathlib import Path

DISTILL_DEFAULTS = {"stages": [8, 4], "batch_size": 128, "lr": 1e-4, "warmup_steps": 100,
                    "guidance_range": [1.0, 5.0], "seed": 0, "precision": "float32",
                    "checkpoint_minutes": 2.0, "log_seconds": 30.0}
STYLEGAN_DEFAULTS = {"batch_size": 32, "g_lr": 2e-3, "d_lr": 2e-4, "beta_1": 0.0, "beta_2": 0.99, "seed": 0,
                     "precision": "float32", "checkpoint_minutes": 2.0, "log_seconds": 30.0}
TRAIN_DEFAULTS = {"batch_size": 256, "lr": 5e-4, "warmup_steps": 200, "weight_decay": 0.01,
                  "beta_1": 0.9, "beta_2": 0.99, "ema_decay": 0.999, "seed": 0,
                  "precision": "mixed_bfloat16", "checkpoint_minutes": 2.0, "log_seconds": 30.0,
                  "probe_every": 1000, "balance": "none"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m emoji_t2i.train_jax", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bundle", help="(TensorFlow) write what the JAX trainer reads")
    b.add_argument("--init-from", default="diffusion-emoji72", help="a diffusion preset (name or folder)")
    b.add_argument("--out", type=Path, required=True, help="bundle folder to write")
    b.add_argument("--data", default="embedded", help="'embedded' or a folder with captions.csv")
    b.add_argument("--style", "--vendor", dest="style", default="",
                   help="only these styles' training images, comma-separated (google,twitter)")
    b.add_argument("--limit", type=int, help="only the first N training images (tests)")
    b.add_argument("--identities", type=int,
                   help="only N training emoji drawn at random, in every style (a run that shows memorisation)")
    b.add_argument("--composites", type=int, default=0,
                   help="add N drawings of a subject wearing another emoji ('octopus wearing a crown'; "
                        "never a pair the composition prompts ask for)")
    b.add_argument("--no-weights", action="store_true",
                   help="leave the preset's weights out: train from scratch (its architecture only)")
    b.add_argument("--cross-attention", action="store_true",
                   help="a U-Net that also attends over minilm's token features (the bundle carries minilm)")
    b.add_argument("--style-conditioning", action="store_true",
                   help="a U-Net conditioned on the image's style (any style when dropped)")
    b.add_argument("--no-probe", action="store_true",
                   help="leave out the probe (its prompts, judges and near-copy threshold; ~5 MB)")
    b.add_argument("--parts", type=int, default=1,
                   help="split the images over this many files (a bundle that travels in several calls)")

    t = sub.add_parser("train", help="(JAX) train the U-Net into a run folder")
    t.add_argument("--bundle", type=Path, required=True)
    t.add_argument("--out", type=Path, required=True, help="run folder (config.json, log.jsonl, state/)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from state/")
    t.add_argument("--steps", type=int, help="total optimiser steps (sets the cosine schedule's length)")
    t.add_argument("--minutes", type=float, help="stop (with a checkpoint) after this much training")
    t.add_argument("--fit-schedule", action="store_true", default=None,
                   help="fit the run's length to --minutes as it goes, from the measured speed (probes "
                        "included), so the cosine decay ends when the minutes do; --steps becomes a cap")
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--g-lr", type=float, help="a StyleGAN bundle: G's learning rate (default 2e-3)")
    t.add_argument("--d-lr", type=float, help="a StyleGAN bundle: D's learning rate (default 2e-4)")
    t.add_argument("--warmup-steps", type=int)
    t.add_argument("--ema-decay", type=float)
    t.add_argument("--text-noise", type=float,
                   help="noise on the text features relative to their RMS (default: the bundle's preset's)")
    t.add_argument("--augment", type=float, dest="augment_probability",
                   help="EDM's non-leaky geometric augmentation: probability of each transform "
                        "(default: the bundle's preset's, 0 = none)")
    t.add_argument("--dropout", type=float,
                   help="dropout rate in the U-Net's residual blocks in training (default: the bundle's "
                        "preset's, 0 = none)")
    t.add_argument("--no-keyword-subsets", dest="keyword_subsets", action="store_false", default=None,
                   help="train on each image's own captions only, not the packed bundle's keyword subsets")
    t.add_argument("--balance", choices=("none", "identity"),
                   help="'identity' draws every emoji in every style alike, its skin tones sharing its turn "
                        "(People & Body falls from 55 %% of the draws to 18 %%); default none: as stored")
    t.add_argument("--style-dropout", type=float,
                   help="share of examples trained with the style dropped to 'any' (default 0.3)")
    t.add_argument("--snapshots", type=str,
                   help="fractions of --steps at which to keep the EMA (float16), e.g. 0.5,0.75")
    t.add_argument("--probe-every", type=int,
                   help="measure the probe (near copies, R-precision) every N steps and keep the EMA its "
                        "rule chooses (default 1000 if the bundle has a probe; 0: never)")
    t.add_argument("--probe-steps", type=int, help="sampling steps of the probe (default: the preset's)")
    t.add_argument("--seed", type=int)
    t.add_argument("--precision", choices=("float32", "mixed_bfloat16"),
                   help="dtype policy (default mixed_bfloat16: no loss scaling needed)")
    t.add_argument("--checkpoint-minutes", type=float)
    t.add_argument("--log-seconds", type=float)

    d = sub.add_parser("distill", help="(JAX) distil the bundle's U-Net into a few-step student, stage by stage")
    d.add_argument("--bundle", type=Path, required=True, help="a bundle with weights (the teacher)")
    d.add_argument("--out", type=Path, required=True, help="run folder (config.json, log.jsonl, state/, stages/)")
    d.add_argument("--resume", action="store_true", help="continue the run in --out from state/")
    d.add_argument("--stages", type=str, help="the students' sampling steps, each half the last, e.g. 8,4 "
                                              "(the first teacher takes twice the first)")
    d.add_argument("--stage-steps", type=int, help="optimiser steps per stage")
    d.add_argument("--extend-last", type=int, metavar="STEPS",
                   help="with --resume, a finished run: its last stage again for STEPS more optimiser steps "
                        "from its student, the rate warmed up and decayed anew (--lr and --warmup-steps may "
                        "change for it; with --fit-schedule fitted to --minutes, STEPS a cap); its student "
                        "file is replaced")
    d.add_argument("--minutes", type=float, help="stop (with a checkpoint) after this much distillation")
    d.add_argument("--fit-schedule", action="store_true", default=None,
                   help="give each stage an equal share of the --minutes left and fit its length to it "
                        "from the measured speed, so each decay ends with its share; --stage-steps "
                        "becomes a cap")
    d.add_argument("--batch-size", type=int)
    d.add_argument("--lr", type=float)
    d.add_argument("--warmup-steps", type=int)
    d.add_argument("--guidance-range", type=float, nargs=2, metavar=("LOW", "HIGH"),
                   help="guidance scales the student learns, drawn uniformly (default 1 5)")
    d.add_argument("--guidance-interval", type=float, nargs=2, metavar=("LOW", "HIGH"),
                   help="the first teacher guides only where sigma/alpha is in (LOW, HIGH] "
                        "(default: its preset's)")
    d.add_argument("--seed", type=int)
    d.add_argument("--precision", choices=("float32", "mixed_bfloat16"))
    d.add_argument("--checkpoint-minutes", type=float)
    d.add_argument("--log-seconds", type=float)

    f = sub.add_parser("finish", help="(TensorFlow) write a preset from a JAX run")
    f.add_argument("--run", type=Path, required=True)
    f.add_argument("--out", type=Path, required=True, help="preset folder to write")
    f.add_argument("--init-from", help="the preset the bundle came from (default: the bundle's own)")
    f.add_argument("--snapshot", type=Path, help="an EMA the run kept along the way (snapshots/ema-STEP.npz) "
                                                 "instead of the last one")
    f.add_argument("--final", action="store_true",
                   help="the run's last EMA, even where its probe chose an earlier one (probe/ema-best.npz)")
    f.add_argument("--stage", type=int, help="a distillation run: the student of this many steps "
                                              "(default: the last finished)")
    return p


# (lowest, highest, whether the lowest itself is allowed) of train's and distill's numbers: a
# value outside is a one-line error before a run folder, a bundle or a device is touched
BOUNDS = {"steps": (1, math.inf, True), "stage_steps": (1, math.inf, True), "batch_size": (1, math.inf, True),
          "minutes": (0, math.inf, False), "checkpoint_minutes": (0, math.inf, False),
          "log_seconds": (0, math.inf, True), "lr": (0, math.inf, False), "g_lr": (0, math.inf, False),
          "d_lr": (0, math.inf, False), "warmup_steps": (0, math.inf, True), "ema_decay": (0, 1, True),
          "text_noise": (0, math.inf, True), "augment_probability": (0, 1, True), "dropout": (0, 1, True),
          "style_dropout": (0, 1, True), "probe_every": (0, math.inf, True), "probe_steps": (1, math.inf, True),
          "extend_last": (1, math.inf, True)}


def check_bounds(args) -> str | None:
    """The first flag given outside its range, as an error line."""
    for key, (low, high, closed) in BOUNDS.items():
        value = getattr(args, key, None)
        if value is None:
            continue
        if not (low <= value if closed else low < value) or not value <= high:
            above = f"of at least {low}" if closed else f"above {low}"
            span = above if high == math.inf else f"from {low} to {high}"
            return f"{_flag(key)} {value}: use a number {span}"
    return None


def _run_config(args, on_resume, required: tuple[str, str], defaults: dict, options,
                own: tuple[str, ...] = ()) -> dict | None:
    """The run's config: read back from ``--out`` with ``--resume`` (the ``on_resume`` options
    given override it), else ``defaults`` with the ``options`` given; None after a one-line
    error when neither can be (no run to resume, a run already there, a required option missing,
    or on ``--resume`` an option that would change the run: it keeps its own, and ignoring the
    flag silently trained on at the old value). ``own``: options this command reads itself."""
    from emoji_t2i.console import check_writable
    from emoji_t2i.errors import UsageError

    try:
        check_writable(args.out, "--out", folder=True)  # before minutes of training, not at the first checkpoint
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return None
    config_path = args.out / "config.json"
    if args.resume:
        if not config_path.exists():
            print(f"error: --resume: {config_path} not found; start the run without --resume", file=sys.stderr)
            return None
        config = json.loads(config_path.read_text())
        for key in options:
            value = getattr(args, key, None)
            if key not in (*on_resume, *own) and value is not None and value != config.get(key):
                print(f"error: {_flag(key)} {value}: a resumed run keeps its own ({config.get(key)}); leave it "
                      "out, or start a new run in another --out", file=sys.stderr)
                return None
        config.update({k: getattr(args, k) for k in on_resume if getattr(args, k, None) is not None})
        return config
    if config_path.exists():
        print(f"error: {args.out} already holds a run; pass --resume to continue it or a new --out", file=sys.stderr)
        return None
    flag, why = required
    if not getattr(args, flag):
        print(f"error: --{flag.replace('_', '-')} is required for a new run ({why})", file=sys.stderr)
        return None
    return {**defaults, **{k: getattr(args, k) for k in options if getattr(args, k, None) is not None}}


def _flag(key: str) -> str:
    return {"augment_probability": "--augment", "keyword_subsets": "--no-keyword-subsets"}.get(
        key, "--" + key.replace("_", "-"))


def _write_run_config(config: dict, meta: dict, out: Path) -> None:
    """The resolved config, with the bundle's metadata, the devices and this command, as
    ``out``/config.json."""
    import jax

    devices = jax.local_devices()
    config["bundle_meta"] = meta
    config["device"] = (f"{len(devices)} x " if len(devices) > 1 else "") + \
        f"{devices[0].platform}: {getattr(devices[0], 'device_kind', devices[0])}"
    config.setdefault("commands", []).append("python -m emoji_t2i.train_jax " + shlex.join(sys.argv[1:]))
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def _launch(run_fn, config: dict, meta: dict, args, what: str) -> int:
    """Write the run's config, say ``what`` runs where, run ``run_fn(config, out, resume, log)``;
    the progress as JSON on stdout, or a one-line error."""
    from emoji_t2i.errors import EmojiT2IError

    _write_run_config(config, meta, args.out)
    print(f"{what} on {config['device']} ({config['precision']}), run {args.out}", file=sys.stderr)
    try:
        progress = run_fn(config, args.out, resume=args.resume, log=lambda m: print(m, file=sys.stderr, flush=True))
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(progress))
    return 0


def _use_jax() -> bool:
    os.environ["KERAS_BACKEND"] = "jax"
    if "keras" in sys.modules and sys.modules["keras"].backend.backend() != "jax":
        print("error: keras was imported with another backend; run python -m emoji_t2i.train_jax "
              "in a fresh process", file=sys.stderr)
        return False
    return True


def _distill(args) -> int:
    stages = None
    if args.stages:
        try:
            stages = [int(n) for n in args.stages.split(",")]
        except ValueError:
            stages = []
        halving = all(a == 2 * b for a, b in zip(stages, stages[1:], strict=False))
        if not stages or min(stages) < 1 or not halving:
            print(f"error: --stages {args.stages}: give whole step counts, each half the last, e.g. 8,4,2",
                  file=sys.stderr)
            return 2
    if args.extend_last and not args.resume:
        print("error: --extend-last continues a finished run: give --resume and its --out", file=sys.stderr)
        return 2
    if not _use_jax():
        return 2
    from emoji_t2i.errors import EmojiT2IError
    from emoji_t2i.training.jax_diffusion import read_bundle_meta
    from emoji_t2i.training.jax_distill import distill

    try:
        meta = read_bundle_meta(args.bundle)
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    config = _run_config(args, ("checkpoint_minutes", "log_seconds"),
                         ("fit_schedule" if args.fit_schedule else "stage_steps", "each stage's length"),
                         {"kind": "distill", **DISTILL_DEFAULTS},
                         ("stage_steps", "batch_size", "lr", "warmup_steps", "guidance_range", "seed", "precision",
                          "checkpoint_minutes", "log_seconds", "fit_schedule"),
                         own=("lr", "warmup_steps") if args.extend_last else ())
    if config is None:
        return 2
    for flag, given, key in (("--stages", stages, "stages"),
                             ("--guidance-interval", args.guidance_interval, "guidance_interval")):
        if args.resume and given and list(given) != config.get(key):  # read apart from _run_config's options
            print(f"error: {flag} {','.join(map(str, given))}: a resumed run keeps its own ({config.get(key)}); "
                  "leave it out, or start a new run in another --out", file=sys.stderr)
            return 2
    if config.get("fit_schedule") and not args.minutes:  # a new run's and a resumed one's alike
        print("error: --fit-schedule fits each stage's length to its share of --minutes; give --minutes "
              "(on --resume too)", file=sys.stderr)
        return 2
    if not args.resume:
        if stages:
            config["stages"] = stages
        sampling = meta.get("sampling", {})
        config["guidance_interval"] = args.guidance_interval or sampling.get("guidance_interval")
        config["teacher_sampling"] = sampling
    config["bundle"] = str(args.bundle)
    config["minutes"] = args.minutes  # a budget for this process, not the run's
    # this command's, not the run's (a later --resume only resumes); its own peak rate and warmup
    # when given, for a warm restart from a trained student, leaving the run's as they were
    config["extension"] = ({"steps": args.extend_last, "lr": args.lr, "warmup_steps": args.warmup_steps}
                           if args.extend_last else None)
    return _launch(distill, config, meta, args, f"distilling {2 * config['stages'][0]} -> "
                   f"{' -> '.join(map(str, config['stages']))} steps")


def _train_stylegan(args, meta: dict) -> int:
    from emoji_t2i.training.jax_stylegan import train

    config = _run_config(args, ("steps", "checkpoint_minutes", "log_seconds"), ("steps", "the run's length"),
                         {"kind": "stylegan", **STYLEGAN_DEFAULTS}, [*STYLEGAN_DEFAULTS, "steps"])
    if config is None:
        return 2
    config["minutes"], config["bundle"] = args.minutes, str(args.bundle)
    return _launch(train, config, meta, args, "training a StyleGAN")


def _train(args) -> int:
    if not _use_jax():
        return 2
    from emoji_t2i.errors import EmojiT2IError
    from emoji_t2i.training.jax_diffusion import read_bundle_meta, train

    try:
        meta = read_bundle_meta(args.bundle)
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if meta.get("kind") == "stylegan":
        return _train_stylegan(args, meta)

    options = [*TRAIN_DEFAULTS, "steps", "text_noise", "style_dropout", "augment_probability", "dropout", "probe_steps",
               "keyword_subsets", "fit_schedule"]
    config = _run_config(args, ("steps", "checkpoint_minutes", "log_seconds", "fit_schedule"),  # on --resume
                         ("steps" if not args.fit_schedule else "fit_schedule", "the cosine schedule's length"),
                         TRAIN_DEFAULTS, options)
    if config is None:
        return 2
    config["minutes"] = args.minutes  # a budget for this process, not the run's
    if args.fit_schedule and not args.minutes and not args.resume:
        print("error: --fit-schedule fits the run's length to --minutes; give --minutes", file=sys.stderr)
        return 2
    if not args.resume:
        if args.snapshots and args.fit_schedule:
            print("error: --snapshots are fractions of a fixed --steps; with --fit-schedule the probe keeps "
                  "the EMA its rule chooses (--probe-every)", file=sys.stderr)
            return 2
        if args.snapshots:
            try:
                fractions = [float(f) for f in args.snapshots.split(",")]
            except ValueError:
                fractions = [-1.0]
            if not all(0 < f < 1 for f in fractions):
                print(f"error: --snapshots {args.snapshots}: give fractions between 0 and 1, e.g. 0.5,0.75",
                      file=sys.stderr)
                return 2
            config["snapshot_steps"] = sorted({max(1, round(f * args.steps)) for f in fractions})
    config["bundle"] = str(args.bundle)
    meta = read_bundle_meta(args.bundle)
    config.setdefault("condition_dropout", meta["condition_dropout"])
    config.setdefault("text_noise", meta.get("text_noise", 0.0))
    config.setdefault("augment_probability", meta.get("augment_probability", 0.0))
    config.setdefault("dropout", meta.get("dropout", 0.0))
    if not meta.get("probe"):  # an older bundle, or one written with --no-probe
        if args.probe_every:
            print(f"error: --probe-every {args.probe_every}: the bundle {args.bundle} has no probe; write it "
                  "again without --no-probe", file=sys.stderr)
            return 2
        config["probe_every"] = 0
    if int(config["probe_every"]) < 0 or (config.get("probe_steps") is not None and int(config["probe_steps"]) < 1):
        print("error: --probe-every takes 0 (never) or a number of steps, --probe-steps a whole number of "
              "at least 1", file=sys.stderr)
        return 2
    if not 0.0 <= float(config["augment_probability"]) <= 1.0:
        print(f"error: --augment {config['augment_probability']}: give a probability from 0 to 1", file=sys.stderr)
        return 2
    if not 0.0 <= float(config["dropout"]) < 1.0:
        print(f"error: --dropout {config['dropout']}: give a rate from 0 up to (not including) 1, e.g. 0.1",
              file=sys.stderr)
        return 2
    return _launch(train, config, meta, args, "training")


def check_bundle_counts(args) -> None:
    from emoji_t2i.errors import UsageError

    for flag, value, least in (("--identities", args.identities, 1), ("--limit", args.limit, 1),
                               ("--parts", args.parts, 1), ("--composites", args.composites, 0)):
        if value is not None and value < least:
            raise UsageError(f"{flag} {value}: use a whole number of at least {least}"
                             + (" (leave it out for every emoji)" if flag in ("--identities", "--limit") else ""))


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    bad = check_bounds(args) if args.command in ("train", "distill") else None
    if bad:
        print(f"error: {bad}", file=sys.stderr)
        return 2
    if args.command == "train":
        return _train(args)
    if args.command == "distill":
        return _distill(args)
    from emoji_t2i.console import check_writable, quiet_tensorflow

    quiet_tensorflow()
    from emoji_t2i.errors import EmojiT2IError, MissingFile
    from emoji_t2i.pipelines.presets import read_preset
    from emoji_t2i.training.jax_bundle import write_bundle, write_preset, write_stylegan_bundle

    try:
        if args.command == "bundle":  # before the preset and the data load
            check_bundle_counts(args)
        check_writable(args.out, "--out", folder=True)
        if args.command == "bundle" and read_preset(args.init_from, "--init-from")["model"] == "stylegan":
            meta = write_stylegan_bundle(args.init_from, args.out, args.data, args.style, args.limit, args.parts,
                                         command="python -m emoji_t2i.train_jax " + shlex.join(argv or sys.argv[1:]))
            print(f"bundle {args.out}: {meta['images']} images for a StyleGAN like {args.init_from}")
        elif args.command == "bundle":
            meta = write_bundle(args.init_from, args.out, args.data, args.style, args.limit,
                                weights=not args.no_weights, cross_attention=args.cross_attention,
                                style_conditioning=args.style_conditioning, parts=args.parts,
                                probe=not args.no_probe, identities=args.identities, composites=args.composites,
                                command="python -m emoji_t2i.train_jax " + shlex.join(argv or sys.argv[1:]))
            print(f"bundle {args.out}: {meta['images']} images, {meta['captions']} distinct captions, "
                  f"U-Net {meta['unet']}")
        else:
            command = " ; ".join(json.loads((args.run / "config.json").read_text()).get("commands", [])) \
                if (args.run / "config.json").exists() else ""
            command += " ; python -m emoji_t2i.train_jax " + shlex.join(argv or sys.argv[1:])
            if args.snapshot is not None and not args.snapshot.is_file():
                raise MissingFile(f"--snapshot {args.snapshot}: no such file; pass one of "
                                  f"{args.run}/snapshots/ema-*.npz")
            path = write_preset(args.run, args.out, args.init_from, command, snapshot=args.snapshot,
                                stage=args.stage, final=args.final)
            print(f"preset {path}: python -m emoji_t2i.generate \"crying cat\" --preset {path}")
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
