#!/usr/bin/env bash
# Here, after gpu_flagship.sh train (and gpu_prepare.sh restore): the files that came back
# become a run folder, its preset, its evaluation and the figures a model card shows.
#
#   bash benchmarks/after_gpu_flagship.sh FILES_AT [RUN]     # FILES_AT: where the train call's
#                                                           #   $OUT files lie; RUN: runs/flagship
#   SAMPLES=50 bash benchmarks/after_gpu_flagship.sh ...    # a quick check; a model card quotes
#                                                           #   the full evaluation (~17 min)
#   PRESET_ONLY=1 bash benchmarks/after_gpu_flagship.sh ... # the run folder, its preset and probe
#                                                           #   curve alone (make test-jax runs this)
#   SWEEP=1 bash benchmarks/after_gpu_flagship.sh ...       # also the sampling settings that chose
#                                                           #   diffusion-emoji72-styles' defaults,
#                                                           #   200 prompts each (~40 min)
#
# Writes RUN/ (config.json, log.jsonl, state/ with the EMA, probe.jsonl and probe/ with the chosen
# EMA), RUN/preset (the probe's choice; the last EMA where the probe was off), RUN/figures (the
# probe curve, the README's three figures, one seed in every style, the composition prompts next
# to diffusion-emoji72-styles') and RUN/eval (evaluate's report.md, report.json and grids). Look
# at every figure before one goes into docs/.
set -euo pipefail
files=${1:?usage: bash benchmarks/after_gpu_flagship.sh FILES_AT [RUN]}
run=${2:-runs/flagship}
py=${PY:-.venv/bin/python}
[ -f "$files/run-small.tgz" ] || { echo "error: no $files/run-small.tgz: pass the folder the train call's files came back to" >&2; exit 2; }
[ -e "$run" ] && { echo "error: $run exists: pass another RUN or remove it" >&2; exit 2; }
mkdir -p "$run/state" "$run/probe" "$run/snapshots" "$run/figures"
tar xzf "$files/run-small.tgz" -C "$run"
for file in "$files"/ema-*.npz; do
  case $(basename "$file") in
    ema-best.npz) cp "$file" "$run/probe/" ;;                           # the probe's choice
    ema-[0-9][0-9][0-9][0-9][0-9][0-9].npz) cp "$file" "$run/snapshots/" ;;  # --snapshots, probe off
    *) cp "$file" "$run/state/" ;;                                       # the last EMA's shards
  esac
done
"$py" -m emoji_t2i.train_jax finish --run "$run" --out "$run/preset"
if [ -s "$run/probe.jsonl" ]; then
  "$py" benchmarks/probe_curve.py "$run" --out "$run/figures/probe_curve.png"
fi
[ -n "${PRESET_ONLY:-}" ] && { ls "$run/preset"; exit 0; }
"$py" benchmarks/figures.py --preset "$run/preset" --out "$run/figures"
"$py" benchmarks/style_grid.py --preset "$run/preset" --out "$run/figures/styles_grid.png"
"$py" benchmarks/composition_grid.py diffusion-emoji72-styles "$run/preset" --labels before after \
  --out "$run/figures/composition_grid.png"
"$py" -m emoji_t2i.evaluate --preset "$run/preset" --out "$run/eval" ${SAMPLES:+--samples "$SAMPLES"}
if [ -n "${SWEEP:-}" ]; then  # the default again (guidance 3, 20 steps), at the alternatives' 200 prompts
  mkdir -p "$run/sweep"
  "$py" benchmarks/sampling_sweep.py --preset "$run/preset" --samples 200 --out "$run/sweep" \
    --settings guidance_scale=1.5 guidance_scale=2 guidance_scale=3 num_steps=10 \
    --figure "$run/figures/sampling_sweep.png" | tee "$run/sweep/table.md"
fi
ls "$run/figures" "$run/eval"
