"""The text encoders: one class, five kinds that differ in how they reduce the tokens, and a
frozen wrapper for an encoder pretrained by ``python -m emoji_t2i.train --model char_cnn_rnn``."""

from __future__ import annotations

import json
from pathlib import Path

import keras
from keras import layers, ops

from emoji_t2i.errors import UsageError
from emoji_t2i.text.hub import HUB_PREFIX, HUB_SEQUENCE_LENGTH, hub_handle

LEARNED = ("padded", "embedding", "embedding_gru", "lstm", "char_cnn_rnn")
ENCODERS = (*LEARNED, "minilm")
# The tokenizer (kind, ids per caption) an encoder reads when it needs other than words.
TOKENIZERS = {"char_cnn_rnn": ("char", 64), "minilm": ("wordpiece", 24)}
KINDS_HINT = f"use one of {', '.join(ENCODERS)}, char_cnn_rnn:RUN_DIR or {HUB_PREFIX}PATH"


def tokenizer_for(kind: str) -> tuple[str, int] | None:
    """(tokenizer kind, ids per caption) that a text encoder reads, or None for words."""
    if hub_handle(kind) is not None:
        return ("codepoint", HUB_SEQUENCE_LENGTH)
    return TOKENIZERS.get(str(kind))


def is_frozen_encoder(kind: str) -> bool:
    """A pretrained sentence encoder that no train step changes (``minilm``, ``hub:``): a run
    embeds every caption with it once and the train step reads those features."""
    return kind == "minilm" or hub_handle(kind) is not None


def frozen_text_encoder(kind: str):
    """The process's shared frozen encoder of that kind: ids -> ``{"pooled": (B, D), ...}``,
    with ``output_dim``."""
    handle = hub_handle(kind)
    if handle is not None:
        from emoji_t2i.text.hub import shared_hub_encoder

        return shared_hub_encoder(handle)
    from emoji_t2i.text.minilm import shared_minilm

    return shared_minilm()
PRETRAINED_PREFIX = "char_cnn_rnn:"  # "char_cnn_rnn:RUN_DIR": the frozen encoder of that run
# A run records its pretrained encoder as "char_cnn_rnn:RUN_DIR:dim=N" (``pin_pretrained``):
# the weights are in its own checkpoints, so with the size known RUN_DIR may move or go.
DIM_SUFFIX = ":dim="


def parse_pretrained(kind: str) -> tuple[str, int | None] | None:
    """``(run, dim or None)`` of a pretrained encoder setting; None for any other kind."""
    kind = str(kind)
    if not kind.startswith(PRETRAINED_PREFIX):
        return None
    run, dim = kind[len(PRETRAINED_PREFIX):], None
    head, sep, tail = run.rpartition(DIM_SUFFIX)
    if sep and tail.isdigit():
        run, dim = head, int(tail)
    return run, dim


def pin_pretrained(kind: str) -> str:
    """``char_cnn_rnn:RUN_DIR`` -> ``char_cnn_rnn:RUN_DIR:dim=N`` (N read from the run's
    config.json, which must exist); any other kind unchanged."""
    parsed = parse_pretrained(kind)
    if parsed is None or parsed[1] is not None:
        return kind
    return f"{PRETRAINED_PREFIX}{parsed[0]}{DIM_SUFFIX}{source_text_dim(parsed[0])}"


def source_text_dim(run: str) -> int:
    config_path = Path(run) / "config.json"
    if not config_path.is_file():
        raise UsageError(f"text_encoder {PRETRAINED_PREFIX}{run}: no run there; train one "
                         f"with python -m emoji_t2i.train --model char_cnn_rnn --out {run}")
    config = json.loads(config_path.read_text())
    if config.get("model") != "char_cnn_rnn":
        raise UsageError(f"text_encoder {PRETRAINED_PREFIX}{run}: that is a "
                         f"{config.get('model')!r} run, not a char_cnn_rnn one")
    return int(config["hparams"]["text_dim"])


