#!/usr/bin/env bash
# This machine's half of a GPU run, in one place. The GPU machine has JAX with CUDA but no
# TensorFlow, no Keras and no network, and a call carries at most 64 MiB of working tree (git's
# tracked and unignored files plus up to 8 ignored paths), so the wheels travel, the bundle
# travels in parts, and what the run does not need leaves the tree while it runs.
#
#   bash benchmarks/gpu_prepare.sh wheels     # .whl/: keras, namex, optree for CPython 3.11-3.13
#   bash benchmarks/gpu_prepare.sh bundle [train_jax bundle options]
#                                             # runs/bundle8 (BUNDLE=...): the flagship's packed
#                                             #   bundle, warm-started from diffusion-emoji72-styles,
#                                             #   --parts 3 unless given (--composites 10000 --parts 5)
#   bash benchmarks/gpu_prepare.sh strip      # data/, docs/, the presets and the judges' weights
#                                             #   move to $STASH (default ../gpu-stash); the tree no
#                                             #   longer imports TensorFlow's side for real work
#   bash benchmarks/gpu_prepare.sh size PATH...   # MiB that a call carrying PATHs would move
#   bash benchmarks/gpu_prepare.sh calls [STEPS MINUTES PRECISION options]
#                                             # after strip: the bundle packed into calls of at
#                                             #   most CALL_MIB (62) with the tree, each call's
#                                             #   gpu_flagship.sh command and carry list; STEPS
#                                             #   auto: what MINUTES hold at the measured rate
#   bash benchmarks/gpu_prepare.sh restore    # puts them back; git status is as before strip
#
# Then benchmarks/gpu_flagship.sh says the calls (stash, train) and their carry lists; finish,
# evaluate and the model card run here after restore.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
stash=${STASH:-$root/../gpu-stash}
bundle=${BUNDLE:-runs/bundle8}
py=${PY:-.venv/bin/python}
moved=(data docs emoji_t2i/presets emoji_t2i/evaluation/judges)
mode=${1:-}
shift || true

case "$mode" in
  wheels)
    rm -rf .whl && mkdir -p .whl
    keras=$("$py" -c "from importlib.metadata import version; print(version('keras'))")
    for version in 3.11 3.12 3.13; do  # the GPU image's Python is not known here (keras needs >= 3.11)
      "$py" -m pip download -q "keras==$keras" namex optree --no-deps --python-version "$version" \
        --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --only-binary=:all: -d .whl
    done
    ls -la .whl
    ;;
  bundle)
    parts=(--parts 3)
    for arg in "$@"; do [ "$arg" = --parts ] && parts=(); done
    "$py" -m emoji_t2i.train_jax bundle --init-from diffusion-emoji72-styles --cross-attention \
      --style-conditioning "${parts[@]}" "$@" --out "$bundle"
    ls -la "$bundle"
    ;;
  strip)
    [ -e "$stash" ] && { echo "error: $stash exists: restore it first (bash $0 restore)" >&2; exit 2; }
    mkdir -p "$stash"
    for path in "${moved[@]}"; do
      mkdir -p "$stash/$(dirname "$path")" && mv "$path" "$stash/$path"
    done
    echo "moved ${moved[*]} to $stash"
    ;;
  restore)
    [ -d "$stash" ] || { echo "error: no $stash: nothing was stripped" >&2; exit 2; }
    for path in "${moved[@]}"; do
      if [ -e "$stash/$path" ]; then
        [ -e "$path" ] && { echo "error: $path exists in the tree and in $stash; move one by hand" >&2; exit 2; }
        mv "$stash/$path" "$path"
      fi
    done
    rm -rf "$stash"
    git status --short | head -20
    ;;
  size)
    "$py" - "$@" <<'PYTHON'
import os, subprocess, sys

def size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, names in os.walk(path) for f in names)
    return os.path.getsize(path)

listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                        capture_output=True, check=True).stdout.decode().split("\0")
tree = sum(size(f) for f in listed if f and os.path.isfile(f))  # a stripped file is listed, not there
carried = sum(size(p) for p in sys.argv[1:])
print(f"{(tree + carried) / 2**20:.1f} MiB: the tree {tree / 2**20:.1f}, carried {carried / 2**20:.1f} "
      "(a call moves at most 64)")
PYTHON
    ;;
  calls)
    # First-fit decreasing of the bundle's files into calls of at most CALL_MIB with the tree;
    # .whl goes in the first (every later call finds Keras installed on the warm machine).
    "$py" - "$bundle" "${CALL_MIB:-62}" "$@" <<'PYTHON'
import os, subprocess, sys

bundle, budget, train_args = sys.argv[1], float(sys.argv[2]) * 2**20, sys.argv[3:]
listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                        capture_output=True, check=True).stdout.decode().split("\0")
tree = sum(os.path.getsize(f) for f in listed if f and os.path.isfile(f))
if tree > 8 * 2**20:
    sys.exit(f"error: the tree is {tree / 2**20:.0f} MiB: strip it first (bash benchmarks/gpu_prepare.sh strip)")
wheels = sum(os.path.getsize(os.path.join(".whl", f)) for f in os.listdir(".whl")) if os.path.isdir(".whl") else 0
if not wheels:
    sys.exit("error: no .whl/: the GPU image has no Keras; run bash benchmarks/gpu_prepare.sh wheels")
# the first call also carries what gpu_flagship.sh speed reads, so that it may replace stash there
first = [f for f in ("bundle.json", "captions.npz", "minilm.npz", "images-0.npz") if os.path.exists(os.path.join(bundle, f))]
calls = [[wheels + sum(os.path.getsize(os.path.join(bundle, f)) for f in first),
          [".whl"] + [os.path.join(bundle, f) for f in first]]]
files = sorted(((os.path.getsize(os.path.join(bundle, f)), os.path.join(bundle, f))
                for f in os.listdir(bundle) if f not in first), reverse=True)
for size, path in files:
    if size + tree > budget:
        sys.exit(f"error: {path} alone is {size / 2**20:.0f} MiB: write the bundle in more --parts")
    fit = next((c for c in calls if c[0] + size + tree <= budget and len(c[1]) < 8), None)
    if fit is None:
        calls.append(fit := [0, []])
    fit[0] += size
    fit[1].append(path)
if train_args[:1] == ["auto"] and len(train_args) > 1:
    # the measured float32 rate of this U-Net on an H200 (docs/performance.md); about 150 s of the
    # call go to compiling the step and the probe's sampler and to the first and last probes
    rate, batch, reserve = float(os.environ.get("RATE", 5036)), int(os.environ.get("BATCH", 256)), 150.0
    steps = int(rate / batch * (float(train_args[1]) * 60 - reserve)) // 100 * 100
    print(f"STEPS auto: {steps} (at {rate:.0f} images/s in batches of {batch}, after {reserve:.0f} s of "
          "compiling and probing; RATE=... for another chip or precision)")
    train_args = [str(steps), *train_args[1:]]
for i, (size, paths) in enumerate(calls, 1):
    last = i == len(calls)
    command = "train " + (" ".join(train_args) or "STEPS MINUTES PRECISION [options]") if last else "stash"
    print(f"call {i} ({(size + tree) / 2**20:.1f} MiB): bash benchmarks/gpu_flagship.sh {command}")
    print(f"    carry: {' '.join(paths)}")
PYTHON
    ;;
  *)
    sed -n 2,21p "$0" >&2
    exit 2
    ;;
esac
