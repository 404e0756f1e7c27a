#!/usr/bin/env bash
# This machine's half of a GPU run, in one place. The GPU machine has JAX with CUDA but no
# TensorFlow, no Keras and no network, and a call carries at most 64 MiB of working tree (git's
# tracked and unignored files plus up to 8 ignored paths), so the wheels travel, the bundle
# travels in parts, and what the run does not need leaves the tree while it runs.
#
#   bash benchmarks/gpu_prepare.sh wheels     # .whl/: keras, namex, optree for CPython 3.11-3.13
#   bash benchmarks/gpu_prepare.sh bundle [train_jax bundle options]
#                                             # runs/bundle8 (BUNDLE=...): the flagship's packed
#                                             #   bundle, warm-started from diffusion-emoji72-styles
#                                             #   (INIT_FROM=diffusion-emoji72: its U-Net grown),
#                                             #   --parts 3 unless given (--composites 10000 --parts 5)
#   bash benchmarks/gpu_prepare.sh strip      # data/, docs/, the presets and the judges' weights
#                                             #   move to $STASH (default ../gpu-stash); the tree no
#                                             #   longer imports TensorFlow's side for real work
#   bash benchmarks/gpu_prepare.sh size PATH...   # MiB that a call carrying PATHs would move
#   bash benchmarks/gpu_prepare.sh calls [STEPS MINUTES PRECISION options]
#                                             # after strip: the bundle packed into calls of at
#                                             #   most CALL_MIB (62) with the tree, each call's
#                                             #   gpu_flagship.sh command and carry list; STEPS
#                                             #   fit: what MINUTES hold, measured as it trains
#   bash benchmarks/gpu_prepare.sh restore    # puts them back; git status is as before strip
#
# Then benchmarks/gpu_flagship.sh says the calls (stash, train) and their carry lists; finish,
# evaluate and the model card run here after restore.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
stash=${STASH:-$root/../gpu-stash}
bundle=${BUNDLE:-runs/bundle8}
init_from=${INIT_FROM:-diffusion-emoji72-styles}
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
    "$py" -m emoji_t2i.train_jax bundle --init-from "$init_from" --cross-attention \
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
    "$py" benchmarks/gpu_carry.py size "$@"
    ;;
  calls)
    "$py" benchmarks/gpu_carry.py calls "$bundle" "${CALL_MIB:-62}" "$@"
    ;;
  *)
    sed -n 2,21p "$0" >&2
    exit 2
    ;;
esac
