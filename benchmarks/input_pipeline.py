"""Images/s of the cached training pipeline (decode once, gather, caption sampling,
tokenisation, float conversion) on this machine. Not a test: prints a figure for docs/performance.md.

    python benchmarks/input_pipeline.py [--batch-size 64] [--epochs 3]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from emoji_t2i.data import load_dataset  # noqa: E402
from emoji_t2i.data.pipeline import make_dataset  # noqa: E402
from emoji_t2i.data.vectorizers import make_vectorizer  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    args = p.parse_args()
    start = time.perf_counter()
    train = load_dataset().subset("train")
    print(f"load artifact: {time.perf_counter() - start:.2f} s for {len(train)} train images")
    vec = make_vectorizer("word", [c for caps in train.captions for c in caps])
    ds = make_dataset(train, vec, args.batch_size, seed=0, epochs=args.epochs + 1,
                      label_fields=("subcategory",), noise_dim=64, augment_params=7,
                      label_vocabularies={"subcategory": train.label_vocabulary("subcategory")})
    it = iter(ds)
    per_epoch = len(train) // args.batch_size
    for _ in range(per_epoch):  # warm-up epoch: tracing and first pass
        next(it)
    rates = []
    for _ in range(args.epochs):
        t = time.perf_counter()
        for _ in range(per_epoch):
            next(it)
        rates.append(per_epoch * args.batch_size / (time.perf_counter() - t))
    print(f"input pipeline: median {statistics.median(rates):,.0f} images/s over {args.epochs} "
          f"epochs (batch {args.batch_size}; min {min(rates):,.0f}, max {max(rates):,.0f})")


if __name__ == "__main__":
    main()
