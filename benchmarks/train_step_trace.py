"""What the diffusion train step costs before its first step: tracing, then the first call.

Not a test: prints one line per run. Each run is its own process (a fresh TensorFlow, Grappler
on, as ``python -m emoji_t2i.train`` runs): the diffusion model at its defaults, compiled with
the optimizer the trainer makes (AdamW on the warm-up + cosine schedule), traced on a real-shaped
batch of 8, then called twice. The runs alternate between the schedule as the trainer runs it
(one traced function, called once per decayed weight) and its ops inlined at every call, which
is how the step was traced before.

    python benchmarks/train_step_trace.py [--repeats 3]
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

TRAINING = {"lr": 1e-3, "warmup_steps": 10, "weight_decay": 0.01, "beta_1": 0.9, "beta_2": 0.99,
            "lr_schedule": "cosine"}


def one_run(inline: bool) -> dict:
    import numpy as np
    import tensorflow as tf

    from emoji_t2i.models import get_model_class
    from emoji_t2i.networks.lr_schedules import WarmupCosine

    if inline:
        WarmupCosine._one_graph = lambda self: None
    model = get_model_class("diffusion")(50)
    model.compile(**model.make_optimizers(TRAINING, 100))
    model.build_all(16)
    rng = np.random.default_rng(0)
    b = 8
    batch = {"images": rng.uniform(-1, 1, (b, 72, 72, 4)).astype("float32"),
             "tokens": rng.integers(2, 50, (b, 16)).astype("int32"),
             "text_features": rng.standard_normal((b, 384)).astype("float32"),
             **{n: (rng.standard_normal if k == "normal" else rng.uniform)(size=(b, *s)).astype("float32")
                for n, (k, s) in model.random_draws().items()}}
    step = tf.function(model.train_step)
    start = time.perf_counter()
    graph = step.get_concrete_function(batch).graph
    trace = time.perf_counter() - start
    start = time.perf_counter()
    step(batch)["loss"].numpy()
    first = time.perf_counter() - start
    start = time.perf_counter()
    step(batch)["loss"].numpy()
    return {"inline": inline, "weights": len(model.trainable_variables), "graph_ops": len(graph.get_operations()),
            "trace_s": trace, "first_call_s": first, "second_call_s": time.perf_counter() - start}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--one", choices=["traced", "inline"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one == "inline")))
        return
    rows = {"traced": [], "inline": []}
    for _ in range(args.repeats):
        for arm in rows:
            out = subprocess.run([sys.executable, __file__, "--one", arm], capture_output=True, text=True, check=True)
            rows[arm].append(json.loads(out.stdout.splitlines()[-1]))
            row = rows[arm][-1]
            print(f"{arm:7s} weights {row['weights']} graph ops {row['graph_ops']:6d}  trace {row['trace_s']:5.1f} s"
                  f"  first call {row['first_call_s']:5.1f} s  second {row['second_call_s']:4.2f} s", flush=True)
    for arm, runs in rows.items():
        median = {k: statistics.median(r[k] for r in runs) for k in ("trace_s", "first_call_s")}
        print(f"{arm:7s} medians: trace {median['trace_s']:.1f} s, first call {median['first_call_s']:.1f} s,"
              f" both {median['trace_s'] + median['first_call_s']:.1f} s")


if __name__ == "__main__":
    main()
