"""The change of ruler: the shipped models, the ceiling and the floor, read by two sets of judges.

Each source draws its samples once (per split, the evaluation's prompts and seed); every set
of judges then reads the same images through ``emoji_t2i.evaluation.report.evaluate``. Reports
go to ``OUT/<source>/<judges>/`` and the comparison to ``docs/evaluation/rejudged.json``.

    git archive 03335ba emoji_t2i/evaluation/judges | tar -x -C /tmp/two   # the two-style judges
    python benchmarks/rejudge.py --judges two-style=/tmp/two/emoji_t2i/evaluation/judges \\
        --judges eight-style=emoji_t2i/evaluation/judges --out runs/rejudge
    python benchmarks/rejudge.py --table
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emoji_t2i.data import load_dataset  # noqa: E402
from emoji_t2i.evaluation import sources  # noqa: E402
from emoji_t2i.evaluation.judges import Judges  # noqa: E402
from emoji_t2i.evaluation.report import evaluate  # noqa: E402
from emoji_t2i.pipelines import TextToImagePipeline  # noqa: E402

RESULTS = ROOT / "docs" / "evaluation" / "rejudged.json"
KEYS = ("fid", "kid", "inception_score", "r_precision", "near_copy_fraction", "diversity_relative")


class Remembered:
    """A source whose samples and variations are drawn once and then replayed."""

    def __init__(self, source):
        self.source, self.name, self.memory = source, source.name, {}

    def _once(self, key, make):
        if key not in self.memory:
            self.memory[key] = make()
        return self.memory[key]

    def samples(self, ps, seed):
        return self._once(("samples", ps.split, seed), lambda: self.source.samples(ps, seed))

    def variations(self, ps, prompts, per_prompt, seed):
        return self._once(("variations", ps.split, prompts, per_prompt, seed),
                          lambda: self.source.variations(ps, prompts, per_prompt, seed))


def make_source(name: str, ds):
    if name == "real":
        return sources.RealSource(ds)
    if name == "noise":
        return sources.NoiseSource()
    return sources.PipelineSource(TextToImagePipeline.from_preset(name), name)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sources", default="diffusion-emoji72,real,noise",
                   help="comma list of preset names, 'real' and 'noise'")
    p.add_argument("--judges", action="append", default=[], metavar="NAME=FOLDER")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "rejudge")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--table", action="store_true", help="print the table from the results file")
    args = p.parse_args(argv)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if not args.table:
        judges = {name: Judges.load(folder) for name, folder in (j.split("=", 1) for j in args.judges)}
        ds = load_dataset()
        for name in args.sources.split(","):
            source = Remembered(make_source(name, ds))
            for label, judge in judges.items():
                report = evaluate(source, ds, judge, args.samples, args.seed, args.out / name / label)
                results.setdefault(name, {})[label] = {
                    split: {k: values[k] for k in KEYS} for split, values in report["splits"].items()}
                results[name][label]["near_copy_threshold"] = report["near_copy_threshold"]
                RESULTS.parent.mkdir(parents=True, exist_ok=True)
                RESULTS.write_text(json.dumps(results, indent=1) + "\n")
                print(name, label, json.dumps(results[name][label]), flush=True)
    print(table(results))
    return 0


def table(results: dict) -> str:
    lines = ["| source | judges | FID train / held-out | KID×1000 held-out | IS held-out | "
             "R-precision train / held-out | near copies train / held-out | diversity held-out |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, by_judges in results.items():
        for label, r in by_judges.items():
            t, h = r["train"], r["heldout"]
            lines.append(f"| {name} | {label} | {t['fid']:.1f} / {h['fid']:.1f} | {1000 * h['kid']:.1f} | "
                         f"{h['inception_score']:.2f} | {t['r_precision']:.2f} / {h['r_precision']:.2f} | "
                         f"{t['near_copy_fraction']:.0%} / {h['near_copy_fraction']:.0%} | "
                         f"{h['diversity_relative']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
