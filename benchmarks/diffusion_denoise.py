"""One-step denoising of real emoji by a diffusion run or preset, per noise level.

    python benchmarks/diffusion_denoise.py --run runs/diffusion-shipped [--figure x.png]

Prints, for t in (0.1, 0.3, 0.5, 0.7, 0.9, 0.97), the x0 mean squared error (premultiplied
RGBA in [-1, 1]) of the EMA network with the true caption, with the null caption, and of
the trivial "predict the mean image" answer. Samplers divide by small signal rates at
the noisy end, so a model that is worse than the trivial answer there draws noise however
good its loss looks (shared/LESSONS.md); look here before looking at samples.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

TIMES = (0.1, 0.3, 0.5, 0.7, 0.9, 0.97)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run")
    src.add_argument("--preset")
    p.add_argument("--images", type=int, default=64)
    p.add_argument("--figure", help="PNG: rows of noisy input / prediction per noise level")
    args = p.parse_args()
    from emoji_t2i.data import load_dataset
    from emoji_t2i.data.images import premultiply, unpremultiply
    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.plotting import save_grid

    pipe = TextToImagePipeline.from_run(args.run) if args.run else TextToImagePipeline.from_preset(args.preset)
    model = pipe.model
    train = load_dataset().subset("train")
    rows = np.random.default_rng(0).choice(len(train), args.images, replace=False)
    x0 = premultiply(train.images[rows].astype(np.float32) / 127.5 - 1.0)
    features = model.encode(pipe.tokenizer([train.captions[i][0] for i in rows]))
    mean_image = tf.reduce_mean(premultiply(train.images.astype(np.float32) / 127.5 - 1.0), 0)
    eps = tf.random.stateless_normal(x0.shape, seed=[0, 0])
    print(f"{'t':>5} {'logSNR':>7} {'x0 MSE (caption)':>17} {'(null caption)':>15} {'(mean image)':>13}")
    shown = []
    for t in TIMES:
        tt = tf.fill([args.images], t)
        x_t = model.schedule.add_noise(x0, eps, tt)
        out = {}
        for name, keep in (("text", 1.0), ("null", 0.0)):
            v = model.ema_denoiser((x_t, model.schedule.logsnr(tt), features, tf.fill([args.images], keep)))
            out[name] = model.schedule.from_v(x_t, v, tt)[0]
        mse = {k: float(tf.reduce_mean((v - x0) ** 2)) for k, v in out.items()}
        trivial = float(tf.reduce_mean((mean_image[None] - x0) ** 2))
        logsnr = float(model.schedule.logsnr(t))
        print(f"{t:5.2f} {logsnr:7.2f} {mse['text']:17.4f} {mse['null']:15.4f} {trivial:13.4f}")
        shown.append((tf.clip_by_value(x_t[:8], -1, 1), out["text"][:8]))
    if args.figure:
        to_u8 = lambda x: np.clip(np.round((np.asarray(unpremultiply(x)) + 1) * 127.5), 0, 255).astype(np.uint8)  # noqa: E731
        images = np.concatenate([np.concatenate([to_u8(a), to_u8(b)]) for a, b in shown])
        captions = [f"t={t} in / x0" if j == 0 else "" for t in TIMES for j in range(16)]
        save_grid(args.figure, images, captions, columns=16)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
