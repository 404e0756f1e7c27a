"""vq_transformer-specific behaviour: MaskGIT's training corruption, one batched transformer
call per decoding step, a text prefix that ignores padding. Shared behaviour: test_zoo.py."""

import numpy as np
import pytest
import tensorflow as tf

from tests.harness import tiny_batch, tiny_model


def test_training_masks_ceil_cos_share_of_tokens_with_the_lowest_scores():
    model = tiny_model("vq_transformer")
    length = model.length  # 9 x 9
    ids = tf.zeros((4, length), tf.int32)
    times = tf.constant([0.0, 0.5, 0.9, 1.0])
    scores = tf.constant(np.random.default_rng(0).uniform(size=(4, length)), tf.float32)
    inputs, masked = model.masked_inputs(ids, times, scores)
    want = np.maximum(1, np.ceil(np.cos(times.numpy() * np.pi / 2) * length - 1e-4)).astype(int)
    np.testing.assert_array_equal(masked.numpy().sum(1), want)
    assert ((inputs.numpy() == model.num_codes) == (masked.numpy() > 0)).all()
    lowest = np.argsort(scores.numpy()[1])[: want[1]]
    assert masked.numpy()[1, lowest].all()


@pytest.mark.parametrize("num_steps", [1, 3])
def test_one_batched_transformer_call_per_decoding_step(num_steps):
    model = tiny_model("vq_transformer")
    batch = tiny_batch(model, 2)
    calls = []
    images = model.sample(tf.constant(batch["tokens"]), tf.constant(batch["noise"]), num_steps=num_steps,
                          callback=lambda: calls.append(1))
    assert len(calls) == num_steps and tuple(images.shape) == (2, 72, 72, 4)


def test_padding_in_the_prefix_is_ignored():
    model = tiny_model("vq_transformer", text_encoder="minilm")
    ids = tf.fill((1, model.length), model.num_codes)
    # "[CLS] crying cat [SEP]" in minilm's WordPiece ids, padded to 8 and to 16
    short = tf.constant([[101, 7677, 4937, 102] + [0] * 4])
    longer = tf.constant([[101, 7677, 4937, 102] + [0] * 12])
    a = model.logits(ids, model.prefix(short, tf.ones((1,))))
    b = model.logits(ids, model.prefix(longer, tf.ones((1,))))
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    dropped = model.logits(ids, model.prefix(short, tf.zeros((1,))))
    assert not np.allclose(a.numpy(), dropped.numpy())


def test_a_negative_prompt_takes_the_null_prefixs_place():
    """Guidance pushes away from the negative prompt's tokens; read with keep 0 (a SavedModel's
    empty negative prompt) they are the null prefix, and sampling is plain sampling."""
    model = tiny_model("vq_transformer")
    batch = tiny_batch(model, 2)
    tokens, noise = tf.constant(batch["tokens"]), tf.constant(batch["noise"])
    other = tf.roll(tokens, 1, axis=0)  # each image's negative prompt is the other's caption
    plain = model.sample(tokens, noise, num_steps=2, guidance_scale=4.0).numpy()
    np.testing.assert_array_equal(model.sample(tokens, noise, num_steps=2, guidance_scale=4.0, negative=other,
                                               negative_keep=0.0).numpy(), plain)
    away = model.sample(tokens, noise, num_steps=2, guidance_scale=4.0, negative=other).numpy()
    assert np.abs(away - plain).max() > 0.05
    np.testing.assert_array_equal(model.negative_condition(tokens), tokens)
