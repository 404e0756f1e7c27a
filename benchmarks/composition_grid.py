"""Composition prompts drawn by two presets, two seeds each, a row per preset and seed: how the
small-world runs with and without composites draw pairs they never saw
(docs/diffusion/composites_cpu_world.png).

    python benchmarks/composition_grid.py runs/world-plain-preset runs/world-composites-preset \
        --labels without with --out docs/diffusion/composites_cpu_world.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from emoji_t2i.console import quiet_tensorflow

PROMPTS = ["octopus wearing a top hat", "frog wearing a top hat", "dog wearing a crown", "turtle wearing a crown",
           "crab wearing sunglasses", "penguin on fire", "owl with a rainbow", "cold frog"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("presets", nargs="+")
    p.add_argument("--labels", nargs="+", help="one per preset (default: the folder names)")
    p.add_argument("--out", type=Path, default=Path("composition_grid.png"))
    p.add_argument("--num-steps", type=int, default=20)
    p.add_argument("--style", default="google")
    args = p.parse_args(argv)
    quiet_tensorflow()
    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.plotting import save_grid

    labels = args.labels or [Path(p).name for p in args.presets]
    images, captions = [], []
    for preset, label in zip(args.presets, labels, strict=True):
        pipe = TextToImagePipeline.from_preset(preset)
        for seed in (0, 1):
            images.append(pipe.sample(PROMPTS, seed=seed, num_steps=args.num_steps, style=args.style))
            captions += [f"{prompt} ({label})" for prompt in PROMPTS]
    save_grid(args.out, np.concatenate(images), captions, columns=len(PROMPTS), scale=2, caption_lines=2,
              title=f"composition prompts (pairs never trained), {args.num_steps} steps, style {args.style}; "
                    f"two rows (seeds 0 and 1) per model: {', '.join(labels)}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
