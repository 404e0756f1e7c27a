"""``python -m emoji_t2i.train --model diffusion --backend jax``: the JAX side of one run folder.

A run trained under the JAX backend is the same folder as a TensorFlow one: ``config.json``
(the resolved config, ``"backend": "jax"``), ``tokenizer.json``, ``labels.json``, ``preset/``;
and beside them what the JAX trainer (``training/jax_diffusion.py``) reads and writes:
``bundle/`` (images, caption features or minilm, the probe, the starting weights; written by
``jax_bundle.prepare_run`` under TensorFlow), ``state/`` (``training/state.py``: weights, EMA
and AdamW by name, the step), ``log.jsonl`` and the probe's files. The TensorFlow trainer
writes ``state/`` too (after every epoch, beside ``checkpoints/``) and resumes from it when
it is the newer: ``--resume`` continues a run under either backend, whichever trained it
last, with the same weights, moments and step.

Where TensorFlow is installed, ``--backend jax`` prepares the folder, trains in a child
process (Keras picks its backend once, on import) and then writes the presets under
TensorFlow. On a machine with JAX alone (a GPU host without TensorFlow), ``--resume`` trains
in this process and leaves the presets to the next ``--resume`` where TensorFlow is.

Nothing here imports TensorFlow or Keras at module level.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from emoji_t2i.errors import MissingFile, UsageError

JAX_PRECISIONS = ("float32", "mixed_bfloat16")


def tensorflow_installed() -> bool:
    return importlib.util.find_spec("tensorflow") is not None


def jax_settings(config: dict, run: Path, images: int, minutes: float | None = None) -> dict:
    """The JAX trainer's settings for a run folder's config (the TensorFlow trainer's keys):
    epochs of ``images // batch`` steps (capped by ``steps_per_epoch``), the same AdamW,
    schedule, EMA, objective and probe (``probe_every`` is in epochs there, steps here)."""
    t, h, batch = config["training"], config["hparams"], int(config["batch_size"])
    per_epoch = images // batch
    if config.get("steps_per_epoch"):
        per_epoch = min(per_epoch, int(config["steps_per_epoch"]))
    if per_epoch < 1:
        raise UsageError(f"--batch-size {batch}: larger than the {images} training images; lower it")
    if config["precision"] not in JAX_PRECISIONS:
        raise UsageError(f"--precision {config['precision']}: the JAX backend trains in "
                         f"{' or '.join(JAX_PRECISIONS)}; pass one of them")
    steps = per_epoch * int(config["epochs"])
    return {"bundle": str(Path(run) / "bundle"), "steps": steps, "steps_per_epoch": per_epoch,
            "decay_steps": steps if t["lr_schedule"] == "cosine" else 0, "batch_size": batch,
            **{k: float(t[k]) for k in ("lr", "weight_decay", "beta_1", "beta_2")},
            "warmup_steps": int(t["warmup_steps"]), "ema_decay": float(h["ema_decay"]),
            "condition_dropout": float(h["condition_dropout"]), "text_noise": float(h.get("text_noise", 0.0)),
            "augment_probability": float(h.get("augment_probability", 0.0)),
            "dropout": float(h.get("dropout", 0.0)),
            "style_dropout": float(h.get("style_dropout", 0.3)),
            "keyword_subsets": False,  # the TensorFlow pipeline trains on each image's own captions
            "balance": str(t.get("balance", "none")),
            "seed": int(config["seed"]), "precision": config["precision"],
            "probe_every": int(t.get("probe_every", 0)) * per_epoch,
            "probe_steps": int(t.get("probe_steps", 0)) or None,
            "checkpoint_minutes": 2.0, "log_seconds": 30.0, "minutes": minutes}


def train_here(run: Path, minutes: float | None = None, log=None) -> dict:
    """Train the run folder ``run`` under the JAX backend in this process, from its bundle and
    (if any) its ``state/``; returns the progress. Keras must not have been imported yet."""
    os.environ["KERAS_BACKEND"] = "jax"
    if "keras" in sys.modules and sys.modules["keras"].backend.backend() != "jax":
        raise UsageError("--backend jax: keras was already imported with another backend; run "
                         "python -m emoji_t2i.train in a fresh process")
    from emoji_t2i.training.jax_diffusion import read_bundle_meta, train

    run = Path(run)
    config = json.loads((run / "config.json").read_text())
    if not (run / "bundle" / "bundle.json").exists():
        raise MissingFile(f"{run}/bundle is missing; continue the run once where TensorFlow is installed "
                          f"(python -m emoji_t2i.train --resume --backend jax --out {run}), which writes it")
    settings = jax_settings(config, run, read_bundle_meta(run / "bundle")["images"], minutes)
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    import jax

    devices = jax.local_devices()
    log(f"training {run} under JAX on {len(devices)} x {devices[0].platform} ({settings['precision']}), "
        f"{settings['steps']} steps in {config['epochs']} epochs of {settings['steps_per_epoch']}")
    return train(settings, run, resume=(run / "state" / "progress.json").exists(), log=log)


def train_in_child(run: Path, minutes: float | None = None) -> None:
    """``train_here`` in a fresh process (this one has imported TensorFlow's Keras)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_")}
    env["KERAS_BACKEND"] = "jax"
    command = [sys.executable, "-m", "emoji_t2i.train", "--resume", "--backend", "jax", "--out", str(run)]
    if minutes is not None:
        command += ["--minutes", str(minutes)]
    done = subprocess.run(command, env=env)
    if done.returncode:
        raise UsageError(f"the JAX training of {run} stopped (exit {done.returncode}; its error is above); "
                         f"continue it with python -m emoji_t2i.train --resume --backend jax --out {run}")
