#!/usr/bin/env bash
# Train the diffusion U-Net on a GPU machine that has JAX with CUDA but neither TensorFlow nor
# a network (the machines this project is lent): Keras travels as wheels in .whl/ and the
# data as a bundle in runs/bundle/ (python -m emoji_t2i.train_jax bundle, on the TF side).
#
#   bash benchmarks/gpu_train_jax.sh new TOTAL_MINUTES MINUTES   # probe speed, size the schedule, train
#   bash benchmarks/gpu_train_jax.sh resume MINUTES              # continue runs/gpu
#
# "new" first trains 1 minute in float32 and in mixed_bfloat16 (runs/gpu-probe-*) to measure
# images/s, picks the precision, then sets --steps so the cosine schedule ends after TOTAL_MINUTES.
# The run's config, log, progress and weights (not Adam's moments: too big to travel) are
# copied to $OUT/run/ at the end; "resume" on a fresh machine restarts from those files.
set -euo pipefail
mode=$1
out=${OUT:-runs/gpu-out}
batch=${BATCH:-256}
bundle=${BUNDLE:-runs/bundle}
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
if ! python3 -c "import keras" 2>/dev/null && [ -d .whl ]; then  # the GPU image has no keras
  python3 -m pip install -q --no-index --find-links .whl --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site keras namex optree  # by name: pip picks the wheel of this Python
  export PYTHONPATH=/tmp/site:$PWD
fi
python3 -c "import jax, keras, PIL.features; print(jax.__version__, keras.__version__, jax.devices(), 'webp:', PIL.features.check('webp'))"
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv || true
run=runs/gpu
if [ "$mode" = new ]; then
  total=$2; minutes=$3
  rm -rf runs/gpu-probe-* "$run"
  for precision in float32 mixed_bfloat16; do
    python3 -m emoji_t2i.train_jax train --bundle "$bundle" --out runs/gpu-probe-$precision \
      --steps 100000 --minutes 1 --batch-size "$batch" --precision $precision --log-seconds 5 \
      --checkpoint-minutes 100
  done
  # float32 unless bfloat16 is > 1.33x faster: the TensorFlow side never trained in bfloat16
  read -r precision rate < <(python3 -c "
import json
rate = {p: json.loads(open(f'runs/gpu-probe-{p}/log.jsonl').readlines()[-1])['images_per_second']
        for p in ('float32', 'mixed_bfloat16')}
print(rate)
p = 'mixed_bfloat16' if rate['mixed_bfloat16'] > 1.33 * rate['float32'] else 'float32'
print(p, rate[p])" | tee /dev/stderr | tail -1)
  steps=$(python3 -c "print(int($rate * $total * 60 / $batch))")
  echo "probe: $precision at $rate img/s -> --steps $steps for $total minutes"
  python3 -m emoji_t2i.train_jax train --bundle "$bundle" --out "$run" --steps "$steps" \
    --minutes "$minutes" --batch-size "$batch" --precision "$precision"
else
  minutes=$2
  if [ ! -f "$run/state/progress.json" ] && [ -d runs/gpu-carry/run ]; then
    echo "fresh machine: resuming from the carried weights (Adam's moments restart)"
    mkdir -p "$run" && cp -r runs/gpu-carry/run/. "$run/"
  fi
  python3 -m emoji_t2i.train_jax train --bundle "$bundle" --out "$run" --resume --minutes "$minutes"
fi
mkdir -p "$out/run/state"
cp "$run/config.json" "$run/log.jsonl" "$out/run/"
cp "$run"/state/progress.json "$run"/state/params-*.npz "$run"/state/ema-*.npz "$out/run/state/"
ls -la "$out/run" "$out/run/state"
