"""One traced graph for the eager calls of a text layer, for a process that answers many prompts.

Called eagerly, a Keras layer runs each of its sublayers and ops one at a time from Python:
MiniLM's six transformer layers took 218 ms per call and the WordPiece tokenizer's loop 86 ms,
most of what one prompt's emoji cost in the pipeline (654 ms). Traced once for any batch, the
calls take 16 and 1.4 ms, but the tracing costs a few seconds once, more than a single
``generate`` spends on text; so a layer traces only once asked to (``trace_eager_calls``; the
app does, through ``TextToImagePipeline.trace_text``). Inside a trace (a train step, an export)
and under another backend the layer is always called as usual.
"""

from __future__ import annotations

from collections.abc import Callable

_ON = "_trace_eager_calls"


def trace_eager_calls(layer) -> None:
    """From now on, run ``layer``'s eager calls through one traced graph (a layer with the hook:
    ``WordPieceTokenizer``, ``MiniLM``; others ignore it)."""
    layer.__dict__[_ON] = True


def eager_graph(layer, call: Callable, shape: list, dtype: str) -> Callable | None:
    """``call`` (the layer's ``keras.Layer.__call__``) as one ``tf.function`` of a tensor of
    ``shape`` (None: any size) and ``dtype``, when the layer was asked to trace and TensorFlow
    runs eagerly; None otherwise, where the caller calls the layer as usual.

    The function is held in the layer's ``__dict__`` inside a plain closure: a ``tf.function``
    attribute would be found by SavedModel's tracking and exported with the layer."""
    if not layer.__dict__.get(_ON):
        return None
    import keras

    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    if not tf.executing_eagerly():
        return None
    if "_eager_graph" not in layer.__dict__:
        traced = tf.function(lambda x: call(x), input_signature=[tf.TensorSpec(shape, dtype)])
        graph = lambda x: traced(x)  # noqa: E731
        graph.tracing_count = traced.experimental_get_tracing_count
        layer.__dict__["_eager_graph"] = graph
    return layer.__dict__["_eager_graph"]
