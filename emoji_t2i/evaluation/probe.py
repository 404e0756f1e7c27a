"""The probe a diffusion trainer measures while it trains: does the model still draw what it
is asked (R-precision), and has it started to copy its training images (near copies)?

A ``Probe`` is fixed before training: the first 128 training and 96 held-out prompts of the
evaluation's prompt sets (``protocol.prompt_set`` with the same seed, so a probe's prompts are
also the full evaluation's first ones), their mismatched captions already embedded by the
judges' matcher, and the near-copy threshold of ``report.py`` measured against the images the
model trains on. Every N steps the trainer samples one image per prompt (in the evaluation's
styles where the model has styles) and ``ProbeScorer`` reads them through the judges'
classifier and matcher: two numbers per split, logged. ``best_record`` applies the rule that
picks the weights a run keeps (``CHECKPOINT_RULE``).

Everything here but ``build_probe`` is numpy + ``keras.ops``: the JAX trainer, which runs
where TensorFlow is absent, rebuilds the judges' image side from ``judge_arrays``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from emoji_t2i.errors import UsageError
from emoji_t2i.evaluation import metrics
from emoji_t2i.evaluation.report import NEAR_COPY_PERCENTILE, pixel_space

PROBE_PROMPTS = {"train": 128, "heldout": 96}
SPLITS = ("train", "heldout", "composition")  # composition: optional, build_probe(composition=True)
MAX_NEAR_COPIES = 0.10  # the flagship's target on training prompts
CHECKPOINT_RULE = (f"the probe with the best held-out R-precision among those whose training-prompt near copies "
                   f"are at most {MAX_NEAR_COPIES:.0%}; if none is, the one with the fewest near copies")


@dataclasses.dataclass
class Probe:
    prompts: dict[str, list[str]]  # split -> prompts, in sampling order
    styles: dict[str, list[str]]  # split -> the style each prompt is drawn in ("" = any)
    candidates: dict[str, np.ndarray]  # split -> (n, MISMATCHED) rows of text_embeddings[split]
    text_embeddings: dict[str, np.ndarray]  # split -> prompts' then mismatched captions' embeddings
    threshold: float  # a sample nearer than this (pixel RMS) to a training image is a near copy
    seed: int = 0

    @property
    def splits(self) -> list[str]:
        return [s for s in SPLITS if self.prompts.get(s)]

    def meta(self) -> dict:
        return {"prompts": self.prompts, "styles": self.styles, "threshold": self.threshold, "seed": self.seed}

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for split in self.splits:
            out[f"{split}_candidates"] = self.candidates[split].astype(np.int32)
            out[f"{split}_text"] = self.text_embeddings[split].astype(np.float16)  # half the bytes to carry
        return out

    @classmethod
    def from_saved(cls, meta: dict, arrays) -> Probe:
        splits = [s for s in SPLITS if meta["prompts"].get(s)]
        return cls(meta["prompts"], meta["styles"], {s: np.asarray(arrays[f"{s}_candidates"]) for s in splits},
                   {s: np.asarray(arrays[f"{s}_text"], np.float32) for s in splits}, float(meta["threshold"]),
                   int(meta.get("seed", 0)))


def build_probe(dataset, judges, training, seed: int = 0, counts: dict | None = None,
                reference_style: str | None = None, composition: bool = False) -> Probe:
    """The probe of a model trained on ``training`` (rows of ``dataset``: the images it sees):
    training prompts of those emoji, held-out prompts of ``dataset``'s held-out split, each
    ranked against mismatched captions of the whole split. ``composition`` adds the 120
    composition prompts (``composition.py``), read through the judges' composition caption
    side and each ranked against the 46 that share a part with it, drawn in the held-out
    prompts' styles. Needs the judges' text side (the TensorFlow vectorizer), so it is built
    before training, where the data is."""
    from emoji_t2i.evaluation.protocol import prompt_set

    counts = counts or PROBE_PROMPTS
    ds, reference_images = probe_dataset(dataset, training), training.images
    prompts, styles, candidates, texts = {}, {}, {}, {}
    for split in ("train", "heldout"):
        if not counts.get(split) or not np.any(ds.split == split):
            continue
        # styles chosen per split: a run on other styles than the evaluation's is probed in its own
        ps = prompt_set(ds.take(np.flatnonzero(ds.split == split)), split, counts[split], seed, reference_style,
                        pool_from=dataset)
        n = len(ps.prompts)
        prompts[split] = list(ps.prompts)
        styles[split] = [ps.styles[i % len(ps.styles)] if len(ps.styles) > 1 else "" for i in range(n)]
        candidates[split] = ps.candidates
        texts[split] = judges.text_embeddings(ps.caption_pool)
    if composition:
        from emoji_t2i.evaluation.composition import composition_set

        cs = composition_set()  # its pool starts with the prompts: prompt i's text is row i
        cycle = styles.get("heldout") or styles.get("train") or [""]
        prompts["composition"] = cs.texts
        styles["composition"] = [cycle[i % len(cycle)] for i in range(len(cs.texts))]
        candidates["composition"] = cs.candidates
        texts["composition"] = judges.text_embeddings(cs.caption_pool, composition=True)
    heldout = ds.images[ds.split == "heldout"]
    reference = pixel_space(reference_images)
    source = pixel_space(heldout) if len(heldout) else reference[: min(len(reference), 512)]
    nearest = metrics.nearest_distances(source, reference)[0]
    if not len(heldout):  # no held-out images: the distance to the nearest *other* training image
        nearest = _nearest_other(source, reference)
    threshold = float(np.percentile(nearest, NEAR_COPY_PERCENTILE))
    return Probe(prompts, styles, candidates, texts, threshold, seed)


def probe_dataset(ds, training):
    """``ds`` with only the training rows a run trains on (``training``, a subset of it: a style
    or identity filter), and every held-out row: training prompts must name what it saw."""
    seen = np.isin(ds.ids, training.ids) & (ds.split == "train")
    return ds.take(np.flatnonzero(seen | (ds.split == "heldout")))


def _nearest_other(queries, references) -> np.ndarray:
    d = np.sqrt(np.clip(np.sum(queries**2, 1)[:, None] + np.sum(references**2, 1)[None]
                        - 2.0 * queries @ references.T, 0, None))
    d[np.arange(len(queries)), np.arange(len(queries))] = np.inf
    return d.min(1)


def save_probe(probe: Probe, folder: Path, judges=None, extra: dict | None = None) -> None:
    """``probe.json`` + ``probe.npz`` in ``folder``; with ``judges``, their image side too;
    ``extra`` arrays (the prompts as a model reads them) travel in the same file."""
    folder = Path(folder)
    meta = probe.meta()
    arrays = {**probe.arrays(), **(extra or {})}
    if judges is not None:
        meta["judges"] = {"classifier": judges.info["classifier"], "matcher": judges.info["matcher"],
                          "composition_reader": judges.composition_reader}
        arrays.update(judge_arrays(judges))
    (folder / "probe.json").write_text(json.dumps(meta) + "\n")
    np.savez(folder / "probe.npz", **arrays)


def load_probe(folder: Path) -> tuple[Probe, dict, dict]:
    """(probe, its meta, its arrays) from ``save_probe``'s files."""
    folder = Path(folder)
    meta = json.loads((folder / "probe.json").read_text())
    with np.load(folder / "probe.npz") as f:
        arrays = {k: f[k] for k in f.files}
    return Probe.from_saved(meta, arrays), meta, arrays


