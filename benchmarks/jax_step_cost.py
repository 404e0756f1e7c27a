"""What the cross-attention + style U-Net costs per training image under XLA, next to the
sentence-only U-Net it grew from: XLA's own count of FLOPs and bytes accessed for the compiled
gradient step, and images/s, on whatever JAX runs on (this CPU, or a GPU machine without
TensorFlow: nothing here imports it).

    python benchmarks/jax_step_cost.py [--batch-size 64] [--repeats 5] [--precision float32]

Variants (``TextConditionedUNet``, widths 32/64/128, 2 blocks):
  film            the sentence embedding through FiLM only: diffusion-emoji72's U-Net
  words           + cross-attention over 24 minilm token features and 8 styles: diffusion-emoji72-styles's
  latent          words on 18x18x8 latents of an f = 4 autoencoder: levels at 18 and 9 px, widths
                  64/128 (the words U-Net without its 36-px level; benchmarks/latent_cost.py's row)
  latent-narrow   the same at widths 32/64 (a third of the parameters)

The step is ``DenoisingLoss`` (v-prediction, caption dropout, text noise 0.1) and its gradient,
jitted; the optimizer's update is left out (the same for both but for the parameter count).
Synthetic batches. Prints one markdown row per variant: parameters, compile seconds, GFLOP and
MB accessed per image (XLA's cost analysis of the compiled step), and images/s (median of
``--repeats`` timed steps after two warm-up steps).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["KERAS_BACKEND"] = "jax"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS_KWARGS = {"cross_attention": True, "styles": 8}
LATENT = {"image_size": 18, "channels": 8, "patch": 1}
VARIANTS = {"film": {}, "words": WORDS_KWARGS,
            "latent": {**WORDS_KWARGS, **LATENT, "widths": (64, 128)},
            "latent-narrow": {**WORDS_KWARGS, **LATENT, "widths": (32, 64)}}
WORDS = 24  # minilm's WordPiece length (models/diffusion.py's SEQUENCE_LENGTH)


def measure(name: str, batch: int, repeats: int) -> str:
    import jax
    import numpy as np

    from emoji_t2i.networks.traced_build import built_traced
    from emoji_t2i.networks.unet import TextConditionedUNet
    from emoji_t2i.schedulers.loss import DenoisingLoss

    kwargs = {"widths": (32, 64, 128), **VARIANTS[name]}

    def build():
        net = TextConditionedUNet(384, kwargs.pop("widths"), 2, **kwargs)
        net.build(None)
        return net

    size, channels = kwargs.get("image_size", 72), kwargs.get("channels", 4)
    net = built_traced(build)
    params = [v.value for v in net.trainable_variables]
    rng = np.random.default_rng(0)
    text_shape = (batch, 2 + WORDS, 384) if kwargs.get("cross_attention") else (batch, 384)
    x0 = rng.uniform(-1, 1, (batch, size, size, channels)).astype("float32")
    inputs = (x0, rng.standard_normal(x0.shape).astype("float32"), rng.uniform(size=batch).astype("float32"),
              rng.uniform(size=batch).astype("float32"), rng.normal(0, 0.05, text_shape).astype("float32"),
              rng.standard_normal(text_shape).astype("float32"))
    objective = DenoisingLoss(condition_dropout=0.15, text_noise=0.1)

    def loss(params, x0, eps, t, keep_draw, text, text_draw):
        def denoise(x_t, logsnr, text, keep):
            return net.stateless_call(params, [], (x_t, logsnr, text, keep), training=True)[0]
        return jax.numpy.mean(objective(denoise, x0, eps, t, keep_draw, text, text_draw))

    start = time.perf_counter()
    step = jax.jit(jax.value_and_grad(loss)).lower(params, *inputs).compile()
    compile_seconds = time.perf_counter() - start
    cost = step.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost  # a list of one dict on older JAX
    for _ in range(2):
        jax.block_until_ready(step(params, *inputs))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(step(params, *inputs))
        times.append(time.perf_counter() - start)
    count = sum(int(np.prod(p.shape)) for p in params)
    return (f"| {name} | {count / 1e6:.2f} M | {compile_seconds:.0f} | {cost.get('flops', 0) / batch / 1e9:.2f} "
            f"| {cost.get('bytes accessed', 0) / batch / 1e6:.0f} | {batch / statistics.median(times):.1f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--precision", default="float32", choices=("float32", "mixed_bfloat16"))
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = p.parse_args()
    import jax
    import keras

    keras.config.set_dtype_policy(args.precision)
    keras.config.disable_flash_attention()  # as the JAX trainers run (training/jax_diffusion.py)
    print(f"{jax.devices()[0].device_kind}, JAX {jax.__version__}, batch {args.batch_size}, {args.precision}\n")
    print("| U-Net | parameters | compile (s) | GFLOP / image | MB accessed / image | images/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in args.variants:
        print(measure(name, args.batch_size, args.repeats), flush=True)


if __name__ == "__main__":
    main()
