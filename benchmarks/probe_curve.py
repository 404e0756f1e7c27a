"""The probe's two curves against images seen: near copies and R-precision, on training and
held-out prompts, with the record the checkpoint rule chose; for several runs (an on/off
measurement, ``gpu_ablation.sh``) training-prompt near copies and R-precision (held-out solid,
training dashed), a colour per run. Where the probe measured the composition prompts, a third panel shows their
R-precision (part-sharing distractors) with its chance level.

    python benchmarks/probe_curve.py runs/RUN [runs/RUN2 ...] [--out FIG.png] [--title TEXT]

Reads ``RUN/probe.jsonl`` (written by ``train_jax train --probe-every`` or ``train --set
probe_every``) and ``RUN/probe/best.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from emoji_t2i.evaluation.probe import MAX_NEAR_COPIES  # noqa: E402

SPLITS = {"train": ("training prompts", "-"), "heldout": ("held-out prompts", "--")}


def read_run(run: Path) -> tuple[list[dict], dict | None]:
    records = [json.loads(line) for line in (run / "probe.jsonl").read_text().splitlines() if line.strip()]
    if not records:
        raise SystemExit(f"error: {run}/probe.jsonl has no records; train with the probe on")
    best_path = run / "probe" / "best.json"
    return records, json.loads(best_path.read_text())["record"] if best_path.exists() else None


def one_run(ax_copies, ax_r, records, chosen) -> None:
    seen = [r["images_seen"] / 1000 for r in records]
    for split, (label, style) in SPLITS.items():
        if split in records[0]:
            ax_copies.plot(seen, [100 * r[split]["near_copies"] for r in records], style, marker="o", ms=3,
                           label=label)
            ax_r.plot(seen, [r[split]["r_precision"] for r in records], style, marker="o", ms=3, label=label)
    if chosen is not None:
        for ax in (ax_copies, ax_r):
            ax.axvline(chosen["images_seen"] / 1000, color="tab:green", lw=1.2, alpha=0.7, label="kept")


def several_runs(ax_copies, ax_r, runs) -> None:
    for run in runs:
        records, chosen = read_run(run)
        seen = [r["images_seen"] / 1000 for r in records]
        label = run.name.removeprefix("ablation-")
        line = ax_copies.plot(seen, [100 * r["train"]["near_copies"] for r in records], marker="o", ms=3,
                              label=label)[0]
        ax_r.plot(seen, [r.get("heldout", r["train"])["r_precision"] for r in records], marker="o", ms=3,
                  color=line.get_color(), label=label)
        if "heldout" in records[0]:  # naming what it was trained on, beside what it never saw
            ax_r.plot(seen, [r["train"]["r_precision"] for r in records], "--", marker="o", ms=2,
                      color=line.get_color(), alpha=0.6)
        if chosen is not None:
            ax_r.plot(chosen["images_seen"] / 1000, chosen.get("heldout", chosen["train"])["r_precision"], "*",
                      ms=12, color=line.get_color())


def composition_panel(ax, runs) -> None:
    from emoji_t2i.evaluation.composition import composition_set

    for run in runs:
        records, _ = read_run(run)
        kept = [r for r in records if "composition" in r]
        ax.plot([r["images_seen"] / 1000 for r in kept], [r["composition"]["r_precision"] for r in kept],
                marker="o", ms=3, label=run.name.removeprefix("ablation-"))
    ax.axhline(1 / (1 + composition_set().candidates.shape[1]), color="grey", lw=0.8, ls=":", label="chance")
    ax.set_ylabel("R-precision, composition prompts")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", type=Path, nargs="+")
    p.add_argument("--out", type=Path, help="PNG to write (default RUN/probe_curve.png)")
    p.add_argument("--title", default="")
    args = p.parse_args(argv)
    composition = any("composition" in r for run in args.runs for r in read_run(run)[0])
    fig, axes = plt.subplots(1, 3 if composition else 2, figsize=(14 if composition else 10, 3.8))
    ax_copies, ax_r = axes[:2]
    if composition:
        composition_panel(axes[2], args.runs)
    if len(args.runs) == 1:
        one_run(ax_copies, ax_r, *read_run(args.runs[0]))
        ax_copies.set_ylabel("near copies (%)")
        ax_r.set_ylabel("R-precision (1 in 100)")
    else:
        several_runs(ax_copies, ax_r, args.runs)
        ax_copies.set_ylabel("near copies, training prompts (%)")
        ax_r.set_ylabel("R-precision: held-out (training dashed; * kept)")
    ax_copies.axhline(100 * MAX_NEAR_COPIES, color="grey", lw=0.8, ls=":", label="the rule's limit")
    for ax in axes:
        ax.set_xlabel("images seen (thousands)")
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        if len(args.runs) > 1 and ax is not ax_copies:  # the runs' colours are named once, in the first panel
            kept = [i for i, label in enumerate(labels) if label == "chance"]
            handles, labels = [handles[i] for i in kept], [labels[i] for i in kept]
        if handles:
            ax.legend(handles, labels, fontsize=8, loc="best")
    fig.suptitle(args.title or f"probe of {', '.join(r.name for r in args.runs)}")
    fig.tight_layout()
    out = args.out or args.runs[0] / "probe_curve.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
