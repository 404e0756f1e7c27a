"""``text_encoder=hub:PATH_OR_HANDLE``: any sentence encoder saved in the TF Hub / SavedModel
format (strings in, a (batch, D) float tensor out), frozen, as ``minilm`` is.

A Universal Sentence Encoder a user has downloaded, or an encoder of their own exported with
``tf.saved_model.save``, plugs into every zoo generator this way. ``hub.KerasLayer`` does not
work with Keras 3, so ``HubSentenceEncoder`` holds the module that ``tensorflow_hub.load``
returns inside a Keras layer; the module is an attribute of the layer, so an exported SavedModel
carries it along and serves without the original folder.

Prompts reach the encoder as Unicode code points (``CodepointTokenizer``) rather than strings,
because every zoo model reads a (B, L) integer tensor of "tokens"; the layer turns them back
into the exact strings in the graph. Its weights are the module's own: a run or preset records
the handle, and loading one loads the module from there again.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from emoji_t2i.errors import UsageError, one_line

HUB_PREFIX = "hub:"
HUB_SEQUENCE_LENGTH = 128  # code points a prompt keeps: emoji names are far shorter


def hub_handle(kind: str) -> str | None:
    """The handle of a ``hub:HANDLE`` text-encoder setting; None for any other kind."""
    kind = str(kind)
    return kind[len(HUB_PREFIX):] if kind.startswith(HUB_PREFIX) else None


@keras.saving.register_keras_serializable("emoji_t2i")
class CodepointTokenizer(layers.Layer):
    """Strings (B,) -> int32 Unicode code points (B, sequence_length), 0-padded and truncated.

    The tokenizer of ``hub:`` encoders: lossless for any prompt that fits, so the encoder sees
    exactly the text the user typed.
    """

    kind = "codepoint"

    def __init__(self, sequence_length=HUB_SEQUENCE_LENGTH, **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = int(sequence_length)
        self.built = True  # no weights; export refuses unbuilt layers

    def __call__(self, prompts, **kwargs):
        # Like TextVectorization, take a Python list of strings as well as a tensor.
        if isinstance(prompts, list | tuple):
            prompts = tf.constant(list(prompts), tf.string)
        return super().__call__(prompts, **kwargs)

    def call(self, text):
        points = tf.strings.unicode_decode(text, "UTF-8", errors="replace")
        return points[:, : self.sequence_length].to_tensor(0, shape=[None, self.sequence_length])

    def vocabulary_size(self) -> int:
        return 0x110000  # every code point; no learned vocabulary

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length}


def codepoints_to_strings(ids):
    """The inverse of ``CodepointTokenizer`` (padding dropped)."""
    ids = tf.cast(ids, tf.int32)
    return tf.strings.unicode_encode(tf.RaggedTensor.from_tensor(ids, padding=0), "UTF-8")


_LOADED: dict[str, object] = {}


def load_hub_module(handle: str):
    """``tensorflow_hub.load(handle)``, once per process, checked to map strings to (B, D) floats."""
    if handle not in _LOADED:
        import tensorflow_hub as hub

        try:
            module = hub.load(handle)
            probe = module(tf.constant(["smiling face", "crying cat"]))
        except Exception as e:  # hub raises OSError, ValueError or TF errors for a bad handle
            raise UsageError(f"text_encoder {HUB_PREFIX}{handle}: cannot load a sentence encoder there "
                             f"({one_line(e, 200)}); pass a folder holding a TF Hub / SavedModel encoder "
                             "(strings in, (batch, D) floats out)") from e
        if len(probe.shape) != 2 or not probe.dtype.is_floating:
            raise UsageError(f"text_encoder {HUB_PREFIX}{handle}: it returns {probe.dtype.name} "
                             f"{list(probe.shape)} for 2 prompts, not a (2, D) float tensor")
        _LOADED[handle] = module
    return _LOADED[handle]


@keras.saving.register_keras_serializable("emoji_t2i")
class HubSentenceEncoder(layers.Layer):
    """The frozen ``hub:`` module as a layer: code points (B, L) -> ``{"pooled": (B, D)}``,
    the same output ``minilm`` gives, so a model reads either alike.

    Args:
        handle: a folder with a TF Hub / SavedModel sentence encoder (or any handle
            ``tensorflow_hub.load`` resolves; nothing is downloaded on a machine without network).
    """

    def __init__(self, handle, **kwargs):
        super().__init__(trainable=False, **kwargs)
        # === Config ===
        self.handle = str(handle)
        # === Layers ===
        self.module = load_hub_module(self.handle)
        self.output_dim = int(self.module(tf.constant(["emoji"])).shape[-1])
        self.built = True  # the module's variables are its own, not Keras weights

    def call(self, ids):
        return {"pooled": ops.cast(self.module(codepoints_to_strings(ids)), "float32")}

    def compute_output_spec(self, ids):
        return {"pooled": keras.KerasTensor((ids.shape[0], self.output_dim), "float32")}

    def get_config(self):
        return {**super().get_config(), "handle": self.handle}


_SHARED: dict[str, HubSentenceEncoder] = {}


def shared_hub_encoder(handle: str) -> HubSentenceEncoder:
    """One layer per handle and process: G, its EMA copy and D share the frozen module."""
    if handle not in _SHARED:
        _SHARED[handle] = HubSentenceEncoder(handle, name="hub_encoder")
    return _SHARED[handle]
