import keras
import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.models import list_models
from emoji_t2i.models.layers import diff_augment
from emoji_t2i.text import ENCODERS
from tests.harness import (
    fit_steps,
    run_checkpoint_coverage_test,
    run_forward_test,
    run_model_saving_test,
    run_train_step_test,
    tiny_batch,
    tiny_model,
    weights_of,
)


@pytest.fixture(autouse=True)
def float32_policy():
    yield
    keras.config.set_dtype_policy("float32")


def test_registered():
    assert "cgan" in list_models()


def test_forward_shapes_and_range():
    run_forward_test("cgan")


@pytest.mark.parametrize("encoder", ENCODERS)
def test_one_step_trains_every_network_with_each_text_encoder(encoder):
    logs = run_train_step_test("cgan", text_encoder=encoder)
    assert {"d_loss", "g_loss", "real_score", "fake_score", "wrong_score"} <= set(logs)


def test_bce_loss_and_no_aux_heads():
    run_train_step_test("cgan", loss="bce", num_classes=(), augment=False)


def test_saving_round_trips(tmp_path):
    run_model_saving_test("cgan", tmp_path)


def test_checkpoint_holds_every_weight(tmp_path):
    run_checkpoint_coverage_test("cgan", tmp_path)


def test_text_changes_the_image():
    model = tiny_model("cgan")
    fit_steps(model, tiny_batch(model), steps=2)
    batch = tiny_batch(model, 2)
    a = np.asarray(model.generate(batch["noise"], batch["tokens"]))
    b = np.asarray(model.generate(batch["noise"], batch["wrong_tokens"]))
    assert np.abs(a - b).mean() > 1e-4


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_step(policy):
    keras.config.set_dtype_policy(policy)
    model = tiny_model("cgan")
    scaled = isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")
    assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer) == scaled
    assert model.generator.to_rgba.compute_dtype == "float32"
    assert model.discriminator.real_head.compute_dtype == "float32"
    assert model.generator.project.compute_dtype == policy.split("_")[1]
    logs = fit_steps(model, tiny_batch(model), steps=2)
    assert all(np.isfinite(v) for v in logs.values())
    assert model.generate(tiny_batch(model)["noise"], tiny_batch(model)["tokens"]).dtype == "float32"


def test_mirrored_step_matches_single_device():
    """Same global batch on 1 device and on 2 logical CPUs: same weights after two steps
    (compute_average_loss over the global batch, spectral-norm vectors of the first replica)."""
    batch = tiny_batch(tiny_model("cgan", compile=False), 4)
    keras.utils.set_random_seed(1)
    single = tiny_model("cgan")
    start = weights_of(single)
    fit_steps(single, batch, steps=2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        mirrored = tiny_model("cgan")
    for var, value in zip(mirrored.weights, start, strict=True):
        var.assign(value)
    fit_steps(mirrored, batch, steps=2)
    for a, b in zip(weights_of(single), weights_of(mirrored), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4)


def test_generator_samples_what_it_trains():
    """Per-sample normalisation: training and sampling mode compute the same images, and one
    sample does not depend on the rest of its batch (BatchNorm broke both; see layers.py)."""
    model = tiny_model("cgan")
    fit_steps(model, tiny_batch(model), steps=2)
    batch = tiny_batch(model, 4, seed=3)
    inputs = [batch["noise"], batch["tokens"]]
    train_mode = np.asarray(model.generator(inputs, training=True))
    np.testing.assert_allclose(np.asarray(model.generator(inputs, training=False)), train_mode, atol=1e-5)
    alone = np.asarray(model.generator([batch["noise"][:1], batch["tokens"][:1]], training=True))
    np.testing.assert_allclose(alone[0], train_mode[0], atol=1e-5)


def test_diff_augment_keeps_range_and_is_differentiable():
    x = tf.Variable(tf.random.uniform((3, 72, 72, 4), -1, 1))
    params = tf.random.uniform((3, 7))
    with tf.GradientTape() as tape:
        y = diff_augment(x, params)
        total = tf.reduce_sum(y)  # inside the tape, or the target is not connected to x
    assert y.shape == x.shape
    grad = tape.gradient(total, x)
    assert float(tf.reduce_sum(tf.abs(grad))) > 0
    same = diff_augment(x, tf.constant([[0.5, 0.5, 0.5, 0.5, 0.5, 2.0, 2.0]] * 3))
    # neutral colour, no shift, cutout outside the image: alpha untouched
    np.testing.assert_allclose(same[..., 3], x.numpy()[..., 3], atol=1e-6)
