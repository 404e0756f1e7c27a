"""MaskGIT's parallel decoding (Chang et al. 2022): from a grid of [MASK] tokens to a full
grid of image tokens in ``num_steps`` model calls, no weights involved.

At each step the model's logits give a token for every masked position (sampled with
temperature and top-k); the least confident of the new tokens are masked again so that
``masked_after(step)`` = floor(L cos(pi/2 (step + 1) / num_steps)) stay masked: few tokens
are committed first, most at the end. Confidence is the sampled token's log-probability plus
Gumbel noise annealed to zero (MaskGIT's "choice temperature"), which keeps early choices
diverse. A ``tf.while_loop`` runs the steps, so ``num_steps`` may be a tensor inside a
SavedModel; randomness is stateless, keyed by ``seed``.
"""

from __future__ import annotations

import math

import tensorflow as tf


def masked_after(step, num_steps, length):
    """Tokens still masked after 0-based ``step`` of ``num_steps``: the cosine schedule."""
    ratio = tf.cast(step + 1, tf.float32) / tf.cast(num_steps, tf.float32)
    return tf.cast(tf.floor(tf.cast(length, tf.float32) * tf.cos(math.pi / 2 * ratio) + 1e-4), tf.int32)


def _gumbel(shape, seed):
    u = tf.random.stateless_uniform(shape, seed=seed, minval=1e-6, maxval=1.0 - 1e-6)
    return -tf.math.log(-tf.math.log(u))


class MaskGITSampler:
    """Args:
        mask_id: the [MASK] token id (the codebook size: ids 0..K-1 are image tokens).
        choice_temperature: scale of the Gumbel noise on confidences at the first step
            (MaskGIT: 4.5), annealed linearly to 0.
    """

    def __init__(self, mask_id: int, choice_temperature: float = 4.5):
        self.mask_id, self.choice_temperature = int(mask_id), float(choice_temperature)

    def sample(self, logits_fn, batch, length, num_steps, seed, temperature=1.0, top_k=0):
        """``logits_fn(tokens (B, L) int32) -> (B, L, K) float32``; returns (B, L) int32 ids.

        ``seed``: int32 (2,) tensor (or scalar); ``top_k = 0`` samples from all K tokens."""
        num_steps = tf.convert_to_tensor(num_steps, tf.int32)
        temperature = tf.cast(temperature, tf.float32)
        top_k = tf.convert_to_tensor(top_k, tf.int32)
        seed = tf.concat([tf.reshape(tf.cast(seed, tf.int32), [-1]), [0]], 0)[:2]
        tokens = tf.fill([batch, length], self.mask_id)

        def step(i, tokens):
            logits = tf.cast(logits_fn(tokens), tf.float32) / tf.maximum(temperature, 1e-4)
            k = tf.shape(logits)[-1]
            kth = tf.math.top_k(logits, tf.where(top_k > 0, tf.minimum(top_k, k), k)).values[..., -1:]
            logits = tf.where(logits < kth, -1e9, logits)
            sampled = tf.argmax(logits + _gumbel(tf.shape(logits), seed + [0, 2 * i + 1]),
                                axis=-1, output_type=tf.int32)
            log_probs = tf.gather(tf.nn.log_softmax(logits), sampled, batch_dims=2)
            masked = tokens == self.mask_id
            sampled = tf.where(masked, sampled, tokens)
            anneal = self.choice_temperature * (1.0 - tf.cast(i + 1, tf.float32) / tf.cast(num_steps, tf.float32))
            confidence = log_probs + anneal * _gumbel([batch, length], seed + [0, 2 * i + 2])
            confidence = tf.where(masked, confidence, float("inf"))  # committed tokens stay
            # Rank of each position's confidence; the lowest ``masked_after`` ranks are re-masked.
            ranks = tf.argsort(tf.argsort(confidence, axis=-1, stable=True), axis=-1, stable=True)
            remask = ranks < masked_after(i, num_steps, length)
            return i + 1, tf.where(remask, self.mask_id, sampled)

        _, tokens = tf.while_loop(lambda i, _: i < num_steps, step, (tf.constant(0), tokens),
                                  maximum_iterations=None)
        return tokens
