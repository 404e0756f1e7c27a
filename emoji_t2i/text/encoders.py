"""The word-level text encoders (one class, four kinds: they differ only in the reducer)."""

from __future__ import annotations

import keras
from keras import layers, ops

ENCODERS = ("padded", "embedding", "embedding_gru", "lstm")


@keras.saving.register_keras_serializable("emoji_t2i")
class TextEncoder(layers.Layer):
    """Encode padded token ids (0 = padding, 1 = out of vocabulary) into a fixed-size code.

    Args:
        kind: one of ``ENCODERS``.
        vocabulary_size: size of the vectorizer's vocabulary, padding and OOV included.
        output_dim: size of the text code.
        embedding_dim: size of the word embedding (ignored by ``padded``).
    """

    def __init__(self, kind="embedding_gru", vocabulary_size=1000, output_dim=128,
                 embedding_dim=128, **kwargs):
        super().__init__(**kwargs)
        if kind not in ENCODERS:
            raise ValueError(f"unknown text_encoder {kind!r}; use one of {', '.join(ENCODERS)}")
        # === Config ===
        self.kind = kind
        self.vocabulary_size = vocabulary_size
        self.output_dim = output_dim
        self.embedding_dim = embedding_dim
        # === Layers ===
        if kind != "padded":
            self.embedding = layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True,
                                              name="embedding")
        if kind == "embedding_gru":
            self.rnn = layers.GRU(output_dim, name="gru")
        elif kind == "lstm":
            self.rnn = layers.LSTM(output_dim, name="lstm")
        else:
            self.project = layers.Dense(output_dim, activation="relu", name="project")

    def call(self, tokens):
        if self.kind == "padded":
            # The diary's day 2-3 input: token ids as numbers. Kept as a baseline.
            return self.project(ops.cast(tokens, self.compute_dtype) / self.vocabulary_size)
        embedded = self.embedding(tokens)
        mask = ops.not_equal(tokens, 0)
        if self.kind == "embedding":
            weights = ops.expand_dims(ops.cast(mask, embedded.dtype), -1)
            pooled = ops.sum(embedded * weights, 1) / ops.maximum(ops.sum(weights, 1), 1.0)
            return self.project(pooled)
        # An empty prompt masks every step; the RNN then returns its zero initial state.
        return self.rnn(embedded, mask=mask)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "vocabulary_size": self.vocabulary_size,
                "output_dim": self.output_dim, "embedding_dim": self.embedding_dim}


def make_text_encoder(kind: str, vocabulary_size: int, output_dim: int, name: str = "text_encoder"):
    return TextEncoder(kind, vocabulary_size, output_dim, embedding_dim=output_dim, name=name)
