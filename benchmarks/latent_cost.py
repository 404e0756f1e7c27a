"""What a latent diffusion model would cost next to the pixel one, on this machine: the flagship's
U-Net (FiLM + cross-attention over minilm's words + styles, the ``diffusion-emoji72-styles``
architecture) on 72x72x4 pixels against the same U-Net on the 18x18xC latents of an f = 4
autoencoder, and that autoencoder's decoder, which a latent model runs once per sampled emoji.

    python benchmarks/latent_cost.py [--batch-size 32] [--repeats 5] [--latent-channels 8]

Variants (``TextConditionedUNet``'s ``image_size``, ``channels``, ``patch``):
  pixel           72x72x4, space-to-depth 2: levels at 36, 18 and 9 px, widths 32/64/128 (shipped)
  latent          18x18xC: levels at 18 and 9 px, widths 64/128 (the pixel U-Net without its 36-px level)
  latent-narrow   18x18xC: levels at 18 and 9 px, widths 32/64 (the pixel U-Net's widths one level down)
  decoder         the ``vq`` tokenizer's f = 4 decoder (widths 48/96/128): 18x18xC -> 72x72x4

Per variant: parameters; GFLOP per image of a training step (forward + backward, counted on the
traced graph) and of one sampling call (forward); training images/s and sampling ms per emoji
per call, medians of ``--repeats`` timed steps after a warm-up (synthetic batches; what the
train step and the sampler run, data pipeline excluded). The machine may be shared: times are
upper bounds, FLOP counts are exact. Prints one markdown row per variant.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from diffusion_speed import median_time  # noqa: E402


def graph_flops(fn, *specs) -> float:
    from tensorflow.python.profiler import model_analyzer, option_builder

    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return float(model_analyzer.profile(fn.get_concrete_function(*specs).graph, options=options).total_float_ops)


def measure(net, inputs, batch: int, repeats: int) -> dict:
    import tensorflow as tf

    specs = [tf.TensorSpec(x.shape, x.dtype) for x in inputs]
    def forward(xs, training=False):  # a U-Net takes its inputs as a tuple, the decoder its latents
        return net(xs if len(xs) > 1 else xs[0], training=training)

    target = tf.random.normal(forward(inputs).shape)

    @tf.function
    def train(*xs):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(forward(xs, training=True) - target))
        return tape.gradient(loss, net.trainable_variables)

    sample = tf.function(lambda *xs: forward(xs))
    step = median_time(lambda: [g.numpy() for g in train(*inputs)], repeats)
    call = median_time(lambda: sample(*inputs).numpy(), repeats)
    return {"params": net.count_params(), "train_gflop": graph_flops(train, *specs) / batch / 1e9,
            "sample_gflop": graph_flops(sample, *specs) / batch / 1e9,
            "images_per_second": batch / step, "call_ms": 1000 * call / batch}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="diffusion-emoji72-styles", help="whose U-Net architecture")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--latent-channels", type=int, default=8)
    args = p.parse_args()

    import numpy as np

    from emoji_t2i.networks.unet import TextConditionedUNet
    from emoji_t2i.networks.vq import VQDecoder
    from emoji_t2i.pipelines import load_preset

    model = load_preset(args.preset)[0]
    base = {k: v for k, v in model.ema_denoiser.get_config().items() if k not in ("name", "trainable", "dtype")}
    widths, c, b = base["widths"], args.latent_channels, args.batch_size
    variants = {"pixel": {}, "latent": {"image_size": 18, "channels": c, "patch": 1, "widths": widths[1:]},
                "latent-narrow": {"image_size": 18, "channels": c, "patch": 1, "widths": widths[:2]}}
    rng = np.random.default_rng(0)
    words = model.MAX_WORDS if base["cross_attention"] else 0
    text = rng.normal(size=(b, 2 + words, base["text_dim"]) if words else (b, base["text_dim"])).astype("float32")
    rows = {}
    for name, change in variants.items():
        net = TextConditionedUNet(**{**base, **change}, name=name)
        size, channels = change.get("image_size", 72), change.get("channels", 4)
        x = rng.normal(size=(b, size, size, channels)).astype("float32")
        inputs = (x, rng.normal(size=(b,)).astype("float32"), text, np.ones((b,), "float32"))
        net(inputs)
        rows[name] = measure(net, inputs, b, args.repeats)
    decoder = VQDecoder((48, 96, 128), downsample=4, name="decoder")
    latents = rng.normal(size=(b, 18, 18, c)).astype("float32")
    decoder(latents)
    rows["decoder"] = measure(decoder, (latents,), b, args.repeats)

    print(f"batch {b}; latent channels {c}; U-Net of {args.preset}")
    print("| variant | parameters | GFLOP / training image | training images/s | GFLOP / call | ms / emoji / call |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['params']:,} | {r['train_gflop']:.2f} | {r['images_per_second']:.1f} | "
              f"{r['sample_gflop']:.3f} | {r['call_ms']:.2f} |")


if __name__ == "__main__":
    main()
