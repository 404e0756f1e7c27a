"""The JAX trainer's probe (``evaluation/probe.py``): sample the EMA U-Net for the bundle's
probe prompts in one compiled function, score near copies and R-precision, log them
(``training/probe.py``), keep the EMA the rule chooses as ``probe/ema-best.npz`` (by name,
float16 like the snapshots), which ``train_jax finish`` makes the preset.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from emoji_t2i.errors import UsageError

PROBE_BATCH = 128  # one compiled shape; the last chunk is padded


class JaxProbe:
    """``probe(ema_params) -> {split: {near_copies, r_precision}}`` for one bundle's U-Net.

    Samples with the bundle's preset's sampling (guidance scale and interval) in ``num_steps``
    DPM-Solver++(2M) steps (default: the preset's), one fixed noise per prompt. ``compile(params)``
    compiles the sampler ahead of time (the trainer does it before its clock starts), so that a
    probe's time is the sampling and scoring every later probe repeats, which ``ScheduleFit``
    plans with; ``sharding`` (the trainer's replicated one) places the weights as the compiled
    sampler expects them, wherever they come from (the restored EMA or the jitted step's)."""

    def __init__(self, bundle: dict, bundle_path: Path, denoiser, encode_captions, num_steps: int | None = None,
                 sharding=None):
        import jax

        from emoji_t2i.evaluation.probe import ProbeScorer, image_embedder, load_probe

        if not (Path(bundle_path) / "probe.json").exists():
            raise UsageError(f"--probe-every: the bundle {bundle_path} has no probe.json; write it again "
                             "with python -m emoji_t2i.train_jax bundle (it adds the probe unless --no-probe)")
        self.probe, meta, arrays = load_probe(bundle_path)
        self.scorer = ProbeScorer(self.probe, bundle["images"], image_embedder(meta, arrays))
        sampling = bundle["meta"].get("sampling", {})
        self.num_steps = int(num_steps or sampling.get("num_steps", 6))
        self.guidance = float(sampling.get("guidance_scale", 3.0))
        interval = sampling.get("guidance_interval")
        self.interval = tuple(interval) if interval else None
        self.counts = [len(self.probe.prompts[s]) for s in self.probe.splits]
        self.text = self._conditions(bundle, arrays, encode_captions)
        rng = np.random.default_rng(self.probe.seed)
        self.noise = rng.standard_normal((len(self.text), *self._image_shape(bundle))).astype(np.float32)
        self._sample = jax.jit(self._sampler(denoiser))
        self._compiled = None
        self._sharding = sharding

    def _placed(self, params):
        import jax

        return jax.device_put(params, self._sharding) if self._sharding is not None else params

    def compile(self, params) -> float:
        """Compiles the sampler for weights like ``params``; the seconds it took (0 once compiled)."""
        import jax

        if self._compiled is not None:
            return 0.0
        start = time.perf_counter()
        shapes = [jax.ShapeDtypeStruct((PROBE_BATCH, *a.shape[1:]), a.dtype) for a in (self.text, self.noise)]
        self._compiled = self._sample.lower(self._placed(params), *shapes).compile()
        return time.perf_counter() - start

    @staticmethod
    def _image_shape(bundle):
        return bundle["images"].shape[1:]

    def _conditions(self, bundle, arrays, encode_captions) -> np.ndarray:
        """Every probe prompt's condition, as the U-Net reads it at sampling (``encode_captions``:
        the trainer's, token ids through the bundle's minilm)."""
        from emoji_t2i.networks.condition import ANY_STYLE, pack_condition

        if not bundle["meta"].get("packed"):
            return arrays["features"].astype(np.float32)
        styles = bundle["meta"].get("styles", [])
        names = [s for split in self.probe.splits for s in self.probe.styles[split]]
        style = np.array([styles.index(s) if s in styles else ANY_STYLE for s in names], np.int32)
        pooled, sequence, mask = encode_captions({**bundle, "tokens": arrays["tokens"]})
        return np.asarray(pack_condition(pooled, sequence, mask, style))

    def _sampler(self, denoiser):
        from keras import ops

        from emoji_t2i.data.images import unpremultiply
        from emoji_t2i.schedulers.distillation import guided_teacher
        from emoji_t2i.schedulers.dpm_solver import dpm_solver_2m
        from emoji_t2i.schedulers.schedule import CosineSchedule

        schedule, steps, guidance, interval = CosineSchedule(), self.num_steps, self.guidance, self.interval

        def sample(params, text, noise):
            def network(x_t, logsnr, text, keep):
                return denoiser.stateless_call(params, [], (x_t, logsnr, text, keep))[0]

            teacher = guided_teacher(network, interval)
            batch = noise.shape[0]

            def denoise(x, t):
                logsnr = ops.broadcast_to(schedule.logsnr(t), (batch,))
                v = teacher(x, logsnr, text, ops.full((batch,), guidance))
                return schedule.from_v(x, v, ops.broadcast_to(t, (batch,)))

            x0 = dpm_solver_2m(denoise, noise, steps, schedule)
            return unpremultiply(ops.clip(x0, -1.0, 1.0))

        return sample

    def images(self, params) -> np.ndarray:
        """uint8 samples of every probe prompt (training prompts first)."""
        from emoji_t2i.data.images import to_uint8

        self.compile(params)
        params = self._placed(params)
        out = []
        for start in range(0, len(self.text), PROBE_BATCH):
            text, noise = self.text[start:start + PROBE_BATCH], self.noise[start:start + PROBE_BATCH]
            pad = PROBE_BATCH - len(text)
            if pad:
                text = np.concatenate([text, np.repeat(text[-1:], pad, 0)])
                noise = np.concatenate([noise, np.repeat(noise[-1:], pad, 0)])
            out.append(to_uint8(self._compiled(params, text, noise))[: PROBE_BATCH - pad])
        return np.concatenate(out)

    def __call__(self, params) -> dict:
        images = self.images(params)
        bounds = np.cumsum([0, *self.counts])
        self.last = {s: images[bounds[k]:bounds[k + 1]] for k, s in enumerate(self.probe.splits)}
        return self.scorer(self.last)

    def save_grid(self, path: Path, title: str, per_split: int = 8) -> None:
        """The last probe's first ``per_split`` samples of each split, captioned by prompt."""
        from emoji_t2i.plotting import save_grid

        images = np.concatenate([self.last[s][:per_split] for s in self.probe.splits])
        captions = [p for s in self.probe.splits for p in self.probe.prompts[s][:per_split]]
        rows = " / ".join({"train": "training prompts", "heldout": "held-out prompts",
                            "composition": "composition prompts"}[s] for s in self.probe.splits)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_grid(path, images, captions, columns=per_split, caption_lines=2, title=f"{title}; rows: {rows}")


def record_probe(run: Path, records: list[dict], record: dict, ema, names: list[str], log=print) -> bool:
    """``append_record`` keeping the chosen EMA as ``probe/ema-best.npz`` (by name, float16)."""
    from emoji_t2i.training.probe import append_record

    def keep(folder: Path) -> None:
        partial = folder / "ema-best.partial.npz"
        np.savez(partial, **{k: np.asarray(a).astype(np.float16) for k, a in zip(names, ema, strict=True)})
        os.replace(partial, folder / "ema-best.npz")

    return append_record(run, records, record, keep, log)


def probe_and_record(probe: JaxProbe, run: Path, records: list[dict], ema, progress: dict, names, log) -> None:
    """One probe of the EMA: its record, the chosen EMA, and ``probe/latest.png`` (copied to
    ``probe/best.png`` when chosen), the samples behind the numbers."""
    import shutil

    record = probe_record(probe, ema, progress)
    chosen = record_probe(run, records, record, ema, names, log)
    probe.save_grid(run / "probe" / "latest.png", f"probe at step {record['step']} "
                    f"({record['images_seen']:,} images)")
    if chosen:
        shutil.copyfile(run / "probe" / "latest.png", run / "probe" / "best.png")


def probe_record(probe: JaxProbe, params, progress: dict) -> dict:
    start = time.perf_counter()
    scores = probe(params)
    return {"step": progress["step"], "images_seen": progress["images_seen"], **scores,
            "seconds": round(time.perf_counter() - start, 2)}
