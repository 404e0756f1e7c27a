"""The figures of the shipped diffusion model (README, docs/models/diffusion.md).

    python benchmarks/figures.py [--preset diffusion-emoji72] [--num-steps 6] [--out docs/diffusion]
    python benchmarks/figures.py --progress runs/diffusion-ft --gif progress_finetune.gif

docs/diffusion/text_to_emoji.png   16 prompts (8 training captions, 8 held-out emoji the
                                   model never saw, marked) x 4 seeds
docs/diffusion/one_prompt.png      one prompt x 8 seeds (diversity)
docs/diffusion/guidance.png        one seed, guidance scale 1 / 2 / 3 / 5 / 8 for 4 prompts
docs/diffusion/<gif>               with --progress RUN: the run's per-epoch grids (epochs 1, 2,
                                   then every other one, and the last), at half size
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "diffusion"

TRAIN_PROMPTS = ["smiling face with heart-eyes", "crying cat", "red heart", "pizza", "rocket",
                 "thumbs up: dark skin tone", "sun", "flag: japan"]


def heldout_prompts(count: int = 8, seed: int = 0) -> list[str]:
    import numpy as np

    from emoji_t2i.data import load_dataset

    held = load_dataset().subset("heldout")
    base = sorted({held.captions[i][0] for i in range(len(held)) if not held.metadata["skin_tone"][i]})
    return np.random.default_rng(seed).choice(base, count, replace=False).tolist()


def progress_gif(run: Path, path: Path) -> None:
    from PIL import Image

    grids = sorted((run / "samples").glob("epoch_*.png"))
    if not grids:
        raise SystemExit(f"{run}/samples has no epoch grids")
    keep = [g for i, g in enumerate(grids, 1) if i in (1, 2) or i % 2 == 0 or g == grids[-1]]
    frames = []
    for g in keep:
        image = Image.open(g).convert("RGB")
        frames.append(image.resize((image.width // 2, image.height // 2), Image.LANCZOS))
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=600, loop=0, optimize=True)
    print(f"wrote {path}: {len(frames)} frames ({', '.join(g.stem.split('_')[1].lstrip('0') for g in keep)})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="diffusion-emoji72")
    p.add_argument("--num-steps", type=int, help="sampling steps (default: the preset's)")
    p.add_argument("--guidance-scale", type=float, help="guidance scale (default: the preset's)")
    p.add_argument("--out", type=Path, default=OUT, help="folder for the figures")
    p.add_argument("--progress", help="a run directory: make only its progress GIF")
    p.add_argument("--gif", default="progress.gif", help="the GIF's file name under docs/diffusion")
    args = p.parse_args()
    if args.progress:
        progress_gif(Path(args.progress), args.out / args.gif)
        return
    out = args.out
    import numpy as np

    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.plotting import save_grid

    out.mkdir(parents=True, exist_ok=True)
    pipe = TextToImagePipeline.from_preset(args.preset)
    options = {k: v for k, v in (("num_steps", args.num_steps), ("guidance_scale", args.guidance_scale))
               if v is not None}
    steps = {k: v for k, v in options.items() if k == "num_steps"}
    held = heldout_prompts()
    prompts = TRAIN_PROMPTS + held
    images = pipe.sample(prompts, seed=0, n=4, **options)
    captions = [(f"[held-out] {q}" if q in held else q) if j == 0 else "" for q in prompts for j in range(4)]
    # two prompts per row: 8 columns
    save_grid(out / "text_to_emoji.png", images, captions, columns=8, caption_lines=2)
    save_grid(out / "one_prompt.png", pipe.sample(["crying cat"], seed=1, n=8, **options),
              ["crying cat"] + [""] * 7, columns=8)
    scales = (1.0, 2.0, 3.0, 5.0, 8.0)
    rows = []
    for q in ("crying cat", "red heart", "rocket", held[0]):
        rows += [pipe.sample([q], seed=2, n=1, guidance_scale=s, **steps)[0] for s in scales]
    save_grid(out / "guidance.png", np.stack(rows),
              [f"{q[:18]} g={s:g}" for q in ("crying cat", "red heart", "rocket", held[0]) for s in scales],
              columns=len(scales))
    print(f"wrote {out}/text_to_emoji.png, one_prompt.png, guidance.png; held-out prompts: {held}")


if __name__ == "__main__":
    main()
