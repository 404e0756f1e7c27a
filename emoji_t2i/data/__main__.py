"""``python -m emoji_t2i.data {build,info,sheet,styles}``: rebuild, describe or preview a dataset."""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

from emoji_t2i.data.dataset import embedded_dataset_dir
from emoji_t2i.data.load import load_dataset
from emoji_t2i.errors import EmojiT2IError, UsageError


def _info(args) -> None:
    ds = load_dataset(args.data, skip_bad=args.skip_bad)
    captions = sum(len(c) for c in ds.captions)
    print(f"dataset {ds.source}: {len(ds)} images, {len(set(ds.identity))} identities, "
          f"{captions} captions ({captions / max(1, len(ds)):.1f} per image)")
    for title, column in (("split", ds.split), ("style", ds.metadata["style"])):
        counts = collections.Counter(column.tolist())
        print(f"\nby {title}:")
        for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {key or '(none)':<24} {count:>6}")
    print("\n" + style_category_table(ds))
    print("\n" + balance_table(ds.subset("train") if (ds.split == "train").any() else ds))


def balance_table(ds) -> str:
    """Each category's share of a training run's draws, as stored and with ``balance=identity``."""
    from emoji_t2i.data.balance import balance_groups, category_shares, sampling_weights

    stored = category_shares(ds.metadata["category"])
    balanced = category_shares(ds.metadata["category"],
                               sampling_weights(balance_groups(ds.identity, ds.metadata["style"])))
    lines = ["| category | share of draws, as stored | with balance=identity |", "|---|---:|---:|"]
    lines += [f"| {c or '(none)'} | {stored[c]:.1%} | {balanced[c]:.1%} |" for c in stored]
    return "\n".join(lines)


def style_category_table(ds) -> str:
    """Images per style (rows) and category (columns), with totals: a markdown table."""
    pairs = collections.Counter(zip(ds.metadata["style"].tolist(), ds.metadata["category"].tolist(),
                                    strict=True))
    styles = sorted({s for s, _ in pairs}, key=lambda s: -sum(n for (t, _), n in pairs.items() if t == s))
    categories = sorted({c for _, c in pairs}, key=lambda c: -sum(n for (_, d), n in pairs.items() if d == c))
    lines = ["| style | " + " | ".join(c or "(none)" for c in categories) + " | all |",
             "|---|" + "---:|" * (len(categories) + 1)]
    for style in styles:
        cells = [pairs[(style, c)] for c in categories]
        lines.append(f"| {style or '(none)'} | " + " | ".join(map(str, cells)) + f" | {sum(cells)} |")
    totals = [sum(pairs[(s, c)] for s in styles) for c in categories]
    lines.append("| all | " + " | ".join(map(str, totals)) + f" | {sum(totals)} |")
    return "\n".join(lines)


def _sheet(args) -> None:
    import numpy as np

    from emoji_t2i.data.errors import DataError
    from emoji_t2i.plotting import save_grid

    ds = load_dataset(args.data)
    name = Path(ds.source).name
    if args.style:
        present = sorted(set(ds.metadata["style"].tolist()))
        if args.style not in present:
            raise DataError(f"--style {args.style}: not in {name}; use one of {', '.join(present)}")
        ds = ds.take(np.flatnonzero(ds.metadata["style"] == args.style))
        name += f", style {args.style}"
    n = min(args.n, len(ds))
    rows = np.random.default_rng(args.seed).choice(len(ds), size=n, replace=False)
    path = save_grid(args.out, ds.images[rows], [ds.captions[i][0] for i in rows],
                     columns=8, scale=1, title=f"{n} random images of {name}")
    print(f"wrote {path}")


