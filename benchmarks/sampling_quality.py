"""Quality against sampling steps for the shipped diffusion model: the project's evaluation
(FID, R-precision, near copies, diversity; training and held-out prompts) for DPM-Solver++ 2M
and 3M at few steps, with and without a guidance interval.

    python benchmarks/sampling_quality.py --samples 300     # ~35 min on 2 CPU cores (13 settings)
    python benchmarks/sampling_quality.py --plot            # the figure from the saved results
    python benchmarks/sampling_quality.py --samples 300 --students runs/distill/preset-8 runs/distill/preset-4
                                                            # distilled students (train_jax distill), each
                                                            # at its own steps: one network call per step

Results go to docs/diffusion/quality_vs_steps.json, one entry per setting, written as each
finishes (a killed run continues where it stopped); the figure to quality_vs_steps.png.
The 20-step 2M setting is the shipped default, the reference every other is compared with.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "docs" / "diffusion" / "quality_vs_steps.json"
FIGURE = RESULTS.with_suffix(".png")
INTERVAL = (0.28, 5.42)  # EDM sigma range where Kynkaenniemi et al. (2024) applied guidance
SETTINGS = [("dpm_solver", steps, None) for steps in (4, 6, 8, 10, 20)] + \
           [("dpm_solver_3m", steps, None) for steps in (4, 6, 8, 10)] + \
           [("dpm_solver_3m", steps, INTERVAL) for steps in (6, 10)] + \
           [("dpm_solver", steps, INTERVAL) for steps in (4, 6)]
KEYS = ("fid", "r_precision", "near_copy_fraction", "diversity_relative")


def label(sampler, steps, interval) -> str:
    return f"{sampler} {steps}" + (" interval" if interval else "")


def measure(samples: int, seed: int, students=()) -> None:
    from emoji_t2i.console import quiet_tensorflow

    quiet_tensorflow()
    from emoji_t2i.data import load_dataset
    from emoji_t2i.evaluation.judges import Judges
    from emoji_t2i.evaluation.report import evaluate
    from emoji_t2i.evaluation.sources import PipelineSource
    from emoji_t2i.pipelines import TextToImagePipeline

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    pipe, ds, judges, cache = TextToImagePipeline.from_preset("diffusion-emoji72"), load_dataset(), Judges.load(), {}
    jobs = [(pipe, "diffusion-emoji72", sampler, steps, interval) for sampler, steps, interval in SETTINGS]
    for folder in students:
        student = TextToImagePipeline.from_preset(folder)
        jobs.append((student, str(folder), "distilled", int(student.options["num_steps"]), None))
    for source, source_name, sampler, steps, interval in jobs:
        name = label(sampler, steps, interval)
        if name in results and results[name]["samples"] == samples and sampler != "distilled":
            continue
        options = {} if sampler == "distilled" else {"sampler": sampler, "num_steps": steps}
        if interval:
            options["guidance_interval"] = interval
        start = time.perf_counter()
        report = evaluate(PipelineSource(source, source_name, options), ds, judges, samples, seed,
                          ROOT / "runs" / "sampling_quality" / name.replace(" ", "_"), cache=cache)
        results[name] = {"sampler": sampler, "steps": steps, "interval": interval, "samples": samples,
                         **({"preset": source_name} if sampler == "distilled" else {}),
                         "seconds": time.perf_counter() - start,
                         **{split: {k: report["splits"][split][k] for k in KEYS} for split in ("train", "heldout")}}
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        print(name, json.dumps(results[name]), flush=True)


def plot() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = json.loads(RESULTS.read_text())
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    lines = {("dpm_solver", None): ("o-", "tab:blue"), ("dpm_solver_3m", None): ("s:", "tab:green"),
             ("dpm_solver", INTERVAL): ("v--", "tab:orange"), ("dpm_solver_3m", INTERVAL): ("^--", "tab:purple"),
             ("distilled", None): ("D-", "tab:red")}
    for (sampler, interval), (style, colour) in lines.items():
        rows = sorted((r for r in results.values() if r["sampler"] == sampler
                       and (r["interval"] is None) == (interval is None)), key=lambda r: r["steps"])
        if not rows:
            continue
        name = {"dpm_solver": "DPM-Solver++ 2M", "dpm_solver_3m": "DPM-Solver++ 3M",
                "distilled": "distilled student (1 call per step)"}[sampler]
        name += " + guidance interval" if interval else ""
        for ax, key in zip(axes, ("fid", "r_precision", "near_copy_fraction"), strict=True):
            for split in ("train", "heldout"):
                ax.plot([r["steps"] for r in rows], [r[split][key] for r in rows], style, color=colour,
                        alpha=1.0 if split == "train" else 0.35, label=f"{name}, {split}")
    for ax, title in zip(axes, ("FID (lower is better)", "R-precision", "near-copy fraction"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("sampling steps (network calls)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    samples = next(iter(results.values()))["samples"]
    fig.suptitle(f"diffusion-emoji72: quality against steps ({samples} samples per split, guidance 3; "
                 "faint: held-out prompts)", fontsize=10)
    fig.tight_layout()
    fig.savefig(FIGURE, dpi=110)
    print(f"wrote {FIGURE}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=300, help="prompts per split (evaluate's --samples)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", action="store_true", help="only draw the figure from the saved results")
    p.add_argument("--students", nargs="*", default=[], help="distilled student presets to evaluate as well")
    args = p.parse_args(argv)
    if not args.plot:
        measure(args.samples, args.seed, args.students)
    plot()
    return 0


if __name__ == "__main__":
    sys.exit(main())
