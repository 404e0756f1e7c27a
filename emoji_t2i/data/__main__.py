"""``python -m emoji_t2i.data {build,info,sheet}``: rebuild, describe or preview a dataset."""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

from emoji_t2i.data.dataset import embedded_dataset_dir
from emoji_t2i.data.load import load_dataset
from emoji_t2i.errors import EmojiT2IError


def _info(args) -> None:
    ds = load_dataset(args.data, skip_bad=args.skip_bad)
    captions = sum(len(c) for c in ds.captions)
    print(f"dataset {ds.source}: {len(ds)} images, {len(set(ds.identity))} identities, "
          f"{captions} captions ({captions / max(1, len(ds)):.1f} per image)")
    for title, column in (("split", ds.split), ("vendor", ds.metadata["vendor"]),
                          ("category", ds.metadata["category"])):
        counts = collections.Counter(column.tolist())
        print(f"\nby {title}:")
        for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {key or '(none)':<24} {count:>6}")


def _sheet(args) -> None:
    import numpy as np

    from emoji_t2i.plotting import save_grid

    ds = load_dataset(args.data)
    rows = np.random.default_rng(args.seed).choice(len(ds), size=min(args.n, len(ds)), replace=False)
    path = save_grid(args.out, ds.images[rows], [ds.captions[i][0] for i in rows],
                     columns=8, scale=1, title=f"{args.n} random images of {Path(ds.source).name}")
    print(f"wrote {path}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emoji_t2i.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="rebuild the embedded artifact from npm packages (needs npm)")
    b.add_argument("--out", type=Path, default=embedded_dataset_dir())
    i = sub.add_parser("info", help="counts by split, vendor and category")
    s = sub.add_parser("sheet", help="contact sheet of random images with their first caption")
    s.add_argument("--out", type=Path, default=Path("docs/dataset.png"))
    s.add_argument("-n", type=int, default=64)
    s.add_argument("--seed", type=int, default=0)
    for p in (i, s):
        p.add_argument("--data", default=None, help="'embedded' (default), a folder, or tfds:emoji72")
        p.add_argument("--skip-bad", action="store_true", help="warn and drop bad rows")
    args = parser.parse_args(argv)
    from emoji_t2i.console import quiet_tensorflow

    quiet_tensorflow()
    try:
        if args.command == "build":
            from emoji_t2i.data.build import build

            spec = build(args.out)
            print(f"wrote {spec['images']} images to {args.out}")
        elif args.command == "info":
            _info(args)
        else:
            _sheet(args)
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
