"""The probe's two curves against images seen: near copies and R-precision, on training and
held-out prompts, with the record the checkpoint rule chose.

    python benchmarks/probe_curve.py runs/RUN [--out docs/diffusion/probe_curve.png] [--title TEXT]

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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path)
    p.add_argument("--out", type=Path, help="PNG to write (default RUN/probe_curve.png)")
    p.add_argument("--title", default="")
    args = p.parse_args(argv)
    records = [json.loads(line) for line in (args.run / "probe.jsonl").read_text().splitlines() if line.strip()]
    if not records:
        raise SystemExit(f"error: {args.run}/probe.jsonl has no records; train with the probe on")
    best_path = args.run / "probe" / "best.json"
    chosen = json.loads(best_path.read_text())["record"] if best_path.exists() else None
    seen = [r["images_seen"] / 1000 for r in records]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for split, (label, style) in SPLITS.items():
        if split not in records[0]:
            continue
        axes[0].plot(seen, [100 * r[split]["near_copies"] for r in records], style, marker="o", ms=3, label=label)
        axes[1].plot(seen, [r[split]["r_precision"] for r in records], style, marker="o", ms=3, label=label)
    axes[0].axhline(100 * MAX_NEAR_COPIES, color="grey", lw=0.8, ls=":", label="the rule's limit")
    axes[0].set_ylabel("near copies (%)")
    axes[1].set_ylabel("R-precision (1 in 100)")
    for ax in axes:
        ax.set_xlabel("images seen (thousands)")
        ax.grid(alpha=0.3)
        if chosen is not None:
            ax.axvline(chosen["images_seen"] / 1000, color="tab:green", lw=1.2, alpha=0.7, label="kept")
        ax.legend(fontsize=8)
    fig.suptitle(args.title or f"probe of {args.run.name}: 128 training and 96 held-out prompts")
    fig.tight_layout()
    out = args.out or args.run / "probe_curve.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
