"""Precision policy, distribution strategy and determinism: set once, before any model."""

from __future__ import annotations

import keras
import tensorflow as tf

from emoji_t2i.errors import EmojiT2IError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multiworker", "tpu")


class SetupError(EmojiT2IError, RuntimeError):
    """A training set-up that cannot work here; the message says why and what to do."""


def set_precision(name: str) -> None:
    if name not in PRECISIONS:
        raise SetupError(f"--precision {name}: unknown; use one of {', '.join(PRECISIONS)}")
    keras.config.set_dtype_policy(name)


def make_strategy(name: str) -> tf.distribute.Strategy:
    """``multiworker`` reads TF_CONFIG (see docs/training.md, "Several devices and hosts")."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, tf.errors.NotFoundError) as e:
            raise SetupError(f"--strategy tpu: no TPU found ({e}); run on a TPU VM or pick another") from e
        return tf.distribute.TPUStrategy(resolver)
    raise SetupError(f"--strategy {name}: unknown; use one of {', '.join(STRATEGIES)}")


def worker_suffix(strategy) -> str:
    """'' for the process that writes the run directory (one process, or the chief of a
    multi-worker cluster: the worker of index 0 when the cluster names no chief); else
    '-worker1' etc. Every worker checkpoints (TensorFlow's multi-worker saves are collective),
    each into its own directory, so that it can resume from its own files."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return ""
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    if resolver.task_type == "chief" or (not has_chief and resolver.task_type == "worker" and resolver.task_id == 0):
        return ""
    return f"-{resolver.task_type}{resolver.task_id}"


def set_determinism(seed: int, deterministic: bool) -> None:
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
