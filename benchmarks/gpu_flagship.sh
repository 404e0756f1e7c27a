#!/usr/bin/env bash
# Train the flagship (cross-attention + style U-Net) on a GPU machine with JAX but no TensorFlow,
# from a packed bundle, which travels in several calls of at most 64 MiB (the working tree
# must be stripped of the dataset, the presets, the judges' weights and docs/ while they run).
# `gpu_prepare.sh calls` prints the calls for the bundle at hand: the warm-started eight-style
# bundle (120 MB with its weights and the probe's composition prompts) takes three.
#
#   make test-jax                              # here, first: the JAX trainers end to end (~10 min)
#   bash benchmarks/gpu_prepare.sh wheels      # here: Keras's wheels for the GPU image (.whl/)
#   bash benchmarks/gpu_prepare.sh bundle      # here: runs/bundle8, warm-started from
#                                              #   diffusion-emoji72-styles (its EMA in float16, 10 MB;
#                                              #   or train_jax bundle ... --no-weights: from scratch)
#   bash benchmarks/gpu_prepare.sh strip       # here: data/, docs/, presets, judges out of the tree
#   bash benchmarks/gpu_prepare.sh calls STEPS MINUTES PRECISION [options]   # here: the calls below,
#                                              #   e.g. calls fit 8.5 float32 --augment 0.12 --text-noise 0.1
#   bash benchmarks/gpu_flagship.sh stash      # each call but the last (.whl in the first): keeps
#                                              #   what it carried on the machine (~30 s each)
#   bash benchmarks/gpu_flagship.sh train STEPS MINUTES PRECISION [train_jax train options]
#                                              # the last call, within the 30 s the machine stays
#                                              #   warm: carries the rest and trains; STEPS fit: as
#                                              #   many as MINUTES hold, the cosine decay ending with
#                                              #   them (train_jax train --fit-schedule) (options:
#                                              #   --augment 0.12, which alone held copying down on a
#                                              #   CPU run made to copy; docs/models/diffusion_next.md)
#   # with composites (bundle --composites 10000 --parts 5: images 122 MB instead of 78): a call more
#   bash benchmarks/gpu_flagship.sh speed      # instead of the first stash: also times float32 and
#                                              #   mixed_bfloat16 on images-0 (SPEED_MINUTES each,
#                                              #   compilation included). bfloat16's first step once
#                                              #   stalled >4 min in cuDNN's fused attention, which the
#                                              #   trainers now turn off; not re-measured since
#                                              #   (docs/performance.md)
#
#   bash benchmarks/gpu_prepare.sh restore     # here, after the last call: the tree as it was
#   bash benchmarks/after_gpu_flagship.sh FILES_AT   # here: run folder, preset, figures, evaluation
#
# Measured on an H200: the first jitted step compiles for ~58 s in float32; MINUTES counts that.
# What comes back under $OUT: run-small.tgz (config, log, progress, and the probe's log, chosen
# record and last and chosen sample grids: untar it into the run folder), the final EMA (float32,
# two files) and the probe's chosen EMA (train_jax train --probe-every, on by default), or EMA
# snapshots where the probe is off; Adam's moments and the raw parameters stay behind (the
# 8-file limit), so a later run warm-starts from the EMA (bundle --init-from its preset).
set -euo pipefail
mode=$1
out=${OUT:-runs/gpu-out}
bundle=${BUNDLE:-runs/bundle8}
stash=${FLAGSHIP_STASH:-/root/flagship-stash}  # outside the tree: kept between calls on a warm machine
source "$(dirname "$0")/gpu_env.sh"
mkdir -p "$stash" "$out"
cp -n "$bundle"/* "$stash"/ 2>/dev/null || true  # whatever this call carried stays for the next
mkdir -p "$bundle" && cp -n "$stash"/* "$bundle"/ 2>/dev/null || true
ls -la "$bundle"
if [ "$mode" = stash ]; then
  exit 0
elif [ "$mode" = speed ]; then
  speed=runs/speed-bundle
  rm -rf "$speed" runs/speed-*run && mkdir -p "$speed"
  cp "$bundle"/captions.npz "$bundle"/minilm.npz "$speed"/
  cp "$bundle"/images-0.npz "$speed"/images.npz
  "$PY" -c "
import json; m = json.load(open('$bundle/bundle.json')); m['image_parts'] = 1
json.dump(m, open('$speed/bundle.json', 'w'))"
  for precision in float32 mixed_bfloat16; do
    "$PY" -m emoji_t2i.train_jax train --bundle "$speed" --out runs/speed-$precision-run --probe-every 0 \
      --steps 100000 --minutes "${SPEED_MINUTES:-0.9}" --batch-size "${SPEED_BATCH:-256}" --precision $precision --log-seconds 8 \
      --checkpoint-minutes 100 --text-noise 0.1 2>&1 | grep --line-buffered -v "^WARNING\|^I0000" || true
    cp runs/speed-$precision-run/log.jsonl "$out/speed-$precision.jsonl" || true
  done
  nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv || true
else
  steps=$2; minutes=$3; precision=$4; shift 4
  length=(--steps "$steps")
  [ "$steps" = fit ] && length=(--fit-schedule)
  run=runs/flagship
  rm -rf "$run"
  "$PY" -m emoji_t2i.train_jax train --bundle "$bundle" --out "$run" "${length[@]}" \
    --minutes "$minutes" --batch-size "${BATCH:-256}" --precision "$precision" --log-seconds 20 \
    --checkpoint-minutes 100 "$@" 2>&1 | grep --line-buffered -v "^WARNING\|^I0000"
  # the small files in one archive (a call returns at most 8 files), the EMAs beside it
  tar czf "$out/run-small.tgz" -C "$run" config.json log.jsonl state/progress.json \
    $(cd "$run" && ls probe.jsonl probe/best.json probe/best.png probe/latest.png 2>/dev/null)
  cp "$run"/state/ema-*.npz "$out/"
  cp "$run"/probe/ema-best.npz "$out/" 2>/dev/null || cp "$run"/snapshots/ema-*.npz "$out/" 2>/dev/null || true
  ls -la "$out"
fi
