"""How well ``vq`` image tokenizers reconstruct emoji: the numbers issue 13 asks for.

    python benchmarks/vq_tokenizer.py --run runs/vq-f4 --run runs/vq-f8 --figure docs/vq/reconstructions.png

For each run (its latest checkpoint), on every held-out emoji and 1,000 training emoji:
PSNR (dB, premultiplied RGBA on [0, 1], the space it is trained in), FID of the
reconstructions against the originals in the evaluation classifier's features (the same
features as docs/evaluation.md's table; 0 = indistinguishable), the codebook's usage (share
of codes used, perplexity of the code histogram) and encode + decode time per emoji. The
figure shows held-out originals over each run's reconstructions.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def reconstruct(model, images_uint8, batch=128):
    import tensorflow as tf

    from emoji_t2i.data.images import to_unit_range

    encode = tf.function(lambda x: model.encode(x))
    decode = tf.function(lambda ids: model.decode(ids))
    ids, out = [], []
    start = time.perf_counter()
    for s in range(0, len(images_uint8), batch):
        x = to_unit_range(images_uint8[s:s + batch].astype(np.float32))
        code = encode(x)
        ids.append(np.asarray(code))
        out.append(np.asarray(decode(code)))
    seconds = time.perf_counter() - start
    return np.concatenate(ids), np.concatenate(out), seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", action="append", required=True, help="a vq run directory (repeatable)")
    p.add_argument("--train-images", type=int, default=1000)
    p.add_argument("--figure", help="PNG: held-out originals over each run's reconstructions")
    args = p.parse_args()
    import keras

    from emoji_t2i.data import load_dataset
    from emoji_t2i.data.images import premultiply, to_uint8
    from emoji_t2i.evaluation import metrics
    from emoji_t2i.evaluation.judges import Judges
    from emoji_t2i.pipelines import load_run_model
    from emoji_t2i.plotting import save_grid

    keras.config.set_dtype_policy("float32")
    ds = load_dataset("embedded")
    rng = np.random.default_rng(0)
    train = ds.subset("train")
    sets = {"held-out": ds.subset("heldout").images,
            "train": train.images[rng.permutation(len(train))[: args.train_images]]}
    judges = Judges.load()
    real_features = {name: judges.image_outputs(images)[0] for name, images in sets.items()}
    show = rng.choice(len(sets["held-out"]), 16, replace=False)  # faces, hands, objects, flags
    rows, shown = [], [sets["held-out"][show]]
    for run in args.run:
        model, _, config = load_run_model(run, "vq")
        h = config["hparams"]
        for name, images in sets.items():
            ids, out, seconds = reconstruct(model, images)
            real = np.asarray(premultiply(images.astype(np.float32) / 127.5 - 1.0))
            mse = ((np.asarray(premultiply(out)) - real) ** 2).mean(axis=(1, 2, 3)) / 4.0
            counts = np.bincount(ids.reshape(-1), minlength=model.num_codes)
            prob = counts / counts.sum()
            perplexity = float(np.exp(-(prob[prob > 0] * np.log(prob[prob > 0])).sum()))
            fid = metrics.fid(judges.image_outputs(to_uint8(out))[0], real_features[name])
            rows.append((run, f"f={h['downsample']} ({model.grid_size}x{model.grid_size}), {model.num_codes} codes",
                         name, float(np.median(-10 * np.log10(mse + 1e-10))), fid, (counts > 0).mean(),
                         perplexity, 1000 * seconds / len(images)))
            if name == "held-out":
                shown.append(to_uint8(out[show]))
    print("| run | tokens | images | PSNR (median dB) | FID of reconstructions | codes used | perplexity "
          "| encode+decode ms/emoji |")
    print("|---|---|---|---|---|---|---|---|")
    for run, tokens, name, psnr, fid, used, perplexity, ms in rows:
        print(f"| {run} | {tokens} | {name} | {psnr:.1f} | {fid:.1f} | {used:.0%} | {perplexity:.0f} | {ms:.1f} |")
    if args.figure:
        Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
        labels = ["original"] + [f"{Path(r).name}" for r in args.run]
        # two rows of 8 per source: originals, then each run's reconstructions of the same emoji
        images = np.concatenate([block[h * 8:(h + 1) * 8] for h in range(2) for block in shown])
        captions = [labels[i] if j == 0 else "" for _ in range(2) for i in range(len(shown)) for j in range(8)]
        save_grid(args.figure, images, captions, columns=8, caption_lines=1)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
