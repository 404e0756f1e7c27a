"""``python -m emoji_t2i.train --model NAME``: train a zoo model into a run directory.

Examples:
    python -m emoji_t2i.train --list-models
    python -m emoji_t2i.train --model cgan                       # the embedded dataset
    python -m emoji_t2i.train --model cgan --epochs 2 --steps-per-epoch 20 --out runs/try
    python -m emoji_t2i.train --resume --out runs/try --epochs 4   # continue a run
    python -m emoji_t2i.train --init-from diffusion-emoji72 --epochs 20   # fine-tune a preset
    python -m emoji_t2i.train --model cgan --set g_lr=2e-4 --set text_encoder=lstm --dry-run
    python -m emoji_t2i.train --model cgan --set text_encoder=hub:PATH   # a TF Hub sentence encoder

--set text_encoder= takes padded, embedding, embedding_gru, lstm, char_cnn_rnn, minilm (the
pretrained MiniLM), char_cnn_rnn:RUN_DIR (a pretrained char-CNN-RNN run) or hub:PATH: any
sentence encoder saved in the TF Hub / SavedModel format (strings in, (batch, D) floats out),
such as a Universal Sentence Encoder you downloaded; it stays frozen, its caption embeddings are
cached once per run, and exported SavedModels carry it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from pathlib import Path

from emoji_t2i.errors import EmojiT2IError, UsageError
from emoji_t2i.training.jax_run import tensorflow_installed


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m emoji_t2i.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="zoo model to train (see --list-models)")
    p.add_argument("--list-models", action="store_true", help="print the zoo and exit")
    p.add_argument("--data", help="'embedded' (default), a folder with captions.csv, or tfds:emoji72")
    p.add_argument("--skip-bad", action="store_true",
                   help="a folder's bad rows (missing or unreadable images, empty captions) become "
                        "warnings and are dropped")
    p.add_argument("--epochs", type=int, help="total epochs to reach (default 6; diffusion 18)")
    p.add_argument("--steps-per-epoch", type=int, help="cap the steps of each epoch")
    p.add_argument("--batch-size", type=int, help="global batch size (default 64)")
    p.add_argument("--out", type=Path, help="run directory (default runs/<YYYYmmdd-HHMMSS>-<model>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint")
    p.add_argument("--init-from", metavar="PRESET",
                   help="start a new run from a trained preset (a shipped name, a preset folder or a "
                        "run folder): its model, hyper-parameters, tokenizer and weights")
    p.add_argument("--precision", choices=("float32", "mixed_float16", "mixed_bfloat16"),
                   help="dtype policy (default: mixed_float16 on a GPU, float32 on a CPU)")
    p.add_argument("--strategy", choices=("default", "mirrored", "multiworker", "tpu"),
                   help="tf.distribute strategy (default: one device)")
    p.add_argument("--seed", type=int, help="seed for data order, noise and weights (default 0)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="model or training hyper-parameter, repeatable (see --dry-run for keys)")
    p.add_argument("--dry-run", action="store_true",
                   help="resolve the config, build data and model, print them; write nothing")
    p.add_argument("--backend", choices=("tensorflow", "jax"),
                   help="Keras backend to train under (default: tensorflow; on --resume the run's own). "
                        "jax trains diffusion models with a frozen minilm, in a child process where "
                        "TensorFlow is installed, in this one where only JAX is; either resumes the other's run")
    p.add_argument("--minutes", type=float,
                   help="--backend jax: stop (with a checkpoint) after this much training; --resume continues")
    p.add_argument("--prepare-only", action="store_true",
                   help="--backend jax: write the run folder (config, tokenizer, bundle/) and stop, to train it "
                        "with --resume on a machine that has JAX but no TensorFlow")
    p.add_argument("--presets-only", action="store_true",
                   help="with --resume: write the run's presets from its newest checkpoint (a JAX run's state/) "
                        "and train nothing")
    return p


def run_backend(args) -> str:
    """--backend, else on --resume the backend the run last trained under, else tensorflow."""
    if args.backend or not (args.resume and args.out):
        return args.backend or "tensorflow"
    config_path = Path(args.out) / "config.json"
    try:
        return json.loads(config_path.read_text()).get("backend", "tensorflow")
    except (OSError, ValueError):
        return "tensorflow"  # the TensorFlow path names what is wrong with the run folder


def train_jax_here(args) -> int:
    """--resume --backend jax in this process: a machine with JAX and no TensorFlow (or the
    child process of a TensorFlow one)."""
    from emoji_t2i.training.config import apply_resume_overrides
    from emoji_t2i.training.jax_run import train_here

    if not args.resume:
        how = ("unset KERAS_BACKEND=jax" if tensorflow_installed() else
               "run the same command with --prepare-only where TensorFlow is installed, copy the run folder here")
        raise UsageError(f"a new --backend jax run writes its bundle with TensorFlow: {how}, "
                         "then continue it with --resume --backend jax --out DIR")
    if args.out is None or not (args.out / "config.json").exists():
        raise UsageError(f"--resume: {args.out}/config.json not found; pass --out, a run folder")
    config = json.loads((args.out / "config.json").read_text())
    if args.epochs is not None:
        config["epochs"] = args.epochs
    apply_resume_overrides(config, args.set)
    config["backend"] = "jax"
    tmp = args.out / "config.json.tmp"
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, args.out / "config.json")
    progress = train_here(args.out, args.minutes)
    print(f"run {args.out}: step {progress['step']}, {progress['images_seen']:,} images seen", file=sys.stderr)
    if os.environ.get("KERAS_BACKEND") == "jax" and not tensorflow_installed():
        print(f"presets are written under TensorFlow: python -m emoji_t2i.train --resume --presets-only "
              f"--out {args.out} where it is installed", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run_command(args, argv)
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; continue with --resume --out <run dir>", file=sys.stderr)
        return 130


def run_command(args, argv) -> int:
    from emoji_t2i.pipelines.checks import MAX_SEED

    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:  # was numpy's traceback, after the data loaded
        raise UsageError(f"--seed {args.seed}: use a whole number from 0 to {MAX_SEED}")
    if args.minutes is not None and not (math.isfinite(args.minutes) and args.minutes > 0):
        raise UsageError(f"--minutes {args.minutes}: use a number above 0")
    if args.presets_only and not args.resume:
        raise UsageError("--presets-only writes a run's presets: pass --resume --out RUN")
    backend = "tensorflow" if args.presets_only else run_backend(args)  # presets are written under TensorFlow
    if (args.minutes is not None or args.prepare_only) and backend != "jax":
        raise UsageError(f"{'--minutes' if args.minutes is not None else '--prepare-only'} is for --backend jax; "
                         "a TensorFlow run stops at --epochs")
    if backend == "jax" and args.model not in (None, "diffusion"):
        raise UsageError(f"--backend jax trains the diffusion model, not {args.model}; drop --backend jax")
    if backend == "jax" and (os.environ.get("KERAS_BACKEND") == "jax" or not tensorflow_installed()):
        return train_jax_here(args)
    from emoji_t2i.console import quiet_tensorflow

    quiet_tensorflow()
    from emoji_t2i.models import get_model_class, list_models
    from emoji_t2i.pipelines.run_dir import RunDir, RunError, default_run_dir
    from emoji_t2i.training.config import apply_resume_overrides, resolve
    from emoji_t2i.training.jax_bundle import prepare_run
    from emoji_t2i.training.jax_run import train_in_child
    from emoji_t2i.training.loop import train

    if args.list_models:
        for name in list_models():
            doc = (get_model_class(name).__doc__ or "").strip().splitlines()[0]
            print(f"{name:<14} {doc}")
        return 0
    for flag, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size),
                        ("--steps-per-epoch", args.steps_per_epoch)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} {value}: use a whole number of at least 1")
    if args.resume:
        if args.out is None:
            raise RunError("--resume needs --out DIR, the run to continue")
        run = RunDir(args.out)
        config = run.load_config(expect_model=args.model)
        if args.epochs is not None:
            config["epochs"] = args.epochs
        apply_resume_overrides(config, args.set)
        if not args.presets_only:
            config["backend"] = backend
    else:
        init_from = None
        if args.init_from:
            from emoji_t2i.pipelines.presets import read_preset

            init_from = read_preset(args.init_from, "--init-from")
            if args.model and args.model != init_from["model"]:
                raise RunError(f"--init-from {args.init_from} is a {init_from['model']!r} preset, "
                               f"not {args.model!r}; drop --model or pick a {args.model} preset")
            args.model = init_from["model"]
        if not args.model:
            raise RunError("no --model given; choose one of: " + ", ".join(list_models()))
        model_class = get_model_class(args.model)
        cli = {"data": args.data, "skip_bad": args.skip_bad or None, "epochs": args.epochs,
               "steps_per_epoch": args.steps_per_epoch, "batch_size": args.batch_size,
               "precision": args.precision, "strategy": args.strategy, "seed": args.seed}
        config = resolve(args.model, model_class, cli, args.set, init_from)
        config["command"] = "python -m emoji_t2i.train " + " ".join(argv if argv is not None else sys.argv[1:])
        run = RunDir(args.out or default_run_dir(args.model))
        config["out"], config["backend"] = str(run.path), backend
    if backend == "jax":
        prepare_run(config, run, resume=args.resume, dry_run=args.dry_run)
        if args.dry_run or args.prepare_only:
            return 0
        run.write_config(config)
        try:
            train_in_child(run.path, args.minutes)
        except EmojiT2IError:
            if not args.resume and not (run.path / "state").exists():  # nothing to resume: as TensorFlow's
                shutil.rmtree(run.path, ignore_errors=True)
                print(f"removed {run.path}: the run stopped before its first checkpoint", file=sys.stderr)
            raise
        # under TensorFlow again: state/ into the model, the run's presets from it
        result = train(config, run, resume=True, presets_only=True)
    else:
        result = train(config, run, resume=args.resume, dry_run=args.dry_run, presets_only=args.presets_only)
    if not args.dry_run:
        where = f"preset in {Path(result['run']) / 'preset'}" if backend == "jax" or args.presets_only else \
            f"samples in {Path(result['run']) / 'samples'}"
        print(f"run {result['run']}: {result['epochs']} epochs done; {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
