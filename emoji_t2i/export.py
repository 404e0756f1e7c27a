"""``python -m emoji_t2i.export --run DIR --out DIR``: a TensorFlow SavedModel of a run.

The SavedModel's ``serve`` endpoint takes ``prompts`` (tf.string [N]) and ``seed`` (int32
scalar) and returns uint8 RGBA images [N, 72, 72, 4]. Tokenisation is inside the graph, so
it needs only TensorFlow:

    m = tf.saved_model.load("export/cgan")
    images = m.serve(tf.constant(["crying cat"]), tf.constant(0))
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def export_pipeline(pipe, out: Path) -> Path:
    import keras
    import tensorflow as tf

    model, vectorizer, dim = pipe.model, pipe.vectorizer, pipe.model.noise_dim
    archive = keras.export.ExportArchive()
    for layer in model.sampling_layers():  # only what sampling needs: no D, no optimizers
        archive.track(layer)
    archive.track(vectorizer)  # its vocabulary lookup table must travel with the graph

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="prompts"),
                                  tf.TensorSpec([], tf.int32, name="seed")])
    def serve(prompts, seed):
        tokens = vectorizer(prompts)
        noise = tf.random.stateless_normal([tf.shape(prompts)[0], dim], seed=tf.stack([seed, 0]))
        images = model.generate(noise, tokens)
        return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)

    archive.add_endpoint("serve", serve)
    archive.write_out(str(out), verbose=False)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m emoji_t2i.export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=Path, help="a run directory written by train")
    p.add_argument("--out", required=True, type=Path, help="SavedModel folder to write")
    args = p.parse_args(argv)
    from emoji_t2i.text_to_emoji import TextToEmojiPipeline
    from emoji_t2i.training.run_dir import RunError

    try:
        pipe = TextToEmojiPipeline.from_run(args.run)
        if args.out.exists() and any(args.out.iterdir()):
            raise RunError(f"--out {args.out} is not empty; choose a new folder")
        export_pipeline(pipe, args.out)
    except (RunError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote SavedModel {args.out} (signature serve(prompts: string[N], seed: int32) -> "
          "uint8[N,72,72,4])")
    return 0


if __name__ == "__main__":
    sys.exit(main())
