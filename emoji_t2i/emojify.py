"""``python -m emoji_t2i.emojify photo.jpg "prompt"``: your photo as an emoji (SDEdit).

    python -m emoji_t2i.emojify me.jpg "person" --seed 0
    python -m emoji_t2i.emojify cat.jpg "cat face" --strength 0.85 --strength 0.95 -n 4 -o cat.png

The photo is centre-cropped to a square, resized to 72x72 and (when opaque) cut to a soft
disc, noised to ``--strength`` (0 keeps it, 1 ignores it) and denoised towards the prompt by
the diffusion model. Writes a grid: the crop, then a row per strength with ``-n`` seeds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoji_t2i.console import quiet_tensorflow
from emoji_t2i.editing_cli import add_diffusion_arguments, diffusion_options, open_diffusion_pipeline


def build_parser() -> argparse.ArgumentParser:
    from emoji_t2i.pipelines.editing_options import EMOJIFY_STRENGTH as DEFAULT_STRENGTH

    p = argparse.ArgumentParser(prog="python -m emoji_t2i.emojify", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("photo", type=Path, help="a PNG or JPEG (any size)")
    p.add_argument("prompt", help="what the emoji should be, e.g. 'person' or 'cat face'")
    p.add_argument("--strength", type=float, action="append",
                   help=f"0 keeps the photo, 1 ignores it; repeat for several rows (default {DEFAULT_STRENGTH})")
    add_diffusion_arguments(p)
    return p


def read_photo(path: Path):
    """(H, W, 3 or 4) uint8 of an image file, or a one-line UsageError naming it."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from emoji_t2i.data.images import to_rgba
    from emoji_t2i.errors import UsageError

    try:
        with Image.open(path) as image:
            image.load()
            return np.asarray(to_rgba(image))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file; give the path of a PNG or JPEG") from None
    except (UnidentifiedImageError, OSError) as e:
        raise UsageError(f"{path}: not an image Pillow can read ({e.__class__.__name__}); give a PNG or JPEG") from None


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    quiet_tensorflow()
    import numpy as np
    from tqdm.auto import tqdm

    from emoji_t2i.errors import EmojiT2IError
    from emoji_t2i.pipelines.checks import prompt_list
    from emoji_t2i.pipelines.editing import check_fractions, prepare_photo
    from emoji_t2i.pipelines.editing_options import EMOJIFY_STRENGTH
    from emoji_t2i.plotting import save_grid
    from emoji_t2i.png_parameters import command_record, png_info

    output = args.output or Path("emojified.png")
    try:
        strengths = check_fractions(args.strength or [EMOJIFY_STRENGTH], "--strength")
        photo = read_photo(args.photo)
        # a row for the photo, one per strength
        pipe, seed = open_diffusion_pipeline(args, output, rows=len(strengths) + 1, prompts=[args.prompt])
        options = diffusion_options(args)
        steps = options.get("num_steps", pipe.options.get("num_steps", 1))
        rows = []
        with tqdm(total=sum(int(np.ceil(steps * s)) for s in strengths), desc="emojify", unit="step") as bar:
            for strength in strengths:
                rows.append(pipe.emojify(photo, args.prompt, strength=strength, seed=seed, n=args.n,
                                         progress=bar.update, **options))
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    crop = prepare_photo(photo)[None]
    blank = np.zeros((args.n - 1, *crop.shape[1:]), np.uint8)
    images = np.concatenate([crop, blank, *rows])
    captions = ["your photo"] + [""] * (args.n - 1) + [
        f"{prompt_list(args.prompt)[0]} @ strength {s:g}" if j == 0 else "" for s in strengths for j in range(args.n)]
    save_grid(output, images, captions, columns=args.n, caption_lines=2, scale=2,
              pnginfo=png_info(command_record("emojify", sys.argv[1:] if argv is None else argv, seed)))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
