"""The training input pipeline: one ``tf.data.Dataset`` of batches for a model's ``fit``.

Each element is a dict::

    images       float32 (B, 72, 72, 4) in [-1, 1]
    tokens       int64   (B, L) caption token ids (one caption sampled per image per epoch)
    wrong_tokens int64   (B, L) a caption of another image in the batch, for matching-aware
                         losses (GAN-INT-CLS); rolled by one so it is never the image's own
    labels       int32   (B, F) class ids of the F ``label_fields`` (-1 where a row has none)
    style        string  (B,) the style that drew each image ("" in a folder without the column)
    noise        float32 (B, noise_dim) standard normal, when ``noise_dim`` > 0
    augment      float32 (B, 2, augment_params) uniforms in [0, 1), when ``augment_params`` > 0
    <name>       one entry per extra ``draws`` item {name: ("normal" | "uniform", shape)}: the
                 random inputs a model declares (diffusion: image noise, time, dropout)
    text_features float32 (B, D), when ``caption_features`` (N, K, D) is given: a frozen
                 encoder's features of the caption picked for each image, computed once

The order of epoch ``e``, and its noise and augmentation draws, are pure functions of
``(seed, e)`` (stateless random ops): a resumed run re-creates exactly the batches it would
have seen, and a distributed run splits the very same batch across replicas.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from emoji_t2i.data.balance import balance_groups, sampling_weights
from emoji_t2i.data.dataset import EmojiDataset
from emoji_t2i.data.images import to_unit_range
from emoji_t2i.errors import UsageError


def caption_table(ds: EmojiDataset | list) -> tuple[np.ndarray, np.ndarray]:
    """Captions (a dataset's, or a list of caption lists) padded to a rectangle (N, K) of
    strings, and the count per row."""
    captions = ds.captions if isinstance(ds, EmojiDataset) else ds
    width = max(len(c) for c in captions)
    table = np.array([list(c) + [""] * (width - len(c)) for c in captions], dtype=object)
    return table, np.array([len(c) for c in captions], np.int32)


def label_ids(ds: EmojiDataset, fields, vocabularies) -> np.ndarray:
    """(N, F) class ids; -1 for a value missing from the field's vocabulary."""
    columns = []
    for field in fields:
        column = ds.identity if field == "identity" else ds.metadata[field]
        index = {v: i for i, v in enumerate(vocabularies[field])}
        columns.append([index.get(str(v), -1) for v in column])
    return np.array(columns, np.int32).T.reshape(len(ds), len(fields))


def make_dataset(
    ds: EmojiDataset,
    vectorizer,
    batch_size: int,
    *,
    seed: int = 0,
    initial_epoch: int = 0,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    label_fields: tuple[str, ...] = (),
    label_vocabularies: dict[str, list[str]] | None = None,
    noise_dim: int = 0,
    augment_params: int = 0,
    draws: dict[str, tuple[str, tuple[int, ...]]] | None = None,
    caption_features: np.ndarray | None = None,
    balance: str = "none",
) -> tf.data.Dataset:
    """Batches for epochs ``initial_epoch .. epochs-1`` (endless when ``epochs`` is None).

    An epoch is ``len(ds) // batch_size`` batches (remainder dropped so every step has the
    same shape for one traced train step), capped at ``steps_per_epoch``: a permutation of
    the images, or with ``balance="identity"`` rows drawn so that every emoji in every style
    comes equally often (``data/balance.py``).
    """
    n = len(ds)
    seed = tf.constant(seed, tf.int64)
    if n < batch_size:
        raise UsageError(f"batch size {batch_size} exceeds the {n} images; lower --batch-size")
    steps = epoch_steps(n, batch_size, steps_per_epoch)
    # Decoded once, held as constants: the gathers below are the whole per-epoch cost.
    images = tf.constant(ds.images)
    table, counts = caption_table(ds)
    table, counts = tf.constant(table.astype(str)), tf.constant(counts)
    labels = tf.constant(label_ids(ds, label_fields, label_vocabularies or {}))
    styles = tf.constant(np.asarray(ds.metadata["style"]).astype(str))
    features = None if caption_features is None else tf.constant(caption_features, tf.float32)
    groups = None if balance == "none" else balance_groups(ds.identity, ds.metadata["style"])
    weights = sampling_weights(groups, balance)
    cdf = None if weights is None else tf.constant(np.cumsum(weights) / np.sum(weights))
    draws = dict(draws or {})
    for name in draws:
        if draws[name][0] not in ("normal", "uniform"):
            raise ValueError(f"draw {name!r}: distribution must be normal or uniform")

    def epoch(e):
        if cdf is None:
            order = tf.random.experimental.stateless_shuffle(
                tf.range(n), seed=tf.stack([seed, e])
            )[: steps * batch_size]
        else:  # data/balance.py's weighted_rows, in TensorFlow
            uniforms = tf.random.stateless_uniform([steps * batch_size], seed=tf.stack([seed, e]), dtype=tf.float64)
            order = tf.minimum(tf.searchsorted(cdf, uniforms, side="right"), n - 1)
            order = tf.cast(order, tf.int32)  # the permutation's dtype
        pick = tf.random.stateless_uniform(
            [steps * batch_size], seed=tf.stack([e, seed + 7919]),
            minval=0, maxval=2**31 - 1, dtype=tf.int32,
        ) % tf.gather(counts, order)
        total = steps * batch_size
        noise = tf.random.stateless_normal([total, noise_dim], seed=tf.stack([e, seed + 104729]))
        aug = tf.random.stateless_uniform([total, 2, augment_params], seed=tf.stack([e, seed + 15485863]))
        batch_ids = tf.fill([total], e) * steps + tf.range(total, dtype=tf.int64) // batch_size
        slices = (order, pick, noise, aug, batch_ids)
        return tf.data.Dataset.from_tensor_slices(slices).batch(batch_size, drop_remainder=True)

    def assemble(rows, pick, noise, aug, batch_ids):
        captions = tf.gather_nd(table, tf.stack([rows, pick], axis=1))
        tokens = vectorizer(captions)
        extra = {}
        for k, (name, (kind, shape)) in enumerate(sorted(draws.items())):
            # Drawn per batch, keyed by (seed, draw, global batch index): a resumed epoch
            # gets the same draws, and no epoch-sized tensor of image noise is materialised.
            key = tf.stack([seed * 1009 + 7 + k, batch_ids[0]])
            shape = [batch_size, *shape]
            extra[name] = (tf.random.stateless_normal(shape, seed=key) if kind == "normal"
                           else tf.random.stateless_uniform(shape, seed=key))
        if features is not None:
            extra["text_features"] = tf.gather_nd(features, tf.stack([rows, pick], axis=1))
        return {**extra,
            "images": to_unit_range(tf.cast(tf.gather(images, rows), tf.float32)),
            "tokens": tokens,
            "wrong_tokens": tf.roll(tokens, shift=1, axis=0),
            "labels": tf.gather(labels, rows),
            "style": tf.gather(styles, rows),
            "noise": noise,
            "augment": aug,
        }

    stop = tf.int64.max if epochs is None else epochs
    out = tf.data.Dataset.range(initial_epoch, stop).flat_map(epoch)
    out = out.map(assemble, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    options = tf.data.Options()
    options.deterministic = True
    return out.with_options(options).prefetch(tf.data.AUTOTUNE)


def epoch_steps(n_images: int, batch_size: int, cap: int | None = None) -> int:
    batches = n_images // batch_size
    return min(batches, cap) if cap else batches
