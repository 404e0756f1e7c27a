#!/usr/bin/env bash
# Distil a diffusion preset into a few-step student on a GPU machine with JAX but no TensorFlow,
# in one call: the bundle of diffusion-emoji72 (~56 MB) travels with the working tree stripped of
# the dataset, the presets, the judges' weights and docs/ (as for gpu_flagship.sh).
#
#   make test-jax                              # here, first: the JAX trainers end to end (~8 min)
#   # here: the teacher's bundle (its training images, caption features, EMA weights, sampling defaults)
#   python -m emoji_t2i.train_jax bundle --init-from diffusion-emoji72 --style google,twitter \
#       --out runs/bundle-default
#   # on the GPU machine (carry .whl and runs/bundle-default):
#   bash benchmarks/gpu_distill.sh 8,4,2 STAGE_STEPS MINUTES [train_jax distill options]
#   bash benchmarks/gpu_distill.sh 8,4,2 fit MINUTES [...]   # each stage fitted to a third of MINUTES
#   # here again, with the files that came back copied to runs/gpu-distill/{config.json,log.jsonl,stages/}:
#   python -m emoji_t2i.train_jax finish --run runs/gpu-distill --out runs/gpu-distill/preset [--stage 4]
#
# What comes back under $OUT: config.json, log.jsonl and every finished stage's student (float32,
# two files each: 3 stages make 8 files, the most a call returns). Size STAGE_STEPS so that every
# stage finishes within MINUTES (the first jitted step of each stage compiles first), or pass
# "fit": each stage then gets an equal share of the minutes left and fits its length to it.
set -euo pipefail
stages=$1; stage_steps=$2; minutes=$3; shift 3
out=${OUT:-runs/gpu-out}
bundle=${BUNDLE:-runs/bundle-default}
source "$(dirname "$0")/gpu_env.sh"
run=runs/distill
rm -rf "$run"
mkdir -p "$out"
if [ "$stage_steps" = fit ]; then length=(--fit-schedule); else length=(--stage-steps "$stage_steps"); fi
"$PY" -m emoji_t2i.train_jax distill --bundle "$bundle" --out "$run" --stages "$stages" \
  "${length[@]}" --minutes "$minutes" --batch-size "${BATCH:-256}" --log-seconds 20 \
  --checkpoint-minutes 100 "$@" 2>&1 | grep --line-buffered -v "^WARNING\|^I0000" || true
cp "$run/config.json" "$run/log.jsonl" "$out/"
cp "$run"/stages/student-*.npz "$out/" 2>/dev/null || true
ls -la "$out"
