"""What a GPU call carries (``benchmarks/gpu_prepare.sh size`` and ``calls``).

    python benchmarks/gpu_carry.py size [PATH ...]
    python benchmarks/gpu_carry.py calls BUNDLE CALL_MIB [STEPS|fit MINUTES PRECISION options]

``size``: MiB of the working tree (git's tracked and unignored files) plus PATHs. ``calls``: the
bundle's files packed first-fit decreasing into calls of at most CALL_MIB with the tree, .whl in
the first (every later call finds Keras installed on the warm machine), and each call's
``gpu_flagship.sh`` command and carry list. STEPS ``fit`` trains as many steps as MINUTES hold,
measured as the run goes (``train_jax train --fit-schedule``), the cosine decay ending with them.
"""

from __future__ import annotations

import os
import subprocess
import sys

MiB = 2**20
SPEED_FILES = ("bundle.json", "captions.npz", "minilm.npz", "images-0.npz")  # gpu_flagship.sh speed reads


def path_bytes(path: str) -> int:
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, names in os.walk(path) for f in names)
    return os.path.getsize(path)


def tree_bytes() -> int:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True, check=True).stdout.decode().split("\0")
    return sum(os.path.getsize(f) for f in listed if f and os.path.isfile(f))  # a stripped file is listed, not there


def size(paths: list[str]) -> None:
    tree, carried = tree_bytes(), sum(path_bytes(p) for p in paths)
    print(f"{(tree + carried) / MiB:.1f} MiB: the tree {tree / MiB:.1f}, carried {carried / MiB:.1f} "
          "(a call moves at most 64)")


def pack(bundle: str, budget: float, tree: int, wheels: int) -> list[list]:
    """[[bytes, paths], ...]: the first call holds .whl and what ``speed`` reads, so that speed may
    replace its stash; the rest first-fit decreasing, at most 8 paths a call."""
    first = [f for f in SPEED_FILES if os.path.exists(os.path.join(bundle, f))]
    calls = [[wheels + sum(path_bytes(os.path.join(bundle, f)) for f in first),
              [".whl"] + [os.path.join(bundle, f) for f in first]]]
    rest = sorted(((path_bytes(os.path.join(bundle, f)), os.path.join(bundle, f))
                   for f in os.listdir(bundle) if f not in first), reverse=True)
    for nbytes, path in rest:
        if nbytes + tree > budget:
            sys.exit(f"error: {path} alone is {nbytes / MiB:.0f} MiB: write the bundle in more --parts")
        fit = next((c for c in calls if c[0] + nbytes + tree <= budget and len(c[1]) < 8), None)
        if fit is None:
            calls.append(fit := [0, []])
        fit[0] += nbytes
        fit[1].append(path)
    return calls


def calls(bundle: str, call_mib: float, train_args: list[str]) -> None:
    tree = tree_bytes()
    if tree > 8 * MiB:
        sys.exit(f"error: the tree is {tree / MiB:.0f} MiB: strip it first (bash benchmarks/gpu_prepare.sh strip)")
    if not os.path.isdir(".whl") or not os.listdir(".whl"):
        sys.exit("error: no .whl/: the GPU image has no Keras; run bash benchmarks/gpu_prepare.sh wheels")
    packed = pack(bundle, call_mib * MiB, tree, path_bytes(".whl"))
    for i, (nbytes, paths) in enumerate(packed, 1):
        last = i == len(packed)
        command = "train " + (" ".join(train_args) or "STEPS MINUTES PRECISION [options]") if last else "stash"
        print(f"call {i} ({(nbytes + tree) / MiB:.1f} MiB): bash benchmarks/gpu_flagship.sh {command}")
        print(f"    carry: {' '.join(paths)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["size"]:
        size(sys.argv[2:])
    elif sys.argv[1:2] == ["calls"] and len(sys.argv) >= 4:
        calls(sys.argv[2], float(sys.argv[3]), sys.argv[4:])
    else:
        sys.exit(__doc__)
