"""R-precision per emoji category on as many training prompts in each category.

``evaluate``'s per-category figures rest on its 1,000 training prompts drawn as the drawings
are stored: People & Body gets about 600 of them and Activities about 25, so a category's
figure moves by 0.04 per prompt where it is weakest. This draws the first N prompts of each
category from the evaluation's own training prompt set (same seed, same mismatched captions,
the protocol's styles), samples them with each preset's defaults and scores them with the
judges' matcher, so that presets compare category by category on equal footing.

    python benchmarks/category_precision.py --preset diffusion-emoji72-styles --preset runs/ab/none/preset \
        --per-category 40 --out runs/category_precision

Writes ``category_precision.json`` and one grid per preset (the first 8 prompts of each
category, a row each) to --out; prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
from PIL import Image

from emoji_t2i.console import quiet_tensorflow


def stratified(ps, categories, per_category: int):
    """The sub-``PromptSet`` of the first ``per_category`` prompts of every category that has
    that many, and each prompt's category; the mismatched captions stay the protocol's."""
    from emoji_t2i.evaluation.protocol import PromptSet

    names = [c for c in sorted(set(categories)) if np.sum(categories == c) >= per_category]
    chosen = np.concatenate([np.flatnonzero(categories == c)[:per_category] for c in names])
    n_old = len(ps.prompts)
    prompts = [ps.prompts[i] for i in chosen]
    sub = PromptSet(ps.split, ps.rows[chosen], prompts, ps.partners[chosen],
                    ps.candidates[chosen] - n_old + len(prompts), prompts + list(ps.caption_pool[n_old:]), ps.styles)
    return sub, categories[chosen]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", action="append", required=True, help="a preset's name or folder (repeat)")
    p.add_argument("--per-category", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/category_precision"))
    args = p.parse_args(argv)
    quiet_tensorflow()
    from emoji_t2i.data import load_dataset
    from emoji_t2i.evaluation import metrics, sources
    from emoji_t2i.evaluation.judges import Judges
    from emoji_t2i.evaluation.protocol import comparison_styles, prompt_set
    from emoji_t2i.evaluation.report import per_category
    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.plotting import save_grid

    ds, judges = load_dataset(), Judges.load()
    full = prompt_set(ds, "train", None, args.seed)
    ps, categories = stratified(full, ds.metadata["category"][full.rows].astype(str), args.per_category)
    text_emb = judges.text_embeddings(ps.caption_pool)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {"per_category": args.per_category, "seed": args.seed, "prompts": len(ps.prompts), "presets": {}}
    for k, preset in enumerate(args.preset):
        start = time.perf_counter()
        pipe = TextToImagePipeline.from_preset(preset)
        source = sources.PipelineSource(pipe, preset, styles=comparison_styles(ds))
        images = source.samples(ps, args.seed)
        hits = metrics.r_precision_hits(judges.image_embeddings(judges.image_outputs(images)[0]), text_emb,
                                        ps.candidates, args.seed)
        results["presets"][preset] = {"r_precision": float(np.mean(hits)), "categories": per_category(hits, categories),
                                      "seconds": round(time.perf_counter() - start, 1)}
        show = np.concatenate([np.flatnonzero(categories == c)[:8] for c in sorted(set(categories))])
        slug = re.sub(r"[^\w-]+", "_", preset).strip("_")
        grid = save_grid(args.out / f"grid_{k}_{slug}.png", images[show], [ps.prompts[i] for i in show],
                         columns=8, caption_lines=1)
        # 256 colours: a third of the bytes, as docs/diffusion/category_grid_styles.png is stored
        Image.open(grid).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT,
                                                 dither=Image.Dither.NONE).save(grid, optimize=True)
        print(f"{preset}: R-precision {np.mean(hits):.3f} over {len(hits)} prompts "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    (args.out / "category_precision.json").write_text(json.dumps(results, indent=1) + "\n")
    names = sorted(set(categories))
    print(f"\n| category ({args.per_category} prompts each) | " + " | ".join(args.preset) + " |")
    print("|---|" + "---:|" * len(args.preset))
    for c in [*names, None]:
        cells = [results["presets"][p]["categories"][c]["r_precision"] if c else results["presets"][p]["r_precision"]
                 for p in args.preset]
        print(f"| {c or 'all'} | " + " | ".join(f"{v:.2f}" for v in cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
