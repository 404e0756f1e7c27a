"""One evaluation: a source's samples for the training and held-out prompts, read through
the judges, written as ``report.json`` + ``report.md`` with sample grids.

Memorisation is measured against every training image. A sample is a NEAR COPY when its
pixel distance to the nearest training image (RMS over premultiplied RGBA in [0, 1] at
36x36) is below the 5th percentile of the same distance for the real held-out images:
closer to something in the training set than 95% of genuinely unseen emoji are.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from emoji_t2i.data import EmojiDataset
from emoji_t2i.data.images import premultiplied_unit
from emoji_t2i.evaluation import metrics
from emoji_t2i.evaluation.composition import composition_set
from emoji_t2i.evaluation.judges import Judges
from emoji_t2i.evaluation.protocol import prompt_set
from emoji_t2i.plotting import save_grid

DIVERSITY_PROMPTS, DIVERSITY_SAMPLES = 16, 8
COMPOSITION_SEEDS = 4  # samples per composition prompt
NEAR_COPY_PERCENTILE = 5


def pixel_space(images_uint8, chunk: int = 2048) -> np.ndarray:
    """Premultiplied RGBA in [0, 1], 2x2-averaged to 36x36, flattened; distances are RMS.
    In numpy, a chunk at a time: the 20,914 training images took 11 s here where one float
    copy of them all through TensorFlow took 22 s."""
    images = np.asarray(images_uint8)
    out = np.empty((len(images), 36 * 36 * 4), np.float32)
    for start in range(0, len(images), chunk):
        x = premultiplied_unit(images[start:start + chunk])
        out[start:start + chunk] = x.reshape(len(x), 36, 2, 36, 2, 4).mean((2, 4)).reshape(len(x), -1)
    return out / np.sqrt(36 * 36 * 4)


def training_reference(ds: EmojiDataset, judges: Judges, cache: dict | None = None):
    """(judge features, pixels, near-copy threshold) of the training images: the costly part of
    an evaluation (20,914 images), shared by evaluations of several sources through ``cache``."""
    key = ("training_reference", id(ds), id(judges))
    if cache is not None and key in cache:
        return cache[key]
    train = ds.subset("train")
    train_features, _ = judges.image_outputs(train.images)
    train_pixels = pixel_space(train.images)
    heldout_real = pixel_space(ds.subset("heldout").images)
    threshold = float(np.percentile(metrics.nearest_distances(heldout_real, train_pixels)[0],
                                    NEAR_COPY_PERCENTILE))
    if cache is not None:
        cache[key] = (train_features, train_pixels, threshold)
    return train_features, train_pixels, threshold


def evaluate(source, ds: EmojiDataset, judges: Judges, samples: int, seed: int, out: str | Path,
             reference_style: str | None = None, cache: dict | None = None,
             splits: tuple[str, ...] = ("train", "heldout")) -> dict:
    """The evaluation report of ``source``; pass the same ``cache`` dict to evaluate several
    sources against one dataset and set of judges without recomputing the training side.
    ``splits=()`` reads the composition prompts alone (``evaluate --composition-only``)."""
    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train_features, train_pixels, threshold = training_reference(ds, judges, cache) if splits else (None, None, None)
    train_rows = np.flatnonzero(ds.split == "train")
    report = {"source": source.name, "seed": seed, "judges": judges.info.get("measured", {}),
              "near_copy_threshold": threshold, "splits": {}, "categories": {}}
    for split in splits:
        ps = prompt_set(ds, split, samples, seed, reference_style)
        report["styles"] = list(ps.styles)
        images = source.samples(ps, seed)
        reference_features, _ = judges.image_outputs(ds.images[ps.rows])
        features, posteriors = judges.image_outputs(images)
        kid, kid_std = metrics.kid(features, reference_features, seed=seed)
        score, score_std = metrics.inception_score(posteriors)
        image_emb = judges.image_embeddings(features)
        text_emb = judges.text_embeddings(ps.caption_pool)
        hits = metrics.r_precision_hits(image_emb, text_emb, ps.candidates, seed)
        report["categories"][split] = per_category(hits, ds.metadata["category"][ps.rows])
        feature_nn = metrics.nearest_distances(features, train_features)[0]
        pixel_nn, nearest = metrics.nearest_distances(pixel_space(images), train_pixels)
        variations = source.variations(ps, DIVERSITY_PROMPTS, DIVERSITY_SAMPLES, seed)
        spread = [metrics.mean_pairwise_distance(judges.image_outputs(v)[0]) for v in variations]
        report["splits"][split] = {
            "samples": len(images),
            "fid": metrics.fid(features, reference_features),
            "kid": kid, "kid_std": kid_std,
            "inception_score": score, "inception_score_std": score_std,
            "r_precision": float(np.mean(hits)),
            "text_image_similarity": metrics.mean_similarity(image_emb, text_emb[: len(images)]),
            "feature_nn_median": float(np.median(feature_nn)),
            "pixel_nn_median": float(np.median(pixel_nn)),
            "near_copy_fraction": float(np.mean(pixel_nn < threshold)),
            "diversity": float(np.mean(spread)),
            "diversity_relative": float(np.mean(spread)
                                        / metrics.mean_pairwise_distance(reference_features[:500])),
        }
        show = slice(0, 24)
        save_grid(out / f"{split}_samples.png", images[show], ps.prompts[show], columns=8)
        save_grid(out / f"{split}_nearest_training.png", ds.images[train_rows[nearest[show]]],
                  [f"{d:.3f}" for d in pixel_nn[show]], columns=8, caption_lines=1)
        save_grid(out / f"{split}_diversity.png", np.concatenate([v[:DIVERSITY_SAMPLES] for v in variations[:6]]),
                  [p for p in ps.prompts[:6] for _ in range(DIVERSITY_SAMPLES)], columns=DIVERSITY_SAMPLES,
                  caption_lines=1)
    report["composition"] = composition_report(source, judges, seed, out)
    report["wall_seconds"] = round(time.perf_counter() - start, 1)
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "report.md").write_text(markdown(report))
    return report


def per_category(hits, categories) -> dict:
    """R-precision of the prompts of each emoji category, with how many prompts it rests on."""
    categories = np.asarray(categories).astype(str)
    return {c: {"r_precision": float(np.mean(hits[categories == c])), "prompts": int(np.sum(categories == c))}
            for c in sorted(set(categories))}


def composition_report(source, judges: Judges, seed: int, out: Path) -> dict | None:
    """R-precision on the composition prompts against part-sharing distractors (a hit needs
    both parts), and how often the subject alone and the attribute alone are recognised;
    None for a source that cannot draw arbitrary prompts (the real images)."""
    if not hasattr(source, "prompted"):
        return None
    cs = composition_set()
    images = source.prompted(cs.texts, seed, COMPOSITION_SEEDS)  # prompt-major
    show = np.arange(0, len(images), COMPOSITION_SEEDS)[:48]
    save_grid(out / "composition_samples.png", images[show], [cs.texts[i // COMPOSITION_SEEDS] for i in show],
              columns=8, caption_lines=3)
    image_emb = judges.image_embeddings(judges.image_outputs(images)[0])
    report = {"reader": judges.composition_reader,
              **composition_scores(cs, image_emb, judges.text_embeddings(cs.caption_pool, composition=True), seed)}
    if judges.composition_reader != "matcher":  # the single-emoji caption side: earlier reports' reading
        report["matcher"] = composition_scores(cs, image_emb, judges.text_embeddings(cs.caption_pool), seed)
    return report


def composition_scores(cs, image_emb, text_emb, seed: int) -> dict:
    """R-precision of prompt-major image embeddings (``COMPOSITION_SEEDS`` per prompt) against
    part-sharing distractors, with the subject and the attribute recognised apart."""
    owner = np.repeat(np.arange(len(cs.prompts)), COMPOSITION_SEEDS)
    # the true caption of image i must sit at row i of the text table
    text_emb = np.concatenate([text_emb[owner], text_emb])
    candidates = cs.candidates[owner] + len(owner)
    same_subject = candidates[:, :cs.same_subject]  # other attributes: a hit shows the attribute
    same_attribute = candidates[:, cs.same_subject:]  # other subjects: a hit shows the subject

    def rate(c):
        return float(np.mean(metrics.r_precision_hits(image_emb, text_emb, c, seed)))

    kinds = np.array([p.subject_kind for p in cs.prompts])[owner]
    attribute_kinds = np.array([p.attribute_kind for p in cs.prompts])[owner]
    hits = metrics.r_precision_hits(image_emb, text_emb, candidates, seed)
    return {"prompts": len(cs.prompts), "samples": len(image_emb), "distractors": int(candidates.shape[1]),
            "chance": 1.0 / (1 + candidates.shape[1]), "r_precision": float(np.mean(hits)),
            "subject_recognised": rate(same_attribute), "attribute_recognised": rate(same_subject),
            "r_precision_by_subject_kind": {str(k): float(np.mean(hits[kinds == k])) for k in sorted(set(kinds))},
            "r_precision_by_attribute_kind": {str(k): float(np.mean(hits[attribute_kinds == k]))
                                              for k in sorted(set(attribute_kinds))}}


ROWS = [("FID", "fid", "{:.1f}"), ("KID x1000", "kid", None), ("IS", "inception_score", None),
        ("R-precision", "r_precision", "{:.3f}"), ("text-image similarity", "text_image_similarity", "{:.3f}"),
        ("near copies", "near_copy_fraction", "{:.1%}"), ("pixel NN distance (median)", "pixel_nn_median", "{:.3f}"),
        ("feature NN distance (median)", "feature_nn_median", "{:.2f}"),
        ("per-prompt diversity (relative)", "diversity_relative", "{:.2f}")]


def cell(split: dict, key: str, fmt: str | None) -> str:
    if key == "kid":
        return f"{1000 * split['kid']:.1f} ± {1000 * split['kid_std']:.1f}"
    if key == "inception_score":
        return f"{split['inception_score']:.2f} ± {split['inception_score_std']:.2f}"
    return fmt.format(split[key])


def markdown(report: dict) -> str:
    splits = report["splits"]
    if not splits:  # the composition prompts alone
        return "\n".join([f"# Composition of {report['source']}", "", f"Seed {report['seed']}; "
                          f"{report['wall_seconds']:.0f} s.", "", *composition_lines(report.get("composition"))])
    lines = [f"# Evaluation of {report['source']}", "",
             f"Seed {report['seed']}; {splits['train']['samples']} training-prompt and "
             f"{splits['heldout']['samples']} held-out-prompt samples; {report['wall_seconds']:.0f} s.", "",
             "| metric | training prompts | held-out prompts |", "|---|---:|---:|"]
    lines += [f"| {title} | {cell(splits['train'], key, fmt)} | {cell(splits['heldout'], key, fmt)} |"
              for title, key, fmt in ROWS]
    lines += ["", f"Near copy: pixel distance to the nearest training image below "
              f"{report['near_copy_threshold']:.3f} (the 5th percentile of real held-out images).", ""]
    lines += category_lines(report.get("categories", {})) + composition_lines(report.get("composition"))
    for split in ("train", "heldout"):
        lines += [f"## {split} prompts", "", f"![samples]({split}_samples.png)", "",
                  "Nearest training image of each (pixel distance):", "",
                  f"![nearest]({split}_nearest_training.png)", "", "Samples of one prompt:", "",
                  f"![diversity]({split}_diversity.png)", ""]
    return "\n".join(lines)


def category_lines(categories: dict) -> list[str]:
    if not categories:
        return []
    names = sorted(set(categories.get("train", {})) | set(categories.get("heldout", {})))

    def entry(split, name):
        c = categories.get(split, {}).get(name)
        return f"{c['r_precision']:.2f} ({c['prompts']})" if c else "-"

    return (["## R-precision per category", "", "Prompts in brackets.", "",
             "| category | training prompts | held-out prompts |", "|---|---:|---:|"]
            + [f"| {name} | {entry('train', name)} | {entry('heldout', name)} |" for name in names] + [""])


def composition_lines(c: dict | None) -> list[str]:
    if not c:
        return []
    readings = [c] + ([c["matcher"]] if "matcher" in c else [])
    names = [c.get("reader", "matcher")] + (["matcher (single-emoji caption side)"] if "matcher" in c else [])

    def row(title, key, fmt="{:.3f}"):
        return f"| {title} | " + " | ".join(fmt.format(r[key]) for r in readings) + " |"

    def kinds(key):
        return " | ".join(", ".join(f"{k} {v:.2f}" for k, v in r[key].items()) for r in readings)

    return ["## Composition prompts", "",
            f"{c['prompts']} prompts joining a subject and an attribute no single emoji combines, "
            f"{c['samples'] // c['prompts']} samples each, each ranked against {c['distractors']} prompts "
            f"that share one part with it (chance {c['chance']:.3f}).", "",
            "| read through | " + " | ".join(names) + " |", "|---|" + "---:|" * len(readings),
            row("R-precision (both parts)", "r_precision"),
            row("subject recognised (against other subjects, same attribute)", "subject_recognised"),
            row("attribute recognised (against other attributes, same subject)", "attribute_recognised"),
            f"| R-precision by subject kind | {kinds('r_precision_by_subject_kind')} |",
            *([f"| R-precision by attribute kind | {kinds('r_precision_by_attribute_kind')} |"]
              if "r_precision_by_attribute_kind" in c else []), "",
            "![composition](composition_samples.png)", ""]
