"""One seed of a style-conditioned diffusion preset drawn in each of its styles.

    python benchmarks/style_grid.py --preset diffusion-emoji72-styles \\
        --out docs/diffusion/styles_grid.png

Rows: styles (and "any"); columns: training captions, then composition prompts that no emoji
has. The same noise in every row, so a row differs from the next by the style alone.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPTS = ["crying cat", "smiling face with heart-eyes", "thumbs up: dark skin tone", "red heart",
           "pizza", "rocket", "octopus wearing a top hat", "sad strawberry"]
ROWS = ["google", "twitter", "fluent_flat", "openmoji", "noto_v1", "any"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="diffusion-emoji72-styles")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "diffusion" / "styles_grid.png")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    import numpy as np

    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.plotting import save_grid

    pipe = TextToImagePipeline.from_preset(args.preset)
    rows = [s for s in ROWS if s == "any" or s in pipe.styles]
    images = np.concatenate([pipe.sample(PROMPTS, seed=args.seed, style=s) for s in rows])
    captions = [f"{prompt} / {style}" for style in rows for prompt in PROMPTS]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_grid(args.out, images, captions, columns=len(PROMPTS), caption_lines=2)
    print(f"wrote {args.out}: {len(rows)} styles x {len(PROMPTS)} prompts, seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
