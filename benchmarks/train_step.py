"""Images/s and model FLOPs utilisation of the ``cgan`` train step on this machine.

Not a test: prints a markdown table for docs/performance.md. Each configuration runs in its own
subprocess (the dtype policy is global), through ``fit()`` on one real batch of the
embedded dataset repeated, exactly the graph ``python -m emoji_t2i.train`` runs:

- ``cgan`` at its defaults in float32 and mixed_bfloat16, each with and without XLA;
- the same-size GAN written the way the keras.io conditional-GAN example writes it: the
  condition (here the text code) tiled over every pixel as extra image channels for the
  discriminator, the generator run twice per step, BCE loss. Our step's speed-up over it
  is reported as a ratio.

MFU = (FLOPs of one train step, counted by the TF profiler on the traced step graph,
forward and backward) / step time / the matmul peak measured in this run for that dtype.

    python benchmarks/train_step.py [--batch-size 64] [--seconds 40]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIGS = {
    # name: (model, precision, jit_compile)
    "cgan float32": ("cgan", "float32", False),
    "cgan float32 XLA": ("cgan", "float32", True),
    "cgan mixed_bfloat16": ("cgan", "mixed_bfloat16", False),
    "cgan mixed_bfloat16 XLA": ("cgan", "mixed_bfloat16", True),
    "keras.io-style float32": ("kerasio", "float32", False),
}


def matmul_peak(dtype: str, n: int = 2048, repeats: int = 10) -> float:
    """Median GFLOP/s of an n x n matmul: the ceiling a conv-heavy step is read against."""
    import tensorflow as tf

    a = tf.random.normal((n, n), dtype=tf.float32)
    a = tf.cast(a, dtype)
    matmul = tf.function(lambda x: tf.linalg.matmul(x, x))
    matmul(a).numpy()
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        matmul(a).numpy()
        rates.append(2 * n**3 / (time.perf_counter() - t) / 1e9)
    return statistics.median(rates)


def keras_io_style_gan(base_class):
    """The keras.io conditional GAN's step, on our generator and a same-width discriminator."""
    import keras
    import tensorflow as tf
    from keras import layers, ops

    from emoji_t2i.models.layers import SpectralConv2D
    from emoji_t2i.text import make_text_encoder

    class TiledConditionDiscriminator(keras.Model):
        def __init__(self, vocabulary_size, text_encoder, text_dim, channels, **kwargs):
            super().__init__(**kwargs)
            self.channels = tuple(channels)
            self.text = make_text_encoder(text_encoder, vocabulary_size, text_dim, normalize=False)
            self.stem = SpectralConv2D(channels[0], 3, padding="same")
            for i, c in enumerate(channels[1:], 1):
                setattr(self, f"down{i}", SpectralConv2D(c, 4, strides=2, padding="same"))
            self.final = SpectralConv2D(channels[-1], 3, padding="same")
            self.head = layers.Dense(1, dtype="float32")

        def call(self, inputs, training=False):
            images, tokens = inputs
            code = ops.cast(self.text(tokens), images.dtype)
            size = ops.shape(images)[1]
            tiled = ops.tile(code[:, None, None, :], (1, size, size, 1))  # keras.io: labels as channels
            x = ops.leaky_relu(self.stem(ops.concatenate([images, tiled], axis=-1)), 0.2)
            for i in range(1, len(self.channels)):
                x = ops.leaky_relu(getattr(self, f"down{i}")(x), 0.2)
            x = ops.leaky_relu(self.final(x), 0.2)
            return self.head(ops.sum(ops.cast(x, "float32"), axis=(1, 2)))

    class KerasIOStyleGAN(base_class):
        def make_discriminator(self, name):
            return TiledConditionDiscriminator(self.vocabulary_size, self.text_encoder,
                                               self.text_dim, self.d_channels, name=name)

        def train_step(self, data):
            real, tokens, noise = data["images"], data["tokens"], data["noise"]
            bce = keras.losses.BinaryCrossentropy(from_logits=True)
            batch = ops.shape(real)[0]
            fake = self.generator([noise, tokens], training=True)
            combined = ops.concatenate([fake, ops.cast(real, fake.dtype)], axis=0)
            both = ops.concatenate([tokens, tokens], axis=0)
            targets = ops.concatenate([ops.ones((batch, 1)), ops.zeros((batch, 1))], axis=0)
            with tf.GradientTape() as tape:
                d_loss = bce(targets, self.discriminator([combined, both], training=True))
            d_vars = self.discriminator.trainable_variables
            self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars, strict=True))
            with tf.GradientTape() as tape:  # keras.io generates the fakes a second time
                fake = self.generator([noise[::-1], tokens], training=True)
                g_loss = bce(ops.zeros((batch, 1)), self.discriminator([fake, tokens], training=True))
            g_vars = self.generator.trainable_variables
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars, strict=True))
            self.trackers["d_loss"].update_state(d_loss)
            self.trackers["g_loss"].update_state(g_loss)
            return {"d_loss": self.trackers["d_loss"].result(), "g_loss": self.trackers["g_loss"].result()}

    return KerasIOStyleGAN


