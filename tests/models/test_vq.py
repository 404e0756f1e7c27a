"""The image tokenizer: the EMA vector quantiser against hand-made codebooks, and the ``vq``
model's encode/decode contract. What every zoo model shares is in test_zoo.py."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.networks.vq import VectorQuantizer
from tests.harness import fit_steps, tiny_batch, tiny_model


def quantizer_with(codebook, decay=0.5, dead_threshold=0.0):
    q = VectorQuantizer(len(codebook), codebook.shape[1], decay=decay, dead_threshold=dead_threshold)
    q.build()
    q.codebook.assign(codebook)
    q.ema_sum.assign(codebook)
    q.ema_count.assign(np.ones(len(codebook), "float32"))
    return q


CODEBOOK = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], "float32")


def test_codes_are_the_nearest_and_the_gradient_passes_straight_through():
    q = quantizer_with(CODEBOOK)
    z = tf.constant([[[[1.0, 2.0], [9.0, 1.0]], [[2.0, 8.0], [30.0, 30.0]]]])  # (1, 2, 2, 2)
    with tf.GradientTape() as tape:
        tape.watch(z)
        out, ids, commitment = q(z)
        loss = tf.reduce_sum(out * tf.constant([1.0, 2.0]))
    np.testing.assert_array_equal(ids.numpy(), [[[0, 1], [2, 3]]])
    np.testing.assert_allclose(out.numpy(), CODEBOOK[[0, 1, 2, 3]].reshape(1, 2, 2, 2))
    np.testing.assert_allclose(tape.gradient(loss, z).numpy(), np.broadcast_to([1.0, 2.0], (1, 2, 2, 2)))
    want = np.mean((z.numpy() - CODEBOOK[[0, 1, 2, 3]].reshape(1, 2, 2, 2)) ** 2)
    np.testing.assert_allclose(commitment.numpy(), [want], rtol=1e-6)


def test_ema_update_moves_the_used_codes_only():
    q = quantizer_with(CODEBOOK, decay=0.5)
    z = tf.constant([[[[2.0, 0.0], [12.0, 0.0]]]])  # picks codes 0 and 1
    _, ids, _ = q(z)
    q.update(z, ids)
    book = q.codebook.numpy()
    # count: 0.5 * 1 + 0.5 * 1 = 1; sum: 0.5 * code + 0.5 * vector -> the midpoint
    np.testing.assert_allclose(book[0], [1.0, 0.0])
    np.testing.assert_allclose(book[1], [11.0, 0.0])
    np.testing.assert_array_equal(book[2:], CODEBOOK[2:])


def test_dead_codes_restart_at_batch_vectors():
    q = quantizer_with(CODEBOOK, decay=0.5, dead_threshold=0.6)  # unused: 0.5 < 0.6 -> dead
    z = tf.constant([[[[2.0, 0.0], [12.0, 0.0]]]])
    _, ids, _ = q(z)
    q.update(z, ids)
    book = q.codebook.numpy()
    vectors = {(2.0, 0.0), (12.0, 0.0)}
    assert {tuple(book[2]), tuple(book[3])} <= vectors and int(q.restarts.numpy()) == 2
    assert np.asarray(q.ema_count)[2:].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("downsample", [4, 8])
def test_encode_decode_shapes_and_range(downsample):
    model = tiny_model("vq", downsample=downsample, widths=(8, 8, 8))
    batch = tiny_batch(model, 3)
    ids = model.encode(batch["images"])
    grid = 72 // downsample
    assert tuple(ids.shape) == (3, grid, grid) and model.grid_size == grid
    assert 0 <= int(np.min(ids)) and int(np.max(ids)) < model.num_codes
    images = np.asarray(model.decode(ids))
    assert images.shape == (3, 72, 72, 4) and images.dtype == np.float32
    assert -1.0 <= images.min() and images.max() <= 1.0


def test_training_lowers_the_error_and_reports_psnr_and_usage():
    keras.utils.set_random_seed(0)
    model = tiny_model("vq")
    batch = tiny_batch(model, 8)
    first = fit_steps(model, batch)
    last = fit_steps(model, batch, steps=30)
    assert last["loss"] < first["loss"] and last["psnr"] > first["psnr"]
    assert 0.0 < last["usage"] <= 1.0


def test_unknown_downsample_is_one_line():
    with pytest.raises(ValueError, match="downsample must be 4"):
        tiny_model("vq", downsample=3)
