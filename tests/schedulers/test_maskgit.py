"""MaskGIT decoding against closed forms: the cosine count of masked tokens per step, an exact
"model" decoded in exactly ``num_steps`` calls, and stateless seeds."""

import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.schedulers import MaskGITSampler, masked_after

K, L, B = 7, 20, 3


@pytest.mark.parametrize("num_steps", [1, 4, 8])
def test_masked_counts_follow_the_cosine_schedule_and_end_at_zero(num_steps):
    counts = [int(masked_after(s, num_steps, L)) for s in range(num_steps)]
    want = [int(np.floor(L * np.cos(np.pi / 2 * (s + 1) / num_steps) + 1e-4)) for s in range(num_steps)]
    assert counts == want and counts[-1] == 0 and counts == sorted(counts, reverse=True)


def test_an_exact_model_is_decoded_in_num_steps_calls_with_the_scheduled_masks():
    target = tf.constant(np.random.default_rng(0).integers(0, K, (B, L)), tf.int32)
    seen = []

    def logits_fn(tokens):
        seen.append(int(tf.reduce_sum(tf.cast(tokens == K, tf.int32)).numpy()) // B)
        return 30.0 * tf.one_hot(target, K)

    sampler = MaskGITSampler(mask_id=K)
    out = sampler.sample(logits_fn, B, L, num_steps=5, seed=3)
    np.testing.assert_array_equal(out.numpy(), target.numpy())
    assert seen == [L] + [int(masked_after(s, 5, L)) for s in range(4)]


def test_same_seed_same_tokens_and_top_k_one_is_greedy():
    logits = tf.constant(np.random.default_rng(1).normal(size=(B, L, K)), tf.float32)
    sampler = MaskGITSampler(mask_id=K)
    run = tf.function(lambda seed, top_k: sampler.sample(lambda t: logits, B, L, 4, seed, 1.0, top_k))
    a, b = run(tf.constant(5), tf.constant(0)), run(tf.constant(5), tf.constant(0))
    c = run(tf.constant(6), tf.constant(0))
    np.testing.assert_array_equal(a, b)
    assert (a.numpy() != c.numpy()).any() and a.numpy().max() < K
    np.testing.assert_array_equal(run(tf.constant(5), tf.constant(1)), tf.argmax(logits, -1, output_type=tf.int32))
