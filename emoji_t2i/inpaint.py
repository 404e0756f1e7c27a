"""``python -m emoji_t2i.inpaint image.png "prompt" --region eyes``: redraw part of an emoji.

    python -m emoji_t2i.inpaint neutral_face.png "sleeping face" --region eyes --seed 0
    python -m emoji_t2i.inpaint cat.png "grinning cat" --mask white_mouth.png -n 8 -o grin.png

The image (an emoji PNG, or a photo framed as ``emojify`` frames it) is kept where the mask is
black and redrawn after the prompt where it is white: ``--region`` names a band of an emoji
face (top, eyes, mouth, bottom, left, right), ``--mask`` takes a greyscale image of any size.
Writes a grid: the image and the mask over it, then ``-n`` seeds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoji_t2i.console import quiet_tensorflow
from emoji_t2i.editing_cli import add_diffusion_arguments, diffusion_options, open_diffusion_pipeline
from emoji_t2i.emojify import read_photo


def build_parser() -> argparse.ArgumentParser:
    from emoji_t2i.pipelines.editing_options import INPAINT_REGIONS

    p = argparse.ArgumentParser(prog="python -m emoji_t2i.inpaint", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", type=Path, help="an emoji PNG (or any PNG or JPEG)")
    p.add_argument("prompt", help="what the redrawn emoji should be, e.g. 'sleeping face'")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--region", choices=tuple(INPAINT_REGIONS), help="a band of an emoji face to redraw")
    where.add_argument("--mask", type=Path, help="an image, white where to redraw and black where to keep")
    p.add_argument("--strength", type=float, default=1.0,
                   help="1 (default) draws the region from pure noise; below 1 starts from the image there")
    add_diffusion_arguments(p)
    return p


def overlay(image, redraw):
    """The image with the region to redraw tinted magenta, for the grid."""
    import numpy as np

    from emoji_t2i.pipelines.editing import prepare_photo

    frame = prepare_photo(image).astype(np.float32)
    tint = np.array([255.0, 0.0, 200.0, 255.0])
    return np.round(frame * (1.0 - 0.6 * redraw) + tint * 0.6 * redraw).astype(np.uint8)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    quiet_tensorflow()
    import numpy as np
    from tqdm.auto import tqdm

    from emoji_t2i.errors import EmojiT2IError
    from emoji_t2i.pipelines.checks import prompt_list
    from emoji_t2i.pipelines.editing import check_fractions, redraw_mask
    from emoji_t2i.plotting import save_grid
    from emoji_t2i.png_parameters import command_record, png_info

    output = args.output or Path("inpainted.png")
    try:
        (strength,) = check_fractions(args.strength, "--strength")
        image = read_photo(args.image)
        mask = args.region or read_photo(args.mask)[..., :3].mean(-1).round().astype(np.uint8)
        redraw = redraw_mask(mask)  # before the model loads: a mask that marks nothing is refused here
        pipe, seed = open_diffusion_pipeline(args, output, rows=2, prompts=[args.prompt])
        options = diffusion_options(args)
        steps = options.get("num_steps", pipe.options.get("num_steps", 1))
        with tqdm(total=int(np.ceil(steps * strength)), desc="inpaint", unit="step") as bar:
            images = pipe.inpaint(image, args.prompt, redraw, strength=strength, seed=seed, n=args.n,
                                  progress=bar.update, **options)
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    shown = np.zeros((args.n, *images.shape[1:]), np.uint8)
    shown[0] = overlay(image, 0.0)
    if args.n > 1:
        shown[1] = overlay(image, redraw)
    region = args.region or args.mask.name
    captions = ["your image", f"redrawn: {region}"][:args.n] + [""] * max(0, args.n - 2) + [
        prompt_list(args.prompt)[0]] + [""] * (args.n - 1)
    save_grid(output, np.concatenate([shown, images]), captions, columns=args.n, caption_lines=2, scale=2,
              pnginfo=png_info(command_record("inpaint", sys.argv[1:] if argv is None else argv, seed)))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
