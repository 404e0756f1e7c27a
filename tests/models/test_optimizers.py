"""The zoo's Adam and AdamW (networks/optimizers.py): Keras's arithmetic and state, one fused
TensorFlow kernel per weight."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.networks.lr_schedules import WarmupCosine
from emoji_t2i.networks.optimizers import Adam, AdamW

SHAPES = [(3, 4), (5,), (2, 2, 3), (6, 2)]  # the last is updated through sparse gradients


def four_steps(optimizer_class, **kwargs):
    weights = [keras.Variable(np.linspace(-1, 1, int(np.prod(s)), dtype="float32").reshape(s), name=f"w{k}")
               for k, s in enumerate(SHAPES)]
    optimizer = optimizer_class(**kwargs)
    optimizer.build(weights)
    rng = np.random.default_rng(0)
    grads = [[rng.standard_normal(s).astype("float32") for s in SHAPES] for _ in range(4)]

    @tf.function
    def step(dense):
        rows = tf.constant([0, 3, 3])  # a repeated row: the slices add up, as an embedding's do
        sparse = tf.IndexedSlices(tf.gather(dense[-1], rows), rows, tf.constant(SHAPES[-1]))
        optimizer.apply_gradients(zip([*dense[:-1], sparse], weights, strict=True))

    for dense in grads:
        step(dense)
    graph = step.get_concrete_function(grads[0]).graph.as_graph_def()
    ops = [n.op for n in graph.node] + [n.op for f in graph.library.function for n in f.node_def]
    state = {v.path.split("/", 1)[1]: v.numpy() for v in optimizer.variables}  # after the optimizer's name
    return [w.numpy() for w in weights], state, ops


@pytest.mark.parametrize("ours,theirs,kwargs", [
    (Adam, keras.optimizers.Adam, {"learning_rate": 1e-2, "beta_1": 0.5, "beta_2": 0.9}),
    (AdamW, keras.optimizers.AdamW, {"learning_rate": WarmupCosine(1e-2, 2, 4), "weight_decay": 0.1,
                                     "clipnorm": 1.0}),
], ids=["adam", "adamw"])
def test_one_fused_op_per_dense_weight_gives_keras_weights_and_moments(ours, theirs, kwargs):
    weights, state, ops = four_steps(ours, **kwargs)
    keras_weights, keras_state, keras_ops = four_steps(theirs, **kwargs)
    assert ops.count("ResourceApplyAdam") == len(SHAPES) - 1 and "ResourceApplyAdam" not in keras_ops
    assert len(ops) < len(keras_ops) - 15 * (len(SHAPES) - 1)
    for ours_w, theirs_w in zip(weights, keras_weights, strict=True):
        assert np.abs(ours_w - np.linspace(-1, 1, ours_w.size).reshape(ours_w.shape)).max() > 1e-3  # it moved
        np.testing.assert_allclose(ours_w, theirs_w, rtol=1e-5, atol=1e-6)
    assert state.keys() == keras_state.keys()  # the same variables, by the same paths: checkpoints carry over
    for path, value in state.items():
        np.testing.assert_allclose(value, keras_state[path], rtol=1e-5, atol=1e-7, err_msg=path)


def test_the_zoos_models_train_with_the_fused_optimizers():
    from emoji_t2i.models import get_model_class

    training = {"lr": 1e-3, "warmup_steps": 1, "weight_decay": 0.01, "beta_1": 0.9, "beta_2": 0.99,
                "lr_schedule": "cosine", "g_lr": 1e-4, "d_lr": 4e-4}
    diffusion = get_model_class("diffusion")(20).make_optimizers(training, 10)
    gan = get_model_class("cgan")(20).make_optimizers(training, 10)
    assert [type(o) for o in diffusion.values()] == [AdamW]
    assert {type(o) for o in gan.values()} == {Adam}