def step_flops(model, batch) -> float:
    """Float ops of one train step (forward + backward), from the traced graph."""
    import tensorflow as tf
    from tensorflow.python.profiler import model_analyzer, option_builder

    spec = {k: tf.TensorSpec(v.shape, v.dtype) for k, v in batch.items()}
    graph = tf.function(model.train_step).get_concrete_function(spec).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return float(model_analyzer.profile(graph, options=options).total_float_ops)


def measure(name: str, batch_size: int, seconds: float) -> dict:
    import keras
    import tensorflow as tf

    from emoji_t2i.data.pipeline import make_dataset
    from emoji_t2i.models import get_model_class
    from emoji_t2i.models.layers import AUGMENT_PARAMS
    from emoji_t2i.training.config import resolve
    from emoji_t2i.training.environment import set_precision
    from emoji_t2i.training.loop import compile_model, prepare

    kind, precision, jit = CONFIGS[name]
    set_precision(precision)
    config = resolve("cgan", get_model_class("cgan"), {"precision": precision},
                     [f"jit_compile={str(jit).lower()}"])
    _, train, vectorizer, vocabularies = prepare(config, None, resume=False)
    cls = get_model_class("cgan") if kind == "cgan" else keras_io_style_gan(get_model_class("cgan"))
    model = cls(vectorizer.vocabulary_size(), num_classes=config["num_classes"], **config["hparams"])
    compile_model(model, config, total_steps=10_000)  # the GAN rates are constant: any length
    batch = next(iter(make_dataset(train, vectorizer, batch_size, seed=0, epochs=1,
                                   label_fields=tuple(vocabularies), label_vocabularies=vocabularies,
                                   noise_dim=model.noise_dim, augment_params=AUGMENT_PARAMS)))
    flops = step_flops(model, batch)

    times = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, step, logs=None):
            times.append(time.perf_counter())
            if len(times) > 3 and times[-1] - times[2] > seconds and len(times) > 6:
                self.model.stop_training = True

    start = time.perf_counter()
    model.fit(tf.data.Dataset.from_tensors(batch).repeat(), steps_per_epoch=10_000, epochs=1,
              callbacks=[Clock()], verbose=0)
    steps = [b - a for a, b in zip(times[2:], times[3:], strict=False)]  # the first steps trace and compile
    step = statistics.median(steps)
    return {"name": name, "precision": precision, "jit": jit, "images_per_s": batch_size / step,
            "step_s": step, "steps_timed": len(steps), "gflop_per_step": flops / 1e9,
            "first_steps_s": times[2] - start,
            "params": model.generator.count_params() + model.discriminator.count_params()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seconds", type=float, default=40.0, help="timed seconds per configuration")
    p.add_argument("--only", help="run one configuration in this process (internal)")
    p.add_argument("--configs", default=",".join(CONFIGS), help="comma list of configurations")
    args = p.parse_args()
    if args.only:
        print("RESULT " + json.dumps(measure(args.only, args.batch_size, args.seconds)), flush=True)
        return
    peaks = {"float32": matmul_peak("float32"), "mixed_bfloat16": matmul_peak("bfloat16")}
    print(f"2048x2048 matmul peak: float32 {peaks['float32']:.0f} GFLOP/s, "
          f"bfloat16 {peaks['mixed_bfloat16']:.0f} GFLOP/s", flush=True)
    results = []
    for name in args.configs.split(","):
        out = subprocess.run([sys.executable, __file__, "--only", name, "--batch-size",
                              str(args.batch_size), "--seconds", str(args.seconds)],
                             capture_output=True, text=True)
        lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            print(f"{name}: failed\n{out.stderr[-2000:]}", flush=True)
            continue
        r = json.loads(lines[-1][7:])
        r["mfu"] = r["gflop_per_step"] / r["step_s"] / peaks[r["precision"]]
        results.append(r)
        print(f"{name}: {r['images_per_s']:.1f} img/s (median of {r['steps_timed']} steps)", flush=True)
    ours = next((r for r in results if r["name"] == "cgan float32"), None)
    print(f"\nbatch {args.batch_size}; matmul peak float32 {peaks['float32']:.0f} GFLOP/s, "
          f"bfloat16 {peaks['mixed_bfloat16']:.0f} GFLOP/s\n")
    print("| step | images/s | step (s) | GFLOP/step | MFU | first 3 steps (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['name']} | {r['images_per_s']:.1f} | {r['step_s']:.2f} | {r['gflop_per_step']:.1f} "
              f"| {100 * r['mfu']:.1f}% | {r['first_steps_s']:.0f} |")
    io = next((r for r in results if r["name"].startswith("keras.io")), None)
    if ours and io:
        print(f"\ncgan float32 vs keras.io-style float32: {ours['images_per_s'] / io['images_per_s']:.2f}x "
              f"images/s ({io['gflop_per_step'] / ours['gflop_per_step']:.2f}x fewer FLOPs per step)")


if __name__ == "__main__":
    main()