def _styles(args) -> None:
    """The same emoji in every style: one column per style, one row per emoji."""
    import numpy as np

    from emoji_t2i.plotting import MAX_GRID, check_grid_size, save_grid

    ds = load_dataset(args.data)
    styles = sorted(set(ds.metadata["style"].tolist()), key=lambda s: -int(np.sum(ds.metadata["style"] == s)))
    rows_of = {}
    for row, (style, code) in enumerate(zip(ds.metadata["style"], ds.metadata["unified"], strict=True)):
        rows_of.setdefault(str(code), {}).setdefault(str(style), row)
    everywhere = sorted(c for c, by_style in rows_of.items() if len(by_style) == len(styles))
    picked = np.random.default_rng(args.seed).choice(everywhere, size=min(args.n, len(everywhere)),
                                                     replace=False)
    check_grid_size(len(picked) * len(styles), f"-n {args.n}", f"use -n {MAX_GRID // len(styles)} or fewer")
    rows = [rows_of[c][s] for c in picked for s in styles]
    captions = [s if k < len(styles) else "" for k, s in enumerate(styles * len(picked))]
    path = save_grid(args.out, ds.images[rows], captions, columns=len(styles), scale=1, caption_lines=1,
                     title=f"{len(picked)} emoji drawn in all {len(styles)} styles (columns)")
    print(f"wrote {path}: " + ", ".join(ds.captions[rows_of[c][styles[0]]][0] for c in picked))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emoji_t2i.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="rebuild the embedded artifact from npm packages (needs npm)")
    b.add_argument("--out", type=Path, default=embedded_dataset_dir())
    b.add_argument("--notice", type=Path, default=None,
                   help="where the licence file goes (default: data/NOTICE for the embedded "
                        "artifact, else OUT/NOTICE)")
    b.add_argument("--workers", type=int, default=None, help="rendering processes (default: all cores)")
    i = sub.add_parser("info", help="counts by split, style, and style x category")
    s = sub.add_parser("sheet", help="contact sheet of random images with their first caption")
    s.add_argument("--out", type=Path, default=Path("docs/dataset.png"))
    s.add_argument("-n", type=int, default=64)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--style", default=None, help="only this style's images (see info)")
    c = sub.add_parser("styles", help="the same emoji in every style, a column per style")
    c.add_argument("--out", type=Path, default=Path("docs/data/styles.png"))
    c.add_argument("-n", type=int, default=16, help="how many emoji (rows)")
    c.add_argument("--seed", type=int, default=0)
    for p in (i, s, c):
        p.add_argument("--data", default=None, help="'embedded' (default), a folder, or tfds:emoji72")
        p.add_argument("--skip-bad", action="store_true", help="warn and drop bad rows")
    args = parser.parse_args(argv)
    from emoji_t2i.console import quiet_tensorflow

    quiet_tensorflow()
    try:
        if args.command in ("sheet", "styles"):
            from emoji_t2i.console import check_image_output
            from emoji_t2i.plotting import MAX_GRID, check_grid_size

            if args.n < 1:
                raise UsageError(f"-n {args.n}: use a whole number of at least 1")
            if args.seed < 0:  # numpy's generators take no negative seed
                raise UsageError(f"--seed {args.seed}: use a whole number of at least 0")
            if args.command == "sheet":
                check_grid_size(args.n, f"-n {args.n}", f"use -n {MAX_GRID} or fewer")
            check_image_output(args.out, "--out")
        if args.command == "build":
            from emoji_t2i.data.build import build

            embedded = args.out.resolve() == embedded_dataset_dir()
            notice = args.notice
            if notice is None and embedded:
                notice = embedded_dataset_dir().parent / "NOTICE"
            spec = build(args.out, workers=args.workers, notice=notice)
            print(f"wrote {spec['images']} images to {args.out}")
            if embedded:  # the package's emoji names follow the dataset (prompts may hold emoji)
                from emoji_t2i.data.artifact import read_manifest
                from emoji_t2i.data.emoji_names import names_from_manifest, write_emoji_names

                print(f"wrote {write_emoji_names(names_from_manifest(read_manifest(args.out)))}")
        elif args.command == "info":
            _info(args)
        elif args.command == "styles":
            _styles(args)
        else:
            _sheet(args)
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
