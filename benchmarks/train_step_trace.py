"""What the diffusion train step costs before its first step: tracing, then the first call.

Not a test: prints one line per run. Each run is its own process (a fresh TensorFlow, Grappler
on, as ``python -m emoji_t2i.train`` runs): the diffusion model at its defaults, compiled with
the optimizer the trainer makes (AdamW on the warm-up + cosine schedule), traced on a real-shaped
batch of 8, then called six times (the median of the last five is a step's time). The runs
alternate between arms: the step as the trainer makes it (``trained``); with the learning-rate
schedule's ops inlined at every weight AdamW decays (``inline``), as it was before the schedule
became one traced function; and with Keras's own Adam update in ``keras.ops`` (``keras_adam``)
instead of the fused kernel of ``networks/optimizers.py``.

    python benchmarks/train_step_trace.py [--repeats 3] [--arms trained,keras_adam]
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


ARMS = ("trained", "inline", "keras_adam")


def one_run(arm: str) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from emoji_t2i.models import get_model_class
    from emoji_t2i.networks import optimizers
    from emoji_t2i.networks.lr_schedules import WarmupCosine

    if arm == "inline":
        WarmupCosine._one_graph = lambda self: None
    if arm == "keras_adam":
        optimizers.AdamW.update_step = keras.optimizers.AdamW.update_step
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
    times = []
    for _ in range(5):
        start = time.perf_counter()
        step(batch)["loss"].numpy()
        times.append(time.perf_counter() - start)
    return {"arm": arm, "weights": len(model.trainable_variables), "graph_ops": len(graph.get_operations()),
            "trace_s": trace, "first_call_s": first, "step_s": statistics.median(times)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--arms", default=",".join(ARMS), help="comma-separated, of " + ", ".join(ARMS))
    p.add_argument("--one", choices=ARMS, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one)))
        return
    rows = {arm: [] for arm in args.arms.split(",")}
    if not set(rows) <= set(ARMS):
        p.error(f"--arms {args.arms}: choose among {', '.join(ARMS)}")
    for _ in range(args.repeats):
        for arm in rows:
            out = subprocess.run([sys.executable, __file__, "--one", arm], capture_output=True, text=True, check=True)
            rows[arm].append(json.loads(out.stdout.splitlines()[-1]))
            row = rows[arm][-1]
            print(f"{arm:10s} weights {row['weights']} graph ops {row['graph_ops']:6d}  trace {row['trace_s']:5.1f} s"
                  f"  first call {row['first_call_s']:5.1f} s  step {row['step_s']:4.2f} s", flush=True)
    for arm, runs in rows.items():
        median = {k: statistics.median(r[k] for r in runs) for k in ("graph_ops", "trace_s", "first_call_s", "step_s")}
        print(f"{arm:10s} medians: graph ops {median['graph_ops']:.0f}, trace {median['trace_s']:.1f} s, first call"
              f" {median['first_call_s']:.1f} s, both {median['trace_s'] + median['first_call_s']:.1f} s,"
              f" step {median['step_s']:.2f} s")


if __name__ == "__main__":
    main()
