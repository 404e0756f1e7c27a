"""Images/s of the diffusion train step under each Keras backend on this machine: the same
U-Net (the shipped preset's architecture), the same batch size, the same objective
(``DenoisingLoss``), each through its own project command.

- TensorFlow: ``python -m emoji_t2i.train --model diffusion`` on a folder of real emoji,
  2 epochs of ``--steps`` steps; the second epoch's rate (the first includes tracing).
- JAX: ``python -m emoji_t2i.train_jax train`` on a bundle of the same images (float32),
  ``2 x --steps`` steps logged one by one; the median rate of the second half.

    python benchmarks/diffusion_backends.py [--images 1024] [--batch-size 32] [--steps 20]

Prints one markdown row per backend.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("KERAS_")}, "TF_CPP_MIN_LOG_LEVEL": "3"}


def run(*args):
    result = subprocess.run([sys.executable, "-m", *map(str, args)], capture_output=True, text=True, env=ENV,
                            cwd=ROOT)
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])


def emoji_folder(folder: Path, count: int) -> None:
    import numpy as np
    from PIL import Image

    from emoji_t2i.data import load_dataset

    ds = load_dataset()
    rows = np.flatnonzero(ds.split == "train")[:count]
    lines = ["file,caption,caption2"]
    for k, i in enumerate(rows):
        Image.fromarray(ds.images[i], "RGBA").save(folder / f"{k}.png")
        captions = [c.replace(",", " ") for c in (list(ds.captions[i]) * 2)[:2]]
        lines.append(f"{k}.png,{captions[0]},{captions[1]}")
    (folder / "captions.csv").write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=1024)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--preset", default="diffusion-emoji72", help="whose U-Net architecture")
    args = p.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "folder").mkdir()
        emoji_folder(tmp / "folder", args.images)
        config = json.loads((ROOT / "emoji_t2i" / "presets" / args.preset / "config.json").read_text())
        widths = ",".join(map(str, config["config"]["widths"]))
        run("emoji_t2i.train", "--model", "diffusion", "--data", tmp / "folder", "--epochs", 2,
            "--steps-per-epoch", args.steps, "--batch-size", args.batch_size, "--out", tmp / "tf",
            "--set", f"widths={widths}", "--set", f"blocks={config['config']['blocks']}")
        with open(tmp / "tf" / "history.csv") as f:
            tf_rate = float(list(csv.DictReader(f))[-1]["images_per_second"])
        run("emoji_t2i.train_jax", "bundle", "--init-from", args.preset, "--no-weights", "--data", tmp / "folder",
            "--out", tmp / "bundle")
        run("emoji_t2i.train_jax", "train", "--bundle", tmp / "bundle", "--out", tmp / "jax",
            "--steps", 2 * args.steps, "--batch-size", args.batch_size, "--precision", "float32",
            "--log-seconds", 0)
        log = [json.loads(line) for line in (tmp / "jax" / "log.jsonl").read_text().splitlines()]
        jax_rate = statistics.median(r["images_per_second"] for r in log[args.steps:])
    print(f"{args.preset}'s U-Net (widths {widths}), batch {args.batch_size}, float32, {args.images} real emoji\n")
    print("| backend | command | images/s |\n|---|---|---:|")
    print(f"| TensorFlow | python -m emoji_t2i.train (epoch 2 of 2 x {args.steps} steps) | {tf_rate:.1f} |")
    print(f"| JAX | python -m emoji_t2i.train_jax train (median of steps {args.steps + 1}-{2 * args.steps}) "
          f"| {jax_rate:.1f} |")


if __name__ == "__main__":
    main()
