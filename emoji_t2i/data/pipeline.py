"""The training input pipeline: one ``tf.data.Dataset`` of batches for a model's ``fit``.

Each element is a dict::

    images       float32 (B, 72, 72, 4) in [-1, 1]
    tokens       int64   (B, L) caption token ids (one caption sampled per image per epoch)
    wrong_tokens int64   (B, L) a caption of another image in the batch, for matching-aware
                         losses (GAN-INT-CLS); rolled by one so it is never the image's own
    labels       int32   (B,) class id of ``label_field`` (-1 where the row has none)

The order of epoch ``e`` is a pure function of ``(seed, e)`` (stateless shuffles), so a
resumed run re-creates exactly the batches it would have seen, from any epoch on.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from emoji_t2i.data.dataset import EmojiDataset


def caption_table(ds: EmojiDataset) -> tuple[np.ndarray, np.ndarray]:
    """Captions padded to a rectangle (N, K) of strings, and the count per row."""
    width = max(len(c) for c in ds.captions)
    table = np.array([list(c) + [""] * (width - len(c)) for c in ds.captions], dtype=object)
    return table, np.array([len(c) for c in ds.captions], np.int32)


def label_ids(ds: EmojiDataset, field: str | None, vocabulary: list[str] | None) -> np.ndarray:
    if not field or not vocabulary:
        return np.full(len(ds), -1, np.int32)
    column = ds.identity if field == "identity" else ds.metadata[field]
    index = {v: i for i, v in enumerate(vocabulary)}
    return np.array([index.get(str(v), -1) for v in column], np.int32)


def make_dataset(
    ds: EmojiDataset,
    vectorizer,
    batch_size: int,
    *,
    seed: int = 0,
    initial_epoch: int = 0,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    label_field: str | None = None,
    label_vocabulary: list[str] | None = None,
) -> tf.data.Dataset:
    """Batches for epochs ``initial_epoch .. epochs-1`` (endless when ``epochs`` is None).

    An epoch is ``len(ds) // batch_size`` batches (remainder dropped so every step has the
    same shape for one traced train step), capped at ``steps_per_epoch``.
    """
    n = len(ds)
    batches = n // batch_size
    if batches == 0:
        raise ValueError(f"batch size {batch_size} exceeds the {n} images; lower --batch-size")
    steps = min(batches, steps_per_epoch) if steps_per_epoch else batches
    # Decoded once, held as constants: the gathers below are the whole per-epoch cost.
    images = tf.constant(ds.images)
    table, counts = caption_table(ds)
    table, counts = tf.constant(table.astype(str)), tf.constant(counts)
    labels = tf.constant(label_ids(ds, label_field, label_vocabulary))

    def epoch(e):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n), seed=tf.stack([tf.cast(seed, tf.int64), e])
        )[: steps * batch_size]
        pick = tf.random.stateless_uniform(
            [steps * batch_size], seed=tf.stack([e, tf.cast(seed, tf.int64) + 7919]),
            minval=0, maxval=2**31 - 1, dtype=tf.int32,
        ) % tf.gather(counts, order)
        return tf.data.Dataset.from_tensor_slices((order, pick)).batch(batch_size, drop_remainder=True)

    def assemble(rows, pick):
        captions = tf.gather_nd(table, tf.stack([rows, pick], axis=1))
        tokens = vectorizer(captions)
        return {
            "images": tf.cast(tf.gather(images, rows), tf.float32) / 127.5 - 1.0,
            "tokens": tokens,
            "wrong_tokens": tf.roll(tokens, shift=1, axis=0),
            "labels": tf.gather(labels, rows),
        }

    stop = tf.int64.max if epochs is None else epochs
    out = tf.data.Dataset.range(initial_epoch, stop).flat_map(epoch)
    out = out.map(assemble, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    options = tf.data.Options()
    options.deterministic = True
    return out.with_options(options).prefetch(tf.data.AUTOTUNE)


def steps_per_epoch(n_images: int, batch_size: int, cap: int | None = None) -> int:
    batches = n_images // batch_size
    return min(batches, cap) if cap else batches
