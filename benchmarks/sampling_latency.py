"""Sampling latency of a diffusion preset from its SavedModel, in a fresh process: milliseconds
per emoji at batch 1, 4 and 16 for several step counts (guidance 3), as a markdown table.

    python benchmarks/sampling_latency.py [--preset diffusion-emoji72] [--repeats 5]
    python benchmarks/sampling_latency.py --sampler dpm_solver_3m --guidance-interval 0.28 5.42 --steps 4 6 8 10
    python benchmarks/sampling_latency.py --in-process --steps 6

``--in-process`` times the pipeline's own ``sample`` (what ``generate`` and the app run: the
prompt tokenised and encoded, then the sampling loop in Python around the traced U-Net) at the
preset's sampler and guidance, instead of the SavedModel; with ``--trace-text`` after
``pipe.trace_text()``, as the app loads it.

Batch 1 is what a person typing one prompt waits for; batch 16 is a grid. Each figure is the
median of ``--repeats`` timed calls after a warm-up call at that shape. Classifier-free guidance
runs the conditional and unconditional predictions as one doubled batch, so one step costs
about two U-Net passes per emoji; "1 step" is the floor of this sampler.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCHES = (1, 4, 16)
STEPS = (1, 4, 6, 8, 10, 15, 20)

TIMING = """
import json, statistics, sys, time
import tensorflow as tf
m = tf.saved_model.load(sys.argv[1])
repeats, batches, step_counts = int(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
words = ["crying cat", "red heart", "rocket", "pizza"]
for batch in batches:
    prompts = tf.constant((words * batch)[:batch])
    for steps in step_counts:
        m.sample(prompts, 0, tf.constant(steps), tf.constant(3.0))
        times = []
        for r in range(repeats):
            start = time.perf_counter()
            m.sample(prompts, r, tf.constant(steps), tf.constant(3.0))
            times.append(time.perf_counter() - start)
        print(json.dumps({"batch": batch, "steps": steps,
                          "ms_per_emoji": 1000 * statistics.median(times) / batch}), flush=True)
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="diffusion-emoji72")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--sampler", help="export with this sampler instead of the preset's")
    p.add_argument("--guidance-interval", type=float, nargs=2, metavar=("LOW", "HIGH"),
                   help="export guiding only at these noise levels (sigma/alpha)")
    p.add_argument("--steps", type=int, nargs="+", default=list(STEPS))
    p.add_argument("--in-process", action="store_true", help="time TextToImagePipeline.sample, not the SavedModel")
    p.add_argument("--trace-text", action="store_true", help="with --in-process: after pipe.trace_text(), as the app")
    args = p.parse_args()
    import keras

    from emoji_t2i.export import export_pipeline
    from emoji_t2i.pipelines import TextToImagePipeline

    keras.config.set_dtype_policy("float32")
    pipe = TextToImagePipeline.from_preset(args.preset)
    if "num_steps" not in pipe.options:
        raise SystemExit(f"{args.preset} has no sampling steps; pass a diffusion preset")
    if args.sampler:  # the SavedModel bakes the model's sampling defaults into its graph
        pipe.model.sampler = args.sampler
    if args.guidance_interval:
        pipe.model.guidance_interval = tuple(args.guidance_interval)
    if args.in_process:
        return in_process(pipe, args)
    with tempfile.TemporaryDirectory() as tmp:
        export_pipeline(pipe, Path(tmp) / "saved", editing=False)
        out = subprocess.run([sys.executable, "-c", TIMING, str(Path(tmp) / "saved"), str(args.repeats),
                              json.dumps(BATCHES), json.dumps(args.steps)],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    ms = {(r["batch"], r["steps"]): r["ms_per_emoji"] for r in rows}
    setting = f"sampler {pipe.model.sampler}" + (f", guidance interval {args.guidance_interval}"
                                                 if args.guidance_interval else "")
    print_table(f"{args.preset} ({setting}), SavedModel in a fresh process", ms, args)


def print_table(title: str, ms: dict, args) -> None:
    print(f"{title}, guidance 3, ms per emoji (median of {args.repeats})\n")
    print("| steps | " + " | ".join(f"batch {b}" for b in BATCHES) + " |")
    print("|---:|" + "---:|" * len(BATCHES))
    for steps in args.steps:
        print(f"| {steps} | " + " | ".join(f"{ms[(b, steps)]:.0f}" for b in BATCHES) + " |")


def in_process(pipe, args) -> None:
    import statistics
    import time

    words = ["crying cat", "red heart", "rocket", "pizza"]
    if args.trace_text:
        start = time.perf_counter()
        pipe.trace_text()
        print(f"trace_text: {time.perf_counter() - start:.1f} s")
    ms = {}
    for batch in BATCHES:
        prompts = (words * batch)[:batch]
        for steps in args.steps:
            pipe.sample(prompts, seed=0, num_steps=steps, guidance_scale=3.0)  # warm-up: traces
            times = []
            for r in range(args.repeats):
                start = time.perf_counter()
                pipe.sample(prompts, seed=r, num_steps=steps, guidance_scale=3.0)
                times.append(time.perf_counter() - start)
            ms[(batch, steps)] = 1000 * statistics.median(times) / batch
    traced = ", text traced" if args.trace_text else ""
    print_table(f"{args.preset} (sampler {pipe.model.sampler}), in process (TextToImagePipeline.sample{traced})",
                ms, args)


if __name__ == "__main__":
    main()
