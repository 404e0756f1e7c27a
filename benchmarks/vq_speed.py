"""Speed of the DALL·E-like pair on this machine: training images/s, GFLOP per image and MFU
of each stage's train step, and ``vq_transformer`` sampling ms per emoji at batch 16 from
its SavedModel in a fresh process.

    python benchmarks/vq_speed.py --tokenizer runs/vq-f4 --prior runs/vqt [--repeats 5]

Medians of ``--repeats`` timed steps after a warm-up; synthetic batches of the runs'
architectures (what ``fit`` runs, data pipeline excluded); MFU against the 2048^2 float32
matmul peak measured in the same process. The machine is shared: figures are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from diffusion_speed import median_time  # noqa: E402
from train_step import step_flops  # noqa: E402

SAMPLING = """
import json, statistics, sys, time
import tensorflow as tf
m = tf.saved_model.load(sys.argv[1])
prompts = tf.constant(["crying cat", "red heart", "rocket", "pizza"] * 4)
for steps in (8, 12):
    m.sample(prompts, 0, tf.constant(steps), tf.constant(3.0))
    times = []
    for r in range(int(sys.argv[2])):
        t = time.perf_counter(); m.sample(prompts, r, tf.constant(steps), tf.constant(3.0))
        times.append(time.perf_counter() - t)
    print(json.dumps({"steps": steps, "ms_per_emoji": 1000 * statistics.median(times) / 16}))
"""


def train_speed(run, batch_size, repeats, peak):
    import keras
    import numpy as np
    import tensorflow as tf

    from emoji_t2i.models import build_model
    from emoji_t2i.pipelines import RunDir

    config = RunDir(run).load_config()
    model = build_model(config, 30522)
    model.compile(optimizer=keras.optimizers.AdamW(1e-4))
    length = int(config["training"]["sequence_length"])
    model.build_all(length)
    rng = np.random.default_rng(0)
    b = batch_size
    batch = {"images": rng.uniform(-1, 1, (b, 72, 72, 4)).astype("float32"),
             "tokens": rng.integers(1000, 2000, (b, length)).astype("int64"),
             **{n: (rng.standard_normal if k == "normal" else rng.uniform)(size=(b, *s)).astype("float32")
                for n, (k, s) in model.random_draws().items()}}
    step = tf.function(model.train_step)
    seconds = median_time(lambda: step(batch)["loss"].numpy(), repeats)
    gflop = step_flops(model, batch) / b / 1e9
    params = sum(net.count_params() for net in model.networks().values()) / 1e6
    return {"images_per_s": b / seconds, "gflop_per_image": gflop, "mfu_percent": 100 * gflop * b / seconds / peak,
            "trained_params_millions": params}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokenizer", required=True, help="a vq run")
    p.add_argument("--prior", required=True, help="a vq_transformer run")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()
    import tensorflow as tf

    a = tf.random.normal((2048, 2048))
    matmul = tf.function(lambda: tf.matmul(a, a))
    peak = 2 * 2048**3 / median_time(lambda: matmul().numpy(), args.repeats) / 1e9
    results = {"matmul_gflops": peak}
    for name, run in (("vq", args.tokenizer), ("vq_transformer", args.prior)):
        for key, value in train_speed(run, args.batch_size, args.repeats, peak).items():
            results[f"{name}_train_{key}"] = value

    from emoji_t2i.export import export_pipeline
    from emoji_t2i.pipelines import TextToImagePipeline

    pipe = TextToImagePipeline.from_run(args.prior)
    with tempfile.TemporaryDirectory() as tmp:
        export_pipeline(pipe, Path(tmp) / "saved")
        out = subprocess.run([sys.executable, "-c", SAMPLING, str(Path(tmp) / "saved"), str(args.repeats)],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    for line in out.stdout.splitlines():
        row = json.loads(line)
        results[f"vq_transformer_savedmodel_ms_per_emoji_batch16_{row['steps']}_steps"] = row["ms_per_emoji"]
    for key, value in results.items():
        print(f"{key:60s} {value:10.1f}")


if __name__ == "__main__":
    main()