@keras.saving.register_keras_serializable("emoji_t2i")
class TextEncoder(layers.Layer):
    """Encode padded token ids (0 = padding, 1 = out of vocabulary) into a fixed-size code.

    Args:
        kind: one of ``ENCODERS``.
        vocabulary_size: size of the tokenizer's vocabulary, padding and OOV included.
        output_dim: size of the text code.
        embedding_dim: size of the word embedding (ignored by ``padded``).
        normalize: layer-normalise the code (what generators use; see below).
    """

    def __init__(self, kind="embedding_gru", vocabulary_size=1000, output_dim=128,
                 embedding_dim=128, normalize=True, **kwargs):
        super().__init__(**kwargs)
        if kind not in LEARNED:
            raise UsageError(f"unknown text_encoder {kind!r}; {KINDS_HINT}")
        # === Config ===
        self.kind = kind
        self.vocabulary_size = vocabulary_size
        self.output_dim = output_dim
        self.embedding_dim = embedding_dim
        self.normalize = normalize
        # === Layers ===
        # The code is layer-normalised. Keras embeddings start at +-0.05: measured here, a new
        # GRU code had rms 0.011 next to N(0, 1) noise, and still 0.14 after 3 cgan epochs,
        # whose generator drew the same image for every caption but the frequent "skin tone".
        # Discriminators keep the raw code: their learned projection sets its scale, and a
        # unit-variance code made the first projection scores (and hinge loss) explode.
        if normalize:
            self.norm = layers.LayerNormalization(name="code_norm")
        if kind == "char_cnn_rnn":
            # Reed et al. 2016 / the diary's day 6: character convolutions + max-pooling shorten
            # the sequence 4x, a GRU reads the conv features, its states are averaged.
            self.embedding = layers.Embedding(vocabulary_size, embedding_dim, name="embedding")
            self.conv1 = layers.Conv1D(embedding_dim, 4, padding="same", activation="relu", name="conv1")
            self.conv2 = layers.Conv1D(embedding_dim, 4, padding="same", activation="relu", name="conv2")
            self.pool = layers.MaxPooling1D(2, name="pool")
            self.rnn = layers.GRU(output_dim, return_sequences=True, name="gru")
            return
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
        code = self._reduce(tokens)
        return self.norm(code) if self.normalize else code

    def _reduce(self, tokens):
        if self.kind == "padded":
            # The diary's day 2-3 input: token ids as numbers. Kept as a baseline.
            return self.project(ops.cast(tokens, self.compute_dtype) / self.vocabulary_size)
        if self.kind == "char_cnn_rnn":
            x = self.pool(self.conv1(self.embedding(tokens)))
            x = self.pool(self.conv2(x))
            return ops.mean(self.rnn(x), axis=1)
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
                "output_dim": self.output_dim, "embedding_dim": self.embedding_dim,
                "normalize": self.normalize}


@keras.saving.register_keras_serializable("emoji_t2i")
class FrozenTextAdapter(layers.Layer):
    """``text_encoder=minilm`` or ``hub:HANDLE`` in a zoo network: the shared frozen encoder's
    pooled sentence embedding, then a small trainable adapter (Dense + optional LayerNorm) to
    ``output_dim``. Training feeds the embeddings the run cached once per caption
    (``ZooModel.cached_text``), so G and D never run the encoder; sampling feeds token ids.
    """

    def __init__(self, kind="minilm", output_dim=128, normalize=True, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.kind, self.output_dim, self.normalize = str(kind), output_dim, normalize
        # === Layers ===
        self.encoder = frozen_text_encoder(self.kind)
        self.adapt = layers.Dense(output_dim, name="adapt")
        if normalize:
            self.norm = layers.LayerNormalization(name="code_norm")

    def build(self, tokens_shape):
        self.adapt.build((None, self.encoder.output_dim))
        if self.normalize:
            self.norm.build((None, self.output_dim))

    def call(self, tokens):
        # Cached embeddings are floats of the encoder's width; anything else is ids (SavedModel
        # export traces a network's default signature with float inputs of the ids' shape).
        if tokens.dtype.is_floating and tokens.shape[-1] == self.encoder.output_dim:
            pooled = tokens
        else:
            pooled = self.encoder(ops.cast(tokens, "int32"))["pooled"]
        code = self.adapt(ops.cast(pooled, self.compute_dtype))
        return self.norm(code) if self.normalize else code

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "output_dim": self.output_dim,
                "normalize": self.normalize}


