"""One traced graph for the eager calls of a text layer.

Called eagerly, a Keras layer runs each of its sublayers and ops one at a time from Python:
MiniLM's six transformer layers took 170 ms for a prompt, the WordPiece tokenizer's loop 86 ms,
most of what one prompt's emoji cost in the pipeline (654 ms). Traced once for any batch, a call
costs a few milliseconds after the first. Inside a trace (a train step, an export) and under
another backend the layer is called as usual.
"""

from __future__ import annotations

from collections.abc import Callable


def eager_graph(layer, call: Callable, shape: list, dtype: str) -> Callable | None:
    """``call`` (the layer's ``keras.Layer.__call__``) as one ``tf.function`` of a tensor of
    ``shape`` (None: any size) and ``dtype`` when TensorFlow runs eagerly; None elsewhere, where
    the caller calls the layer as usual.

    The function is held in the layer's ``__dict__`` inside a plain closure: a ``tf.function``
    attribute would be found by SavedModel's tracking and exported with the layer."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    if not tf.executing_eagerly():
        return None
    if "_eager_graph" not in layer.__dict__:
        traced = tf.function(lambda x: call(x), input_signature=[tf.TensorSpec(shape, dtype)])
        layer.__dict__["_eager_graph"] = lambda x: traced(x)
    return layer.__dict__["_eager_graph"]
