#!/usr/bin/env bash
# The flagship's regularisers measured on/off in one GPU call: six short runs side by side on one
# chip (a small U-Net leaves most of it idle), each with the probe, from the same bundle:
#
#   base       own captions only, no text noise, no augmentation
#   keywords   + the packed bundle's keyword-subset captions
#   text-noise + Gaussian noise on the text embedding (0.1)
#   augment    + EDM's non-leaky geometric augmentation (probability 0.12)
#   balance    + every emoji in every style drawn alike, skin tones sharing its turn (--balance identity)
#   dropout    augment's + dropout 0.1 in the U-Net's residual blocks
#
#   bash benchmarks/gpu_flagship.sh stash             # call 1: the bundle stays on the machine
#   bash benchmarks/gpu_ablation.sh STEPS MINUTES      # call 2, at once (extra args go to every run)
#   # here: tar xzf ablation.tgz -C runs/ && python benchmarks/probe_curve.py runs/ablation-* --out FIG
#
# What comes back under $OUT: ablation.tgz (each run's config, log, probe log, chosen record and
# sample grids). MINUTES bounds each run (they run at once); size STEPS to what they reach.
set -euo pipefail
steps=$1; minutes=$2; shift 2
out=${OUT:-runs/gpu-out}
bundle=${BUNDLE:-runs/bundle8}
stash=/root/flagship-stash
source "$(dirname "$0")/gpu_env.sh"
mkdir -p "$bundle" "$out" && cp -n "$stash"/* "$bundle"/ 2>/dev/null || true
declare -A variants=(
  [base]="--no-keyword-subsets --text-noise 0 --augment 0"
  [keywords]="--text-noise 0 --augment 0"
  [text-noise]="--text-noise 0.1 --augment 0"
  [augment]="--text-noise 0.1 --augment 0.12"
  [balance]="--text-noise 0.1 --augment 0.12 --balance identity"
  [dropout]="--text-noise 0.1 --augment 0.12 --dropout 0.1"
)
for name in "${!variants[@]}"; do
  run=runs/ablation-$name
  rm -rf "$run"
  # shellcheck disable=SC2086
  "$PY" -m emoji_t2i.train_jax train --bundle "$bundle" --out "$run" --steps "$steps" --minutes "$minutes" \
    --batch-size "${BATCH:-256}" --precision float32 --log-seconds 30 --checkpoint-minutes 100 \
    ${variants[$name]} "$@" > "runs/ablation-$name.log" 2>&1 &
done
wait || true
tail -n 3 runs/ablation-*.log
tar czf "$out/ablation.tgz" -C runs $(cd runs && ls -d ablation-*.log ablation-*/config.json ablation-*/log.jsonl \
  ablation-*/probe.jsonl ablation-*/probe/best.json ablation-*/probe/*.png 2>/dev/null)
ls -la "$out"
