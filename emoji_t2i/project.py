"""``python -m emoji_t2i.project image.png``: find the StyleGAN w of an image, then edit it.

    python -m emoji_t2i.project my_emoji.png --steps 200 -o projected.png
    python -m emoji_t2i.project my_emoji.png --preset stylegan-emoji72 --edit 0=2 --edit 1=-1.5

The image is fitted into 72x72 RGBA (transparency kept). The output shows the target, the
projection and, with --edit DIRECTION=AMOUNT (SeFa directions, slider units), the edit;
--save-w writes w for later use.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m emoji_t2i.project", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", type=Path, help="a PNG, JPEG or any image PIL opens")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--run", type=Path, help="a stylegan run")
    source.add_argument("--preset", default="stylegan-emoji72", help="a stylegan preset (default: shipped)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--edit", action="append", default=[], metavar="DIRECTION=AMOUNT")
    p.add_argument("-o", "--output", type=Path, default=Path("projected.png"))
    p.add_argument("--save-w", type=Path, help="write w (.npy)")
    args = p.parse_args(argv)
    from emoji_t2i.console import check_image_output, check_writable, quiet_tensorflow

    quiet_tensorflow()
    import numpy as np
    from tqdm.auto import tqdm

    from emoji_t2i.data.images import load_rgba72
    from emoji_t2i.errors import EmojiT2IError
    from emoji_t2i.pipelines.stylegan import StyleGANPipeline
    from emoji_t2i.plotting import save_grid

    try:
        edits = {int(k): float(v) for k, v in (e.split("=", 1) for e in args.edit)}
    except ValueError:
        print(f"error: --edit {args.edit}: expected DIRECTION=AMOUNT, e.g. --edit 0=2", file=sys.stderr)
        return 2
    if any(k < 0 for k in edits):
        print(f"error: --edit {args.edit}: a direction is a number from 0 (the strongest), e.g. --edit 0=2",
              file=sys.stderr)
        return 2
    if not all(np.isfinite(v) for v in edits.values()):  # a NaN amount drew a blank edit with a numpy warning
        print(f"error: --edit {args.edit}: an amount is a finite number, e.g. --edit 0=2", file=sys.stderr)
        return 2
    if args.save_w and args.save_w.suffix != ".npy":  # numpy would write w.txt as w.txt.npy
        print(f"error: --save-w {args.save_w}: w is written as a .npy file; end the name in .npy", file=sys.stderr)
        return 2
    if args.steps < 1:
        print(f"error: --steps {args.steps}: use a whole number of at least 1", file=sys.stderr)
        return 2
    try:  # the outputs are checked before minutes of projecting, not after
        check_image_output(args.output, "-o")
        if args.save_w:
            check_writable(args.save_w, "--save-w")
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        target = load_rgba72(args.image)
    except (OSError, ValueError) as e:
        print(f"error: {args.image}: not an image PIL can open ({e}); pass a PNG or JPEG", file=sys.stderr)
        return 2
    try:
        pipe = StyleGANPipeline.from_run(args.run) if args.run else StyleGANPipeline.from_preset(args.preset)
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if edits and max(edits) >= pipe.model.w_dim:
        print(f"error: --edit {args.edit}: this model has directions 0 to {pipe.model.w_dim - 1}", file=sys.stderr)
        return 2
    with tqdm(total=args.steps, desc="projecting", unit="step") as bar:
        w, image, losses = pipe.project(target, args.steps,
                                        progress=lambda i, loss: (bar.update(1), bar.set_postfix(loss=f"{loss:.3f}")))
    print(f"projected in {pipe.last_projection_seconds:.1f} s; loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    images, captions = [target, image[0]], ["target", f"projection ({args.steps} steps)"]
    if edits:
        directions = pipe.directions(max(edits) + 1)
        amounts = np.zeros(len(directions.vectors))
        for k, v in edits.items():
            amounts[k] = v
        images.append(pipe.synthesize(pipe.edit(w, directions, amounts))[0])
        captions.append(" ".join(f"{k}:{v:+g}" for k, v in edits.items()))
    save_grid(args.output, np.stack(images), captions, columns=len(images), scale=2, caption_lines=2)
    if args.save_w:
        np.save(args.save_w, w)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
