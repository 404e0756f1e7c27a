"""``python -m emoji_t2i.blend``: network blending of two StyleGANs (a parent's two fine-tunes).

    python -m emoji_t2i.blend stylegan-emoji72-google stylegan-emoji72-twitter --figure docs/stylegan/blend.png
    python -m emoji_t2i.blend runs/google runs/twitter --level 18 --save runs/blend18   # a preset to sample from

Rows are seeds; columns the first model, the blends that keep its layers up to 9, 18 and
36 px and take the second's above, and the second model. The same w drives every column.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

LEVELS = (9, 18, 36)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m emoji_t2i.blend", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("first", help="run or preset whose low-resolution layers (structure) are kept")
    p.add_argument("second", help="run or preset whose high-resolution layers (style) are taken")
    p.add_argument("--level", type=int, choices=LEVELS, help="with --save: the one blend to write")
    p.add_argument("--save", type=Path, help="write the blend at --level as a preset folder")
    p.add_argument("-n", type=int, default=6, help="seeds in the figure")
    p.add_argument("--truncation-psi", type=float, default=0.7)
    p.add_argument("--figure", type=Path, default=Path("blend.png"))
    args = p.parse_args(argv)
    if args.save and args.level is None:  # before both models load and blend
        print("error: --save needs --level (9, 18 or 36)", file=sys.stderr)
        return 2
    from emoji_t2i.console import check_image_output, quiet_tensorflow

    quiet_tensorflow()
    from emoji_t2i.errors import EmojiT2IError
    from emoji_t2i.pipelines.checks import check_count, check_sampling_options
    from emoji_t2i.pipelines.stylegan import StyleGANPipeline
    from emoji_t2i.plotting import MAX_GRID, check_grid_size, save_grid

    try:
        check_count(args.n, "-n")
        check_grid_size(args.n * (len(LEVELS) + 2), f"-n {args.n}", f"use -n {MAX_GRID // (len(LEVELS) + 2)} or fewer")
        check_sampling_options({"truncation_psi": args.truncation_psi})
        check_image_output(args.figure, "--figure")
        first, second = StyleGANPipeline.load(args.first), StyleGANPipeline.load(args.second)
        blends = {level: first.blend(second, level) for level in LEVELS}
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.save:
        from emoji_t2i.pipelines import save_preset

        blend = blends[args.level]
        save_preset(blend.model, blend.tokenizer, args.save,
                    {"blend": {"first": args.first, "second": args.second, "level": args.level}})
        print(f"wrote {args.save}")
    import numpy as np

    columns = [first, *blends.values(), second]
    images = []
    for seed in range(args.n):
        w = first.latents(1, seed, truncation_psi=args.truncation_psi)
        images += [pipe.synthesize(w)[0] for pipe in columns]
    names = [Path(args.first).name, *[f"<= {lv} px" for lv in LEVELS], Path(args.second).name]
    captions = [names[j] if i == 0 else "" for i in range(args.n) for j in range(len(columns))]
    save_grid(args.figure, np.stack(images), captions, columns=len(columns), scale=2, caption_lines=2,
              title=f"blend: {names[0]}'s layers up to a resolution, {names[-1]}'s above")
    print(f"wrote {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
