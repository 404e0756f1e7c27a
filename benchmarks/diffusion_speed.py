"""Diffusion speed on this machine: training images/s, sampling ms per emoji from the
SavedModel in a fresh process, and minilm's caption encoding time.

    python benchmarks/diffusion_speed.py [--preset diffusion-emoji72] [--repeats 5]

Medians of ``--repeats`` timed calls after a warm-up call; the machine is shared, so the
figures are upper bounds. The training step is timed on the shipped architecture with
synthetic batches (what ``fit`` runs, data pipeline excluded); MFU is against the FLOPs
TensorFlow's profiler counts for one step and the 2048^2 float32 matmul peak measured in
the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_step import step_flops  # noqa: E402

SAMPLING = """
import json, statistics, sys, time
import tensorflow as tf
m = tf.saved_model.load(sys.argv[1])
prompts = tf.constant(["crying cat", "red heart", "rocket", "pizza"] * 4)
for steps in (10, 20):
    m.sample(prompts, 0, tf.constant(steps), tf.constant(3.0))
    times = []
    for r in range(int(sys.argv[2])):
        t = time.perf_counter(); m.sample(prompts, r, tf.constant(steps), tf.constant(3.0))
        times.append(time.perf_counter() - t)
    print(json.dumps({"steps": steps, "ms_per_emoji": 1000 * statistics.median(times) / 16}))
"""


def median_time(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="diffusion-emoji72")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()
    import keras
    import numpy as np
    import tensorflow as tf

    from emoji_t2i.export import export_pipeline
    from emoji_t2i.pipelines import TextToImagePipeline, load_preset
    from emoji_t2i.text.tokenizers import make_tokenizer

    results = {}
    a = tf.random.normal((2048, 2048))
    matmul = tf.function(lambda: tf.matmul(a, a))
    results["matmul_gflops"] = 2 * 2048**3 / median_time(lambda: matmul().numpy(), args.repeats) / 1e9

    model, tokenizer, _ = load_preset(args.preset)
    encoder = model.text_encoder if model.cached_text else None
    if encoder is not None:
        captions = [f"caption number {i} with a few words" for i in range(64)]
        for length in (16, 24):
            wp = make_tokenizer("wordpiece", sequence_length=length)
            encode = tf.function(lambda s, wp=wp: encoder(wp(s))["pooled"])
            results[f"minilm_ms_per_64_captions_len{length}"] = 1000 * median_time(
                lambda encode=encode: encode(tf.constant(captions)).numpy(), args.repeats)

    config = {k: v for k, v in model.get_config().items() if k not in ("name", "trainable", "dtype")}
    trainee = type(model)(**config)
    trainee.compile(optimizer=keras.optimizers.AdamW(1e-4))
    trainee.build_all(tokenizer.sequence_length if hasattr(tokenizer, "sequence_length") else 16)
    rng = np.random.default_rng(0)
    b = args.batch_size
    batch = {"images": rng.uniform(-1, 1, (b, 72, 72, 4)).astype("float32"),
             "tokens": np.ones((b, 24), "int32"),
             "text_features": rng.standard_normal((b, 384)).astype("float32"),
             **{n: (rng.standard_normal if k == "normal" else rng.uniform)(size=(b, *s)).astype("float32")
                for n, (k, s) in trainee.random_draws().items()}}
    step = tf.function(trainee.train_step)
    seconds = median_time(lambda: step(batch)["loss"].numpy(), args.repeats)
    results["train_images_per_s"] = b / seconds
    results["train_gflop_per_image"] = step_flops(trainee, batch) / b / 1e9
    results["train_mfu_percent"] = 100 * results["train_gflop_per_image"] * results["train_images_per_s"] \
        / results["matmul_gflops"]
    results["unet_params_millions"] = trainee.denoiser.count_params() / 1e6

    pipe = TextToImagePipeline(model, tokenizer, {"model": "diffusion"})
    with tempfile.TemporaryDirectory() as tmp:
        export_pipeline(pipe, Path(tmp) / "saved", editing=False)
        out = subprocess.run([sys.executable, "-c", SAMPLING, str(Path(tmp) / "saved"), str(args.repeats)],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    for line in out.stdout.splitlines():
        row = json.loads(line)
        results[f"savedmodel_ms_per_emoji_batch16_{row['steps']}_steps"] = row["ms_per_emoji"]
    for key, value in results.items():
        print(f"{key:45s} {value:10.1f}")


if __name__ == "__main__":
    main()
