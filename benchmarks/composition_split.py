"""Can sampling alone join the parts? The composition prompts drawn by composable guidance over
their parts (the subject, "octopus", and the attribute's words, "wearing a top hat"; Liu et al.
2022, the app's Mash-up ``compose``) instead of the whole prompt, scored as ``evaluate`` scores
them (4 samples per prompt, the composition caption side; chance 1/47).

    python benchmarks/composition_split.py [--preset diffusion-emoji72] [--steps 6] [--out DIR]

Each variant is a list of (condition, weight); guidance is the preset's, so weights summing to
2 guide twice as hard. Writes each variant's grid (the first sample of 48 prompts) to --out.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from emoji_t2i.console import quiet_tensorflow

VARIANTS = {  # name: (description, (prompt, subject, attribute) weights)
    "prompt": ("the prompt", (1.0, 0.0, 0.0)),
    "parts_half": ("subject + attribute, 1/2 each", (0.0, 0.5, 0.5)),
    "parts_full": ("subject + attribute, 1 each", (0.0, 1.0, 1.0)),
    "all_thirds": ("prompt + subject + attribute, 1/3 each", (1 / 3, 1 / 3, 1 / 3)),
    "prompt_attribute": ("prompt + attribute, 1/2 each", (0.5, 0.0, 0.5)),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="diffusion-emoji72")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--out", type=Path, default=Path("runs/composition_split"))
    args = p.parse_args(argv)
    quiet_tensorflow()
    import tensorflow as tf

    from emoji_t2i.evaluation.composition import composition_set
    from emoji_t2i.evaluation.judges import Judges
    from emoji_t2i.evaluation.report import COMPOSITION_SEEDS, composition_scores
    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.pipelines.text_to_image import initial_noise, to_uint8
    from emoji_t2i.plotting import save_grid

    pipe, judges, cs = TextToImagePipeline.from_preset(args.preset), Judges.load(), composition_set()
    style = "google" if pipe.styles else None  # a styled model in the FID reference's style
    parts = [cs.texts, [q.subject for q in cs.prompts], [q.attribute.replace("{}", "").strip() for q in cs.prompts]]
    features = [pipe.text_features(texts, style) for texts in parts]
    readers = {"composition": judges.text_embeddings(cs.caption_pool, composition=True),
               "matcher": judges.text_embeddings(cs.caption_pool)}
    args.out.mkdir(parents=True, exist_ok=True)
    print("| variant | composition R-precision (matcher) | subject recognised | attribute recognised | s |\n"
          "|---|---:|---:|---:|---:|")
    results = {}
    for name, (description, weights) in VARIANTS.items():
        start, images = time.perf_counter(), []
        for chunk, first in enumerate(range(0, len(cs.texts), 8)):
            rows = np.repeat(np.arange(first, min(first + 8, len(cs.texts))), COMPOSITION_SEEDS)
            noise = initial_noise(len(rows), pipe.model.noise_shape, 500, chunk)
            conditions = [(tf.gather(f, rows), w) for f, w in zip(features, weights, strict=True) if w]
            images.append(to_uint8(pipe.model.sample_conditions(conditions, noise, num_steps=args.steps)))
        images = np.concatenate(images)
        embedded = judges.image_embeddings(judges.image_outputs(images)[0])
        scores = {side: composition_scores(cs, embedded, text, 0) for side, text in readers.items()}
        results[name] = {"description": description, **scores, "seconds": time.perf_counter() - start}
        c = scores["composition"]
        print(f"| {description} | {c['r_precision']:.3f} ({scores['matcher']['r_precision']:.3f}) | "
              f"{c['subject_recognised']:.2f} | {c['attribute_recognised']:.2f} | {results[name]['seconds']:.0f} |",
              flush=True)
        show = np.arange(0, len(images), COMPOSITION_SEEDS)[:48]
        save_grid(args.out / f"{args.preset}_{name}.png", images[show],
                  [cs.texts[i // COMPOSITION_SEEDS] for i in show], columns=8, caption_lines=3)
    (args.out / f"{args.preset}.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
