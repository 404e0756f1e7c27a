"""Callbacks a training run uses: progress bar, samples, checkpoints, a non-finite guard, logs."""

from __future__ import annotations

import csv
import math
import os
import re
import resource
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from tqdm.auto import tqdm

from emoji_t2i.data.images import premultiply, to_uint8, to_unit_range
from emoji_t2i.errors import EmojiT2IError, one_line
from emoji_t2i.plotting import image_grid


def save_atomically(image: Image.Image, path: Path, **options) -> None:
    """Write then rename: a run killed mid-write leaves no truncated grid for the resumed
    run's GIF to trip over."""
    partial = path.with_name(path.name + ".part")
    image.save(partial, format=path.suffix.lstrip(".").upper(), **options)
    os.replace(partial, path)


class NonFiniteLoss(EmojiT2IError, RuntimeError):
    """Training met a NaN or infinite loss; the message names the step and what to do."""


class CheckpointWriteError(EmojiT2IError, OSError):
    """A checkpoint (or the run's preset) could not be written (a full disk, a vanished folder)."""

    def __init__(self, directory: Path, number: int, cause: Exception):
        run = directory.parent
        done = sorted(directory.glob("ckpt-*.index"))
        need = sum(f.stat().st_size for f in directory.glob(f"{done[-1].name[:-6]}.*")) if done else 0
        free = shutil.disk_usage(directory).free
        # TF's message: "{{function_node ...}} /path/of/the/temp/file; File too large [Op:SaveV2]"
        text = re.sub(r"\{\{[^}]*\}\}\s*|\s*\[Op:\w+\]", "", str(cause))
        reason = one_line(text.strip(), 400).rsplit("; ", 1)[-1][:120] if text.strip() else type(cause).__name__
        super().__init__(
            f"could not write checkpoint {number} in {directory} ({reason}); {free / 1e6:.0f} MB free, a "
            f"checkpoint needs about {max(need, 1) / 1e6:.0f} MB; the previous checkpoint is intact: free "
            f"space, then continue with --resume --out {run}")


class ProgressBar(keras.callbacks.Callback):
    """One tqdm bar per epoch: steps, the losses and images/s. Also the non-finite guard:
    a NaN/inf metric stops training before the epoch's checkpoint is written."""

    def __init__(self, steps_per_epoch: int, batch_size: int, epochs: int, run_dir: Path,
                 show: tuple[str, ...] | None = None):
        super().__init__()
        self.steps, self.batch_size, self.epochs = steps_per_epoch, batch_size, epochs
        self.run_dir, self.show = run_dir, show
        self.failure: NonFiniteLoss | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.bar = tqdm(total=self.steps, desc=f"epoch {epoch + 1}/{self.epochs}", unit="step",
                        dynamic_ncols=True, mininterval=1.0)
        self.start = None

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        if self.start is None:  # the first step includes tracing; time from its end
            self.start, self.timed = time.perf_counter(), 0
        else:
            self.timed += 1
        for key, value in logs.items():
            if not math.isfinite(float(value)):
                step = self.epoch * self.steps + batch + 1
                if (self.run_dir / "checkpoints" / "checkpoint").exists():
                    advice = (f"the last good checkpoint is kept in {self.run_dir / 'checkpoints'}; lower "
                              f"the learning rate(s) and continue: --resume --out {self.run_dir} --set KEY=VALUE")
                else:
                    advice = ("no checkpoint was written yet; lower the learning rate(s) (--set KEY=VALUE) "
                              "and start again")
                self.failure = NonFiniteLoss(f"non-finite {key} at step {step} (epoch {self.epoch + 1}); {advice}")
                self.model.stop_training = True
                return
        elapsed = time.perf_counter() - self.start
        show = self.show or getattr(self.model, "progress_metrics", None) or sorted(logs)[:2]
        post = {k: f"{float(logs[k]):.3f}" for k in show if k in logs}
        if self.timed and elapsed > 0:
            post["img/s"] = f"{self.timed * self.batch_size / elapsed:.0f}"
        self.bar.set_postfix(post, refresh=False)
        self.bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.close()
        if logs is not None and self.start is not None and self.timed:
            logs["images_per_second"] = self.timed * self.batch_size / (time.perf_counter() - self.start)


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves model, EMA, optimizers and the epoch counter after every finished epoch, then
    the run's preset (``<run>/preset``: sampling weights + tokenizer + metadata) from it."""

    def __init__(self, manager: tf.train.CheckpointManager, epoch: tf.Variable, guard: ProgressBar,
                 write_preset=None):
        super().__init__()
        self.manager, self.epoch, self.guard = manager, epoch, guard
        self.write_preset = write_preset

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.failure is not None:
            return
        self.epoch.assign(epoch + 1)
        try:
            self.manager.save(checkpoint_number=epoch + 1)
            if self.write_preset is not None:
                self.write_preset(epoch + 1)
        except (OSError, tf.errors.OpError) as e:
            # The previous checkpoint is intact (the manager records a new one only once it is
            # whole); the partial files of this one would keep a full disk full, so they go.
            self.epoch.assign(epoch)
            directory = Path(self.manager.directory)
            for partial in [*directory.glob(f"ckpt-{epoch + 1}_temp*"), *directory.glob(f"ckpt-{epoch + 1}.*")]:
                shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink(missing_ok=True)
            self.guard.failure = CheckpointWriteError(directory, epoch + 1, e)
            self.model.stop_training = True


