"""Do the evaluation's judges know an emoji across styles? Leave one style out and measure.

For every style S: train both judges on the training split of every OTHER style (the same
code as ``python -m emoji_t2i.evaluation.train_judges``, at a stated budget), then measure on
S's training-split images, whose emoji the judges learned from other styles' drawings but
whose drawing style they never saw:

- identity accuracy: the classifier's identity head names the emoji (top-1 over all
  training identities; images of emoji only S draws are left out);
- R-precision: the matcher ranks the image's caption first among it and 99 captions of other
  emoji (the evaluation's protocol with S as the reference style).

The shipped judges (``--judges``, trained on every style) and the earlier two-style judges
(``--old-judges``) are measured on the same images, for comparison: the old ones saw only
google and twitter.

    python benchmarks/judges_across_styles.py --out runs/judges_loso
    python benchmarks/judges_across_styles.py --out runs/judges_loso --table   # markdown only
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emoji_t2i.data import load_dataset  # noqa: E402
from emoji_t2i.evaluation import metrics  # noqa: E402
from emoji_t2i.evaluation.judges import JUDGES_DIR, Judges  # noqa: E402
from emoji_t2i.evaluation.protocol import prompt_set  # noqa: E402
from emoji_t2i.evaluation.train_judges import train_judges  # noqa: E402

RESULTS = ROOT / "docs" / "evaluation" / "judges_across_styles.json"


def style_figures(judges: Judges, identities: list[str], ds, style: str, samples: int, seed: int) -> dict:
    """Identity accuracy and R-precision of ``judges`` on ``style``'s training-split images."""
    rows = np.flatnonzero((ds.metadata["style"] == style) & (ds.split == "train"))
    index = {v: i for i, v in enumerate(identities)}
    known = np.array([str(ds.identity[r]) in index for r in rows])
    features, _ = judges.image_outputs(ds.images[rows[known]])
    predicted = np.asarray(judges.classifier.identity_head(features)).argmax(1)
    truth = np.array([index[str(ds.identity[r])] for r in rows[known]])
    ps = prompt_set(ds, "train", samples, seed, reference_style=style)
    feats, _ = judges.image_outputs(ds.images[ps.rows])
    return {"images": int(known.sum()), "identity_accuracy": float(np.mean(predicted == truth)),
            "r_precision": metrics.r_precision(judges.image_embeddings(feats),
                                               judges.text_embeddings(ps.caption_pool), ps.candidates, seed)}


def training_identities(ds) -> list[str]:
    return ds.subset("train").label_vocabulary("identity")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="folder for the per-style judges")
    p.add_argument("--styles", help="comma list (default: every style of the dataset)")
    p.add_argument("--classifier-epochs", type=int, default=2)
    p.add_argument("--matcher-epochs", type=int, default=2)
    p.add_argument("--samples", type=int, default=1000, help="R-precision prompts per style")
    p.add_argument("--judges", type=Path, default=JUDGES_DIR, help="the shipped (all-style) judges")
    p.add_argument("--old-judges", type=Path, help="judges trained on google and twitter only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--table", action="store_true", help="print the table from the results file")
    args = p.parse_args(argv)
    if args.table:
        print(table(json.loads(RESULTS.read_text())))
        return 0
    ds = load_dataset()
    styles = args.styles.split(",") if args.styles else sorted(set(ds.metadata["style"].tolist()))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.setdefault("budget", {"classifier_epochs": args.classifier_epochs,
                                  "matcher_epochs": args.matcher_epochs, "samples": args.samples})
    shipped = Judges.load(args.judges)
    old = Judges.load(args.old_judges) if args.old_judges else None
    old_identities = training_identities(ds.take(np.flatnonzero(np.isin(ds.metadata["style"],
                                                                        ["google", "twitter"]))))
    for style in styles:
        start = time.perf_counter()
        rest = ds.take(np.flatnonzero(ds.metadata["style"] != style))
        out = args.out / style
        if not (out / "judges.json").exists():
            train_judges(rest, out, args.classifier_epochs, args.matcher_epochs, seed=args.seed)
        row = {"left_out": style_figures(Judges.load(out), training_identities(rest), ds, style,
                                         args.samples, args.seed),
               "shipped": style_figures(shipped, training_identities(ds), ds, style, args.samples, args.seed)}
        if old is not None:
            row["old"] = style_figures(old, old_identities, ds, style, args.samples, args.seed)
        row["seconds"] = round(time.perf_counter() - start, 1)
        results.setdefault("styles", {})[style] = row
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        print(style, json.dumps(row), flush=True)
    print(table(results))
    return 0


def table(results: dict) -> str:
    has_old = any("old" in r for r in results["styles"].values())
    head = "| style | images | left out: identity acc. | left out: R-precision | all styles: identity acc. " \
           "| all styles: R-precision |" + (" two-style judges: identity acc. | two-style judges: R-precision |"
                                             if has_old else "")
    lines = [head, "|---|" + "---:|" * (5 + 2 * has_old)]
    for style, r in sorted(results["styles"].items()):
        cells = [r["left_out"]["images"], f"{r['left_out']['identity_accuracy']:.2f}",
                 f"{r['left_out']['r_precision']:.2f}", f"{r['shipped']['identity_accuracy']:.2f}",
                 f"{r['shipped']['r_precision']:.2f}"]
        if has_old:
            cells += [f"{r['old']['identity_accuracy']:.2f}", f"{r['old']['r_precision']:.2f}"] if "old" in r \
                else ["", ""]
        lines.append(f"| {style} | " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
