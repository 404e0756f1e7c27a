"""The probe in a training run (``evaluation/probe.py``): its log, the weights it keeps, and
the TensorFlow trainer's callback. The JAX trainer's sampler is ``jax_probe.py``.

Run-directory files: ``probe.jsonl`` (one record per probe: step, images seen, per split
``near_copies`` and ``r_precision``, seconds) and ``probe/best.json`` (the record the rule
chose, and the rule) beside the chosen weights (``probe/preset`` here; ``probe/ema-best.npz``
from the JAX trainer). A resumed run forgets the records after the step it resumes from
(``resume_records``) and measures those steps again.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import keras
import numpy as np

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.evaluation.probe import CHECKPOINT_RULE, best_record

CHOSEN_FILES = ("best.json", "ema-best.npz", "preset")


def read_records(run: Path) -> list[dict]:
    """The run's probe records, oldest first (none for a run without a probe)."""
    path = Path(run) / "probe.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def resume_records(run: Path, step: int) -> list[dict]:
    """The run's probe records up to ``step``; later ones are rewritten away, and with them a
    choice made after ``step``."""
    path = Path(run) / "probe.jsonl"
    records = read_records(run)
    kept = [r for r in records if r["step"] <= step]
    if len(kept) < len(records):
        path.write_text("".join(json.dumps(r) + "\n" for r in kept))
        best = Path(run) / "probe" / "best.json"
        if best.exists() and json.loads(best.read_text())["record"]["step"] > step:
            _forget_choice(best.parent)
    return kept


def _forget_choice(folder: Path) -> None:
    for name in CHOSEN_FILES:
        chosen = folder / name
        shutil.rmtree(chosen, ignore_errors=True) if chosen.is_dir() else chosen.unlink(missing_ok=True)


def append_record(run: Path, records: list[dict], record: dict, keep_weights, log=print) -> bool:
    """Log ``record``; if the rule now chooses it, ``keep_weights(folder)`` writes its weights
    into ``<run>/probe`` and ``best.json`` follows them. Returns whether it was chosen."""
    records.append(record)
    with open(Path(run) / "probe.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")
    chosen = best_record(records) is record
    if chosen:
        folder = Path(run) / "probe"
        folder.mkdir(exist_ok=True)
        _forget_choice(folder)  # a run resumed under the other backend kept the last choice in its own files
        keep_weights(folder)
        (folder / "best.json").write_text(json.dumps({"record": record, "rule": CHECKPOINT_RULE}, indent=1) + "\n")
    parts = [f"{s} near copies {record[s]['near_copies']:.0%} R-precision {record[s]['r_precision']:.2f}"
             for s in ("train", "heldout") if s in record]
    if "composition" in record:  # copies of what? No drawing answers these prompts: R only
        parts.append(f"composition R-precision {record['composition']['r_precision']:.3f}")
    log(f"probe at step {record['step']}: " + ", ".join(parts) + (" (kept)" if chosen else ""))
    return chosen


class ProbeCallback(keras.callbacks.Callback):
    """Every ``every`` epochs: one sample per probe prompt through the run's pipeline (its
    sampling defaults, ``num_steps`` if given; each prompt in its probe style where the model
    has styles), scored by ``scorer``; the record goes to ``probe.jsonl`` and, when the rule
    chooses it, the run's weights to ``probe/preset`` through ``save_preset(folder)``."""

    def __init__(self, scorer, tokenizer, run_dir: Path, every: int, save_preset, step_count,
                 batch_size: int, num_steps: int | None = None, records: list[dict] | None = None, log=print):
        super().__init__()
        self.scorer, self.tokenizer, self.run_dir = scorer, tokenizer, Path(run_dir)
        self.every, self.save_preset, self.step_count = max(1, int(every)), save_preset, step_count
        self.batch_size, self.num_steps, self.log = batch_size, num_steps, log
        self.records = records if records is not None else []

    def samples(self) -> dict[str, np.ndarray]:
        from emoji_t2i.pipelines import TextToImagePipeline

        pipe = TextToImagePipeline(self.model, self.tokenizer, {"model": type(self.model).__name__})
        options = {"num_steps": self.num_steps} if self.num_steps and "num_steps" in pipe.options else {}
        probe = self.scorer.probe
        out = {}
        for split in probe.splits:
            prompts, styles = probe.prompts[split], probe.styles[split]
            images = np.zeros((len(prompts), IMAGE_SIZE, IMAGE_SIZE, CHANNELS), np.uint8)
            for style in sorted(set(styles)):
                rows = [i for i, s in enumerate(styles) if s == style]
                extra = {"style": style} if style and style in pipe.styles else {}
                images[rows] = pipe.sample([prompts[i] for i in rows], seed=probe.seed, **options, **extra)
            out[split] = images
        return out

    def on_epoch_end(self, epoch, logs=None):
        record = None
        step = self.step_count(self.model)
        due = not (epoch + 1) % self.every and not self.model.stop_training
        if due and not (self.records and self.records[-1]["step"] == step):
            start = time.perf_counter()
            record = {"step": step, "images_seen": step * self.batch_size, **self.scorer(self.samples()),
                      "seconds": round(time.perf_counter() - start, 2)}
            append_record(self.run_dir, self.records, record, lambda folder: self.save_preset(folder / "preset"),
                          self.log)
        if logs is not None:  # every epoch, NaN where not measured: history.csv's columns come from its first row
            for split in self.scorer.probe.splits:
                for key in ("near_copies", "r_precision"):
                    logs[f"probe_{split}_{key}"] = record[split][key] if record else float("nan")