def judge_arrays(judges) -> dict[str, np.ndarray]:
    """The classifier's and the matcher's weights as ``<judge>/<index>``: by position, since
    their layers carry Keras's process-wide automatic names (conv2d_1, ...), which differ in a
    process that built other layers first; the architecture fixes the order."""
    return {f"{prefix}/{i:03d}": np.asarray(w) for prefix, net in _image_side(judges.classifier, judges.matcher)
            for i, w in enumerate(net.weights)}


def _image_side(classifier, matcher):
    # the matcher's caption encoder stays behind: the probe's captions travel embedded
    return (("classifier", classifier), ("matcher", matcher.image_projection))


def image_embedder(meta: dict, arrays: dict):
    """``embed(images in [-1, 1]) -> matcher image embeddings``, built from ``save_probe``'s
    judges under whichever Keras backend is running (no TensorFlow needed)."""
    import keras

    from emoji_t2i import CHANNELS, IMAGE_SIZE
    from emoji_t2i.evaluation.judges import EmojiClassifier, TextImageMatcher
    from emoji_t2i.networks.traced_build import built_traced

    def build():
        classifier = EmojiClassifier(**meta["judges"]["classifier"])
        classifier(np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, CHANNELS), np.float32))
        matcher = TextImageMatcher(**meta["judges"]["matcher"])
        matcher([np.zeros((1, classifier.feature_dim), np.float32), np.zeros((1, 8), np.int32)])
        return classifier, matcher

    classifier, matcher = built_traced(build)
    for prefix, net in _image_side(classifier, matcher):
        for i, w in enumerate(net.weights):
            key = f"{prefix}/{i:03d}"
            if key not in arrays or tuple(arrays[key].shape) != tuple(w.shape):
                raise UsageError(f"probe.npz: {key} is missing or not {tuple(w.shape)}; write the probe "
                                 "again with save_probe")
            w.assign(arrays[key])

    def embed(images):
        return matcher.embed_image_features(classifier.features(images))

    under_jax = keras.backend.backend() == "jax"
    return _jitted(embed, [*classifier.variables, *matcher.variables]) if under_jax else embed