CHAR_EMBEDDING_DIM = 64  # the char_cnn_rnn pretraining model's character embedding


@keras.saving.register_keras_serializable("emoji_t2i")
class PretrainedTextEncoder(layers.Layer):
    """``char_cnn_rnn:RUN_DIR``: that run's char-CNN-RNN encoder, frozen, then a trainable
    Dense to ``output_dim`` (StackGAN likewise learned only what sits on its fixed encoder).

    The weights are copied in by ``load_pretrained()``, which a new training run calls
    (``initialize_from_runs``); afterwards they live in the run's own checkpoints. Given
    ``source_dim`` (the run records it), RUN_DIR is not read at all.
    """

    def __init__(self, run, vocabulary_size=1000, output_dim=128, normalize=True, source_dim=None,
                 **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.run, self.vocabulary_size, self.output_dim = str(run), vocabulary_size, output_dim
        self.normalize = normalize
        self.source_dim = int(source_dim) if source_dim else source_text_dim(self.run)
        # === Layers ===
        self.encoder = TextEncoder("char_cnn_rnn", vocabulary_size, self.source_dim,
                                   embedding_dim=CHAR_EMBEDDING_DIM, normalize=True, name="pretrained")
        self.encoder.trainable = False
        self.adapt = layers.Dense(output_dim, name="adapt")
        if normalize:
            self.norm = layers.LayerNormalization(name="code_norm")

    def call(self, tokens):
        code = self.adapt(self.encoder(tokens))
        return self.norm(code) if self.normalize else code

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def load_pretrained(self, load_run, cache: dict | None = None):
        """``load_run(path, model_name) -> (model, ...)``: see ZooModel.initialize_from_runs."""
        cache = {} if cache is None else cache
        if self.run not in cache:
            cache[self.run] = load_run(self.run, "char_cnn_rnn")[0].text_encoder.get_weights()
        self.encoder.set_weights(cache[self.run])

    def get_config(self):
        return {**super().get_config(), "run": self.run, "vocabulary_size": self.vocabulary_size,
                "output_dim": self.output_dim, "normalize": self.normalize, "source_dim": self.source_dim}


def make_text_encoder(kind: str, vocabulary_size: int, output_dim: int, name: str = "text_encoder",
                      normalize: bool = True):
    pretrained = parse_pretrained(kind)
    if pretrained is not None:
        return PretrainedTextEncoder(pretrained[0], vocabulary_size, output_dim, normalize,
                                     source_dim=pretrained[1], name=name)
    if is_frozen_encoder(kind):
        return FrozenTextAdapter(kind, output_dim, normalize, name=name)
    if kind not in ENCODERS:
        raise UsageError(f"unknown text_encoder {kind!r}; {KINDS_HINT}")
    embedding_dim = CHAR_EMBEDDING_DIM if kind == "char_cnn_rnn" else output_dim
    return TextEncoder(kind, vocabulary_size, output_dim, embedding_dim=embedding_dim,
                       normalize=normalize, name=name)


def pretrained_runs(text_encoder: str) -> list[str]:
    """The encoder run a ``text_encoder`` setting refers to, if any."""
    parsed = parse_pretrained(text_encoder)
    return [parsed[0]] if parsed else []


def load_pretrained_text_encoders(model, load_run) -> int:
    """Copy pretrained weights into every ``PretrainedTextEncoder`` of a model; returns how many."""
    cache, count = {}, 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, PretrainedTextEncoder):
            layer.load_pretrained(load_run, cache)
            count += 1
    return count
