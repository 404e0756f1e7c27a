"""Building Keras networks under JAX without running them.

A Keras build runs each new layer once on dummy inputs; under JAX every one of those eager ops
compiles its own small XLA program (one per op, shape and dtype), and so does each initializer
per weight shape. Two tiny U-Nets and their AdamW took 306 compiles, 12.2 s on a 2-core CPU, and
a JAX trainer paid that again at every start, on a GPU host too. ``built_traced`` only traces
the build (``jax.eval_shape``: shapes, no compiles) inside a ``keras.StatelessScope``, where Keras
defers each variable's initializer; leaving the scope draws them: 51 compiles, 4.9 s, and the
values an eager build draws (each initializer keeps its seed).

Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def built_traced(build: Callable[[], T]) -> T:
    """``build()``'s result, its Keras variables initialised as an eager build would. Under
    another backend it is ``build()`` itself.

    ``build`` creates and builds networks and optimizers (``net.build(...)``, a call on dummy
    inputs, ``optimizer.build(...)``) and returns them. It must not read or assign weights (do
    that afterwards, on what it returns) nor create variables from values rather than
    initializers (an optimizer's step counter: create the optimizer outside, build it inside).
    """
    import keras

    if keras.backend.backend() != "jax":
        return build()
    import jax

    made = []
    with keras.StatelessScope():  # on exit, Keras initialises the variables created inside
        jax.eval_shape(lambda: made.append(build()))
    return made[0]
