"""The emoji CLIP: its contrastive loss at known answers, identity-keeping augmentation, unit
embeddings. Through the command line: tests/training/test_zoo_cli.py."""

import math

import numpy as np
import tensorflow as tf

from emoji_t2i.models import losses
from tests.harness import tiny_batch, tiny_model


def test_info_nce_is_near_zero_for_matched_pairs_and_log_n_for_uniform_ones():
    n = 8
    matched, _ = losses.symmetric_info_nce(tf.eye(n), -tf.ones(n, tf.int32), tf.constant(math.log(100.0)))
    assert float(tf.reduce_max(matched)) < 1e-3
    uniform, _ = losses.symmetric_info_nce(tf.zeros((n, n)), -tf.ones(n, tf.int32), tf.constant(math.log(100.0)))
    np.testing.assert_allclose(uniform.numpy(), math.log(n), rtol=1e-5)
    # two examples of one identity are not each other's negatives
    group = tf.constant([0, 0, 1, 2, 3, 4, 5, 6])
    grouped, _ = losses.symmetric_info_nce(tf.zeros((n, n)), group, tf.constant(0.0))
    np.testing.assert_allclose(grouped.numpy()[:2], math.log(n - 1), rtol=1e-5)


def test_translation_moves_pixels_and_uncovers_transparency():
    model = tiny_model("clip")
    images = -np.ones((1, 72, 72, 4), np.float32)
    images[0, 30, 40] = 1.0
    shift = np.array([[1.0, 0.5]], np.float32)  # x: +shift, y: 0
    out = np.asarray(model.translate(tf.constant(images), tf.constant(shift)))
    ys, xs = np.nonzero(out[0, ..., 3] > 0)
    assert (ys.tolist(), xs.tolist()) == ([30], [40 - model.shift])
    assert out.min() == -1.0


def test_embeddings_are_unit_vectors_and_the_text_side_reads_cached_features():
    model = tiny_model("clip")
    batch = tiny_batch(model, 3)
    image = np.asarray(model.embed_images(batch["images"]))
    text = np.asarray(model.embed_features(batch["text_features"]))
    np.testing.assert_allclose(np.linalg.norm(image, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, rtol=1e-5)
    assert image.shape == text.shape == (3, model.embed_dim)
