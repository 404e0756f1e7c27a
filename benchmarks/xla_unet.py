"""Does XLA (``jit_compile``) pay for the diffusion U-Net on this machine? The U-Net call is
almost all of a sampling step, so this times one call of the shipped preset's EMA U-Net as a
plain ``tf.function`` and with ``jit_compile=True``, at the batches sampling sends it
(classifier-free guidance doubles the batch: 2 = one emoji, 8 = four, 32 = a grid of 16).

    python benchmarks/xla_unet.py [--preset diffusion-emoji72] [--repeats 7]

Prints milliseconds per call (median of ``--repeats`` after two warm-up calls), the ratio
plain / XLA (above 1: XLA is faster) and the largest difference between the two outputs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def median_ms(fn, inputs, repeats):
    fn(inputs)
    fn(inputs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(inputs).numpy()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="diffusion-emoji72")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--batches", type=int, nargs="+", default=[2, 8, 32])
    args = p.parse_args()
    import numpy as np
    import tensorflow as tf

    from emoji_t2i.pipelines import TextToImagePipeline

    net = TextToImagePipeline.from_preset(args.preset).model.ema_denoiser
    plain = tf.function(lambda inputs: net(inputs, training=False))
    xla = tf.function(lambda inputs: net(inputs, training=False), jit_compile=True)
    print(f"{args.preset}'s U-Net, one call, ms (median of {args.repeats})\n")
    print("| batch | plain | XLA | plain / XLA | max difference |\n|---:|---:|---:|---:|---:|")
    for batch in args.batches:
        inputs = (tf.random.normal((batch, 72, 72, 4)), tf.zeros((batch,)),
                  tf.random.normal((batch, net.text_dim)), tf.ones((batch,)))
        a, b = median_ms(plain, inputs, args.repeats), median_ms(xla, inputs, args.repeats)
        diff = float(np.abs(plain(inputs).numpy() - xla(inputs).numpy()).max())
        print(f"| {batch} | {a:.1f} | {b:.1f} | {a / b:.2f} | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
