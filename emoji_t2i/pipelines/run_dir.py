"""One directory per run, and the resume contract.

    runs/<YYYYmmdd-HHMMSS>-<model>/
      config.json        the fully resolved configuration (re-creates the run)
      tokenizer.json     the caption tokenizer, vocabulary included (older runs: vectorizer.json)
      checkpoints/       tf.train.Checkpoint of model, EMA, both optimizers and the epoch,
                         written at the end of every epoch (the last 3 kept)
      history.csv        one row of metrics per epoch
      logs/              TensorBoard: losses, learning rates, images/s, sample grids
      samples/           epoch_XXXX.png (fixed prompts x fixed noise) and progress.gif
      state/             a diffusion run's weights, EMA and AdamW by name (training/state.py):
                         what the JAX backend resumes from, and writes (train --backend jax)

Resume: ``--resume --out DIR`` reads config.json, restores the last checkpoint and continues
at the next epoch; the data order of every epoch depends only on (seed, epoch), so it picks up
exactly where the interrupted run would have gone. Work after the last checkpoint is redone.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import tensorflow as tf

from emoji_t2i.errors import EmojiT2IError, one_line


class RunError(EmojiT2IError, RuntimeError):
    """A missing, broken or mismatched run directory; the message is one line with the fix."""


def default_run_dir(model: str, root: str | Path = "runs") -> Path:
    return Path(root) / f"{dt.datetime.now():%Y%m%d-%H%M%S}-{model}"


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.json")

    @property
    def tokenizer_path(self) -> Path:
        """``tokenizer.json``; a run written before the rename has ``vectorizer.json``."""
        new, old = self.path / "tokenizer.json", self.path / "vectorizer.json"
        return old if old.exists() and not new.exists() else new
    checkpoint_dir = property(lambda self: self.path / "checkpoints")
    samples_dir = property(lambda self: self.path / "samples")
    logs_dir = property(lambda self: self.path / "logs")
    history_path = property(lambda self: self.path / "history.csv")

    # --- creation and loading ----------------------------------------------------------
    def check_new(self) -> None:
        """Raise now, before data and model are built, if a new run cannot go here."""
        if self.config_path.exists():
            raise RunError(f"{self.path} already holds a run; pass --resume to continue it or "
                           "choose another --out")
        existing = self.path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise RunError(f"--out {self.path}: not writable ({existing} is not a writable "
                           "folder); choose a writable folder")

    def create(self, config: dict) -> None:
        self.check_new()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as e:
            raise RunError(f"--out {self.path}: not writable ({e.strerror}); choose a writable folder") from e
        self.write_config(config)

    def write_config(self, config: dict) -> None:
        tmp = self.config_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.config_path)  # atomic: a kill never leaves half a config

    def load_config(self, expect_model: str | None = None) -> dict:
        if not self.path.is_dir():
            raise RunError(f"{self.path}: no such run directory; check the path (runs/ lists them)")
        if not self.config_path.exists():
            raise RunError(f"{self.path}: no config.json, so not a run directory; point at a "
                           "folder that python -m emoji_t2i.train wrote")
        try:
            config = json.loads(self.config_path.read_text())
        except json.JSONDecodeError as e:
            raise RunError(f"{self.config_path}: broken JSON ({e.msg}, line {e.lineno}); restore "
                           "it or start a new run") from e
        training = config.get("training", {})
        if "vectorizer" in training:  # what older runs called it
            training.setdefault("tokenizer", training.pop("vectorizer"))
        if expect_model and config.get("model") != expect_model:
            raise RunError(f"{self.path} is a {config.get('model')!r} run, not {expect_model!r}; "
                           f"use --model {config.get('model')} or another --out")
        return config

    # --- checkpoints ---------------------------------------------------------------------
    def checkpoint(self, model, epoch: tf.Variable) -> tf.train.Checkpoint:
        optimizers = {name: getattr(model, name) for name in model.OPTIMIZERS}
        return tf.train.Checkpoint(model=model, epoch=epoch, **optimizers)

    def manager(self, checkpoint: tf.train.Checkpoint) -> tf.train.CheckpointManager:
        return tf.train.CheckpointManager(checkpoint, str(self.checkpoint_dir), max_to_keep=3)

    def latest_checkpoint(self) -> str | None:
        return tf.train.latest_checkpoint(str(self.checkpoint_dir))

    def checkpoints(self) -> list[str]:
        """The run's checkpoints, newest first (the manager keeps the last three)."""
        state = tf.train.get_checkpoint_state(str(self.checkpoint_dir))
        return list(reversed(state.all_model_checkpoint_paths)) if state else []

    def restore(self, checkpoint: tf.train.Checkpoint, partial: bool = False) -> str:
        """Restore the newest checkpoint that reads; an unreadable newer one (a truncated or
        damaged file) is named on stderr and the next older one used."""
        candidates = self.checkpoints()
        if not candidates:
            raise RunError(f"{self.path}: no checkpoint yet (none is written before the first "
                           "epoch ends); train it longer or start a new run")
        unreadable = []
        for path in candidates:
            try:
                status = checkpoint.restore(path)
                if partial:
                    status.expect_partial()
                else:
                    status.assert_existing_objects_matched()
            except (IndexError, tf.errors.DataLossError, tf.errors.OutOfRangeError) as e:
                unreadable.append((path, one_line(e)))  # a truncated or damaged file
                continue
            except (AssertionError, ValueError, tf.errors.OpError) as e:
                raise RunError(f"{path}: does not fit this model ({one_line(e)}); was it written by a "
                               "different model or --set? start a new run") from e
            for bad, why in unreadable:
                print(f"warning: {bad} is unreadable ({why}); using {Path(path).name}, the newest "
                      "checkpoint that reads", file=sys.stderr)
            return path
        bad, why = unreadable[0]
        raise RunError(f"{bad}: cannot be read ({why}), nor can any older checkpoint of this run; "
                       "start a new run")
