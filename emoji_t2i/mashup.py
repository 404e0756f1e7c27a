"""``python -m emoji_t2i.mashup "first" "second"``: Emoji Kitchen-style mash-ups of two prompts.

    python -m emoji_t2i.mashup "jack-o-lantern" "smiling face with horns" --seed 0
    python -m emoji_t2i.mashup "ghost" "grinning face" --mix 0.3 --mix 0.5 --mix 0.7 -n 6
    python -m emoji_t2i.mashup "panda face" "angry face" --method interpolate -o panda.png

Writes a grid: a row per mix value (0 is the first prompt's own sample, 1 the second's), ``-n``
seeds per row; the same seed gives the same images. Methods are compared in docs/app.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoji_t2i.console import quiet_tensorflow
from emoji_t2i.editing_cli import add_diffusion_arguments, diffusion_options, open_diffusion_pipeline


def build_parser() -> argparse.ArgumentParser:
    from emoji_t2i.pipelines.editing_options import DEFAULT_MASHUP, MASHUP_METHODS

    p = argparse.ArgumentParser(prog="python -m emoji_t2i.mashup", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("first", help="the first prompt (mix 0)")
    p.add_argument("second", help="the second prompt (mix 1)")
    p.add_argument("--mix", type=float, action="append",
                   help="0 = first, 1 = second; repeat for several rows (default 0.5)")
    p.add_argument("--method", choices=MASHUP_METHODS, default=DEFAULT_MASHUP,
                   help=f"how the prompts are joined (default {DEFAULT_MASHUP})")
    p.add_argument("--no-ends", action="store_true", help="leave out the rows of the two prompts alone")
    add_diffusion_arguments(p)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    quiet_tensorflow()
    from tqdm.auto import tqdm

    from emoji_t2i.errors import EmojiT2IError
    from emoji_t2i.pipelines.checks import prompt_list
    from emoji_t2i.pipelines.editing import check_fractions
    from emoji_t2i.plotting import save_grid
    from emoji_t2i.png_parameters import command_record, png_info

    output = args.output or Path("mashup.png")
    try:
        mixes = check_fractions(args.mix or [0.5], "--mix")
        if not args.no_ends:
            mixes = [0.0, *[m for m in mixes if m not in (0.0, 1.0)], 1.0]
        pipe, seed = open_diffusion_pipeline(args, output, rows=len(mixes), prompts=[args.first, args.second])
        options = diffusion_options(args)
        steps = options.get("num_steps", pipe.options.get("num_steps", 1))
        with tqdm(total=len(mixes) * steps, desc="mash-up", unit="step") as bar:
            images = pipe.mashup(args.first, args.second, mix=mixes, seed=seed, n=args.n, method=args.method,
                                 progress=bar.update, **options)
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    first, second = prompt_list([args.first, args.second])  # emoji captioned by name, as the model read them
    labels = {0.0: first, 1.0: second}
    captions = [(labels.get(m) or f"{args.method} mix {m:g}") if j == 0 else "" for m in mixes for j in range(args.n)]
    save_grid(output, images, captions, columns=args.n, caption_lines=2, scale=2,
              pnginfo=png_info(command_record("mashup", sys.argv[1:] if argv is None else argv, seed)))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