def _jitted(embed, variables, batch: int = 128):
    """``embed`` as one compiled JAX function of a fixed batch (run eagerly, each op would compile
    for each split's size): the images padded to a multiple of ``batch``, the weights passed in."""
    import jax
    import keras

    @jax.jit
    def compiled(values, images):
        with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
            return embed(images)

    values = [v.value for v in variables]

    def padded(images):
        images = np.asarray(images, np.float32)
        out = []
        for start in range(0, len(images), batch):
            chunk = images[start:start + batch]
            filled = np.concatenate([chunk, np.zeros((batch - len(chunk), *chunk.shape[1:]), np.float32)])
            out.append(np.asarray(compiled(values, filled))[: len(chunk)])
        return np.concatenate(out)

    return padded


class ProbeScorer:
    """Scores one sample per probe prompt: near copies (against ``training_images``) and
    R-precision (``embed``: images in [-1, 1] -> matcher embeddings) per split."""

    def __init__(self, probe: Probe, training_images, embed, batch: int = 256):
        self.probe, self.embed, self.batch = probe, embed, batch
        self.reference = pixel_space(training_images)

    def __call__(self, samples: dict[str, np.ndarray]) -> dict:
        out = {}
        for split in self.probe.splits:
            images = np.asarray(samples[split])
            if len(images) != len(self.probe.prompts[split]):
                raise ValueError(f"{len(images)} {split} samples for {len(self.probe.prompts[split])} probe prompts")
            unit = images.astype(np.float32) / 127.5 - 1.0
            embeddings = np.concatenate([np.asarray(self.embed(unit[i:i + self.batch]))
                                         for i in range(0, len(unit), self.batch)])
            hits = metrics.r_precision_hits(embeddings, self.probe.text_embeddings[split],
                                            self.probe.candidates[split], self.probe.seed)
            nearest = metrics.nearest_distances(pixel_space(images), self.reference)[0]
            out[split] = {"near_copies": float(np.mean(nearest < self.probe.threshold)),
                          "r_precision": float(np.mean(hits))}
        return out


def best_record(records: list[dict]) -> dict | None:
    """The record ``CHECKPOINT_RULE`` keeps (records as the trainers log them: ``train`` and
    ``heldout`` dicts of ``near_copies`` and ``r_precision``); None for no records. Ties go to
    the earlier record: fewer images seen, less time to memorise."""
    if not records:
        return None

    def heldout_r(r):
        return r.get("heldout", r["train"])["r_precision"]

    qualifying = [r for r in records if r["train"]["near_copies"] <= MAX_NEAR_COPIES]
    if qualifying:
        return max(qualifying, key=lambda r: (heldout_r(r), -r["step"]))
    return min(records, key=lambda r: (r["train"]["near_copies"], -heldout_r(r), r["step"]))