class SampleGrid(keras.callbacks.Callback):
    """Fixed prompts x fixed noise after each epoch: ``samples/epoch_XXXX.png``, a GIF of all
    of them, and the grid in TensorBoard. The columns of one row share the caption and differ
    only in noise, so mode collapse shows as identical columns within minutes."""

    def __init__(self, prompts: list[str], tags: list[str], tokenizer, noise_shape: tuple[int, ...],
                 samples_dir: Path, writer, columns: int = 6, every: int = 1, seed: int = 0,
                 unconditional: bool = False):
        super().__init__()
        self.samples_dir = Path(samples_dir)
        self.every, self.writer, self.columns = max(1, every), writer, columns
        rng = np.random.default_rng(seed)
        if unconditional:  # prompts change nothing: every tile gets its own noise instead
            prompts, tags = ["(unconditional)"] * len(prompts), [""] * len(prompts)
            self.noise = rng.standard_normal((len(prompts) * columns, *noise_shape)).astype(np.float32)
        else:
            noise = rng.standard_normal((columns, *noise_shape)).astype(np.float32)
            self.noise = np.tile(noise, (len(prompts),) + (1,) * len(noise_shape))
        self.prompts, self.tags = prompts, tags
        self.tokens = tokenizer(np.repeat(np.array(prompts, dtype=object), columns).tolist())

    def render(self, model, title: str) -> Image.Image:
        images = to_uint8(model.generate(self.tokens, self.noise))
        captions = []
        for prompt, tag in zip(self.prompts, self.tags, strict=True):
            captions += [f"{tag}{prompt}"] + [""] * (self.columns - 1)
        return image_grid(images, captions, columns=self.columns, scale=1, caption_lines=2,
                          title=title)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        grid = self.render(self.model, f"epoch {epoch + 1}")
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        save_atomically(grid, self.samples_dir / f"epoch_{epoch + 1:04d}.png")
        frames = [Image.open(p).convert("RGB") for p in sorted(self.samples_dir.glob("epoch_*.png"))]
        save_atomically(frames[0], self.samples_dir / "progress.gif", save_all=True, append_images=frames[1:],
                        duration=400, loop=0)
        with self.writer.as_default():
            tf.summary.image("samples", np.asarray(grid)[None], step=epoch + 1)


