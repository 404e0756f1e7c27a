"""A grid of training composites (``data/composites.py``), as ``train_jax bundle --composites``
makes them: docs/diffusion/composites.png.

    python benchmarks/composites_grid.py [--out docs/diffusion/composites.png] [-n 24] [--seed 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from emoji_t2i.console import quiet_tensorflow


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("docs/diffusion/composites.png"))
    p.add_argument("-n", type=int, default=24)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    quiet_tensorflow()
    from emoji_t2i.data import load_dataset
    from emoji_t2i.data.composites import composite_examples
    from emoji_t2i.evaluation.composition import composition_pairs
    from emoji_t2i.plotting import save_grid

    train = load_dataset("embedded").subset("train")
    made = composite_examples(train, args.n, seed=args.seed, exclude=composition_pairs())
    save_grid(args.out, made.images, [c[0] for c in made.captions], columns=8, scale=2, caption_lines=2,
              title="composites: training drawings of pairs no emoji has (each in one of the eight styles)")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
