"""The mean of several presets' weights, as a preset: snapshots of one run averaged.

    python benchmarks/average_presets.py runs/sg-e8 runs/sg-e12 runs/sg-e16 --out runs/sg-mean

Averaging the snapshots of one run is a long EMA taken after the fact: it smooths what a
single snapshot owes to its last few hundred steps (docs/models/stylegan.md measures it on
the StyleGAN). The presets must be one model with one configuration; the last one gives the
tokenizer and everything that is not a floating-point weight.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import h5py
import numpy as np

from emoji_t2i.errors import EmojiT2IError, UsageError
from emoji_t2i.pipelines.presets import resolve_preset


def average_presets(presets: list[str], out: Path) -> Path:
    paths = [resolve_preset(p) for p in presets]
    configs = [json.loads((p / "config.json").read_text())["config"] for p in paths]
    for path, config in zip(paths[1:], configs[1:], strict=True):
        if config != configs[0]:
            raise UsageError(f"{path}: another configuration than {paths[0]}; average snapshots of one run")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(paths[-1], tmp)
    files = [h5py.File(p / "model.weights.h5", "r") for p in paths]
    try:
        with h5py.File(tmp / "model.weights.h5", "r+") as target:
            for group in target:
                for key in target[group]:
                    values = [f[group][key][()] for f in files]
                    if np.issubdtype(values[0].dtype, np.floating):
                        target[group][key][...] = np.mean(values, axis=0)
    finally:
        for f in files:
            f.close()
    metadata = tmp / "metadata.json"
    info = json.loads(metadata.read_text()) if metadata.exists() else {}
    metadata.write_text(json.dumps({**info, "averaged_from": [str(p) for p in paths]}, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("presets", nargs="+", help="preset folders or shipped names, of one model")
    p.add_argument("--out", type=Path, required=True, help="preset folder to write")
    args = p.parse_args(argv)
    if len(args.presets) < 2:
        p.error("give two presets or more to average")
    try:
        print(average_presets(args.presets, args.out))
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
