#!/usr/bin/env bash
# Train the StyleGAN (seed 004's GAN-ji, the app's editing tabs) on a GPU machine with JAX but no
# TensorFlow, in one call: the bundle travels with the working tree stripped of the dataset, the
# presets, the judges' weights and docs/ (as for gpu_flagship.sh).
#
#   make test-jax                              # here, first: the JAX trainers end to end (~8 min)
#   # here: the training images and the architecture of a shipped StyleGAN preset
#   python -m emoji_t2i.train_jax bundle --init-from stylegan-emoji72 --style google,twitter --out runs/bundle-stylegan
#   # on the GPU machine (carry .whl and runs/bundle-stylegan):
#   bash benchmarks/gpu_stylegan.sh STEPS MINUTES [train_jax train options, e.g. --batch-size 64]
#   # here again, with the files that came back copied to runs/gpu-stylegan/{config.json,log.jsonl,state/}:
#   python -m emoji_t2i.train_jax finish --run runs/gpu-stylegan --out runs/gpu-stylegan/preset
#
# What comes back under $OUT: config.json, log.jsonl and what a preset needs of state/ (progress,
# the EMA generator, D and ADA's p); G's raw weights and both Adams' moments stay behind (the
# 8-file limit): a later run starts again from scratch or continues on the same machine.
set -euo pipefail
steps=$1; minutes=$2; shift 2
out=${OUT:-runs/gpu-out}
bundle=${BUNDLE:-runs/bundle-stylegan}
source "$(dirname "$0")/gpu_env.sh"
run=runs/stylegan
rm -rf "$run"
mkdir -p "$out"
"$PY" -m emoji_t2i.train_jax train --bundle "$bundle" --out "$run" --steps "$steps" --minutes "$minutes" \
  --log-seconds 20 --checkpoint-minutes 100 "$@" 2>&1 | grep --line-buffered -v "^WARNING\|^I0000" || true
cp "$run/config.json" "$run/log.jsonl" "$run"/state/progress.json "$run"/state/ema-*.npz "$run"/state/d-*.npz \
  "$run"/state/d_state-*.npz "$out/"
ls -la "$out"