class RetrievalGrid(keras.callbacks.Callback):
    """For a text encoder (no generator): each fixed prompt's nearest images in a bank of
    real emoji (``samples/epoch_XXXX.png``), and held-out retrieval accuracy in the logs:
    ``heldout_top1``, a held-out caption's top image among all held-out images (a hit when it
    is the same emoji), next to ``heldout_chance``."""

    def __init__(self, prompts, tags, tokenizer, bank, heldout, samples_dir: Path, writer,
                 columns: int = 6, every: int = 1):
        super().__init__()
        self.prompts, self.tags, self.samples_dir = prompts, tags, Path(samples_dir)
        self.tokenizer, self.bank, self.heldout = tokenizer, bank, heldout
        self.writer, self.columns, self.every = writer, columns, max(1, every)

    def _embed_images(self, images):
        images = to_unit_range(images.astype(np.float32))
        return np.concatenate([np.asarray(self.model.embed_images(images[i:i + 256]))
                               for i in range(0, len(images), 256)])

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        if len(self.heldout) and logs is not None:
            images = self._embed_images(self.heldout.images)
            texts = np.asarray(self.model.embed_text(self.tokenizer([c[0] for c in self.heldout.captions])))
            best = (texts @ images.T).argmax(axis=1)
            identity = np.asarray(self.heldout.identity)
            logs["heldout_top1"] = float((identity[best] == identity).mean())
            logs["heldout_chance"] = float(np.mean([(identity == k).mean() for k in identity]))
        bank = self._embed_images(self.bank.images)
        texts = np.asarray(self.model.embed_text(self.tokenizer(list(self.prompts))))
        top = np.argsort(-(texts @ bank.T), axis=1)[:, : self.columns]
        captions = []
        for prompt, tag in zip(self.prompts, self.tags, strict=True):
            captions += [f"{tag}{prompt}"] + [""] * (self.columns - 1)
        grid = image_grid(self.bank.images[top.reshape(-1)], captions, columns=self.columns,
                          title=f"epoch {epoch + 1}: nearest real emoji to each prompt")
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        save_atomically(grid, self.samples_dir / f"epoch_{epoch + 1:04d}.png")
        with self.writer.as_default():
            tf.summary.image("retrieval", np.asarray(grid)[None], step=epoch + 1)


class ReconstructionGrid(keras.callbacks.Callback):
    """For an image tokenizer: fixed held-out emoji (odd rows) over their reconstructions (even
    rows) in ``samples/epoch_XXXX.png``, and in the logs the held-out ``heldout_psnr`` (dB on
    [0, 1] pixels, premultiplied as trained) and ``heldout_usage`` (share of codes used)."""

    def __init__(self, data, samples_dir: Path, writer, columns: int = 8, rows: int = 4, every: int = 1,
                 seed: int = 0, limit: int = 512):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.images = data.images[rng.permutation(len(data))[:limit]]
        self.shown = self.images[: columns * rows]
        self.samples_dir, self.writer = Path(samples_dir), writer
        self.columns, self.rows, self.every = columns, rows, max(1, every)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        model = self.model
        real = to_unit_range(self.images.astype(np.float32))
        ids = np.concatenate([np.asarray(model.encode(real[i:i + 128])) for i in range(0, len(real), 128)])
        out = np.concatenate([np.asarray(model.decode(ids[i:i + 128])) for i in range(0, len(ids), 128)])
        if logs is not None:
            pre_real, pre_out = (np.asarray(premultiply(x)) for x in (real, out))
            mse = ((pre_real - pre_out) ** 2).mean(axis=(1, 2, 3)) / 4.0
            logs["heldout_psnr"] = float(np.mean(-10 * np.log10(mse + 1e-10)))
            logs["heldout_usage"] = float(len(np.unique(ids)) / model.num_codes)
        pairs = []
        n = self.columns
        for r in range(self.rows):
            pairs += list(self.shown[r * n:(r + 1) * n]) + list(to_uint8(out[r * n:(r + 1) * n]))
        grid = image_grid(np.stack(pairs), None, columns=n,
                          title=f"epoch {epoch + 1}: held-out emoji (odd rows), reconstructions (even rows)")
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        save_atomically(grid, self.samples_dir / f"epoch_{epoch + 1:04d}.png")
        with self.writer.as_default():
            tf.summary.image("reconstructions", np.asarray(grid)[None], step=epoch + 1)


class EpochLog(keras.callbacks.Callback):
    """Per-epoch metrics, learning rates and peak resident memory to history.csv (appended on
    resume) and TensorBoard."""

    def __init__(self, history_path: Path, writer):
        super().__init__()
        self.history_path, self.writer = Path(history_path), writer

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        for name, key in self.model.OPTIMIZERS.items():
            row[key] = float(keras.ops.convert_to_numpy(getattr(self.model, name).learning_rate))
        # The process's peak resident memory so far (the diary's dVAE ran out of it).
        row["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        new = not self.history_path.exists()
        # A resumed run keeps its file's columns (a newer version may log more keys).
        fields = list(row) if new else self.history_path.read_text().splitlines()[0].split(",")
        with open(self.history_path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)
        with self.writer.as_default():
            for key, value in row.items():
                if key != "epoch":
                    tf.summary.scalar(key, value, step=epoch + 1)
        self.writer.flush()
