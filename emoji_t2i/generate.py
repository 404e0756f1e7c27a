"""``python -m emoji_t2i.generate --run DIR "prompt" ...``: emoji from a trained run.

    python -m emoji_t2i.generate --run runs/default-cgan "crying cat" "pizza" -n 4 -o grid.png
    python -m emoji_t2i.generate --run runs/default-cgan "red heart" --out-dir hearts/
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m emoji_t2i.generate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=Path, help="a run directory written by train")
    p.add_argument("prompts", nargs="+", help="one or more prompts")
    p.add_argument("-n", type=int, default=4, help="images per prompt (default 4)")
    p.add_argument("--seed", type=int, default=0, help="noise seed: same seed, same images")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", type=Path, help="captioned grid PNG (default samples.png)")
    out.add_argument("--out-dir", type=Path, help="one RGBA PNG per image instead of a grid")
    args = p.parse_args(argv)
    from PIL import Image

    from emoji_t2i.plotting import save_grid
    from emoji_t2i.text_to_emoji import TextToEmojiPipeline
    from emoji_t2i.training.run_dir import RunError

    if args.n < 1:
        print("error: -n must be at least 1", file=sys.stderr)
        return 2
    try:
        pipe = TextToEmojiPipeline.from_run(args.run)
    except RunError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    images = pipe(args.prompts, n=args.n, seed=args.seed)
    if args.out_dir:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(images):
            slug = re.sub(r"[^a-z0-9]+", "_", args.prompts[i // args.n].lower()).strip("_")[:40]
            Image.fromarray(image, "RGBA").save(args.out_dir / f"{i:03d}_{slug or 'prompt'}.png")
        print(f"wrote {len(images)} PNGs to {args.out_dir}")
    else:
        path = args.output or Path("samples.png")
        captions = [p if j == 0 else "" for p in args.prompts for j in range(args.n)]
        save_grid(path, images, captions, columns=args.n, caption_lines=2)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
