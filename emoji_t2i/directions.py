"""``python -m emoji_t2i.directions``: SeFa directions of a StyleGAN run or preset, and their figure.

    python -m emoji_t2i.directions --run runs/stylegan              # -> runs/stylegan/directions.npz + .png
    python -m emoji_t2i.directions --preset stylegan-emoji72 --figure docs/stylegan/sefa.png

Closed form (no training, under a second): the top-k eigenvectors of the stacked style
weights of the chosen layers. The figure has one row per direction and one column per
step from -3 to +3 standard deviations of w along it, for one seed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EDIT_STEPS = (-3, -2, -1, 0, 1, 2, 3)  # a direction's columns, in standard deviations


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m emoji_t2i.directions", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, help="a stylegan run directory (directions are written into it)")
    source.add_argument("--preset", help="a stylegan preset's name or folder")
    p.add_argument("-k", type=int, default=5, help="directions (default 5)")
    p.add_argument("--layers", default="coarse", help="coarse (9-18 px, default), middle, fine or all")
    p.add_argument("--seed", type=int, default=0, help="the seed the figure edits")
    p.add_argument("--truncation-psi", type=float, default=0.7)
    p.add_argument("--figure", type=Path, help="figure path (default: <run>/directions.png)")
    args = p.parse_args(argv)
    if args.k < 1:
        print("error: -k must be at least 1", file=sys.stderr)
        return 2
    from emoji_t2i.console import check_image_output, quiet_tensorflow

    quiet_tensorflow()
    from emoji_t2i.errors import EmojiT2IError
    from emoji_t2i.pipelines.checks import check_sampling_options, check_seed
    from emoji_t2i.pipelines.stylegan import SEFA_LAYERS, StyleGANPipeline
    from emoji_t2i.plotting import MAX_GRID, check_grid_size, save_grid

    if args.layers not in SEFA_LAYERS:
        print(f"error: --layers {args.layers}: use one of {', '.join(SEFA_LAYERS)}", file=sys.stderr)
        return 2
    figure = args.figure or (args.run / "directions.png" if args.run else Path("directions.png"))
    try:
        check_seed(args.seed)
        check_grid_size(args.k * len(EDIT_STEPS), f"-k {args.k}", f"use -k {MAX_GRID // len(EDIT_STEPS)} or fewer")
        check_sampling_options({"truncation_psi": args.truncation_psi})
        pipe = StyleGANPipeline.from_run(args.run) if args.run else StyleGANPipeline.from_preset(args.preset)
        check_image_output(figure, "--figure")
        directions = pipe.directions(args.k, args.layers)
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.run:
        directions.save(args.run / "directions.npz")
        print(f"wrote {args.run / 'directions.npz'}")
    import numpy as np

    steps = np.array(EDIT_STEPS)
    w = pipe.latents(1, args.seed, truncation_psi=args.truncation_psi)
    rows = [pipe.edit(w, directions, np.eye(args.k)[i] * s)[0] for i in range(args.k) for s in steps]
    images = pipe.synthesize(np.stack(rows))
    captions = [f"dir {i} ({directions.eigenvalues[i]:.1f}) {s:+.0f}" if j == 0 else f"{s:+.0f}"
                for i in range(args.k) for j, s in enumerate(steps)]
    figure.parent.mkdir(parents=True, exist_ok=True)
    save_grid(figure, images, captions, columns=len(steps), scale=2, caption_lines=1,
              title=f"SeFa directions ({args.layers} layers), seed {args.seed}, std -3..+3")
    print(f"wrote {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
