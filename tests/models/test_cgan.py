"""cgan-specific behaviour; what every zoo model shares is in test_zoo.py."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.models.layers import diff_augment
from emoji_t2i.text import ENCODERS
from tests.harness import (
    fit_steps,
    run_train_step_test,
    tiny_batch,
    tiny_model,
    weights_of,
)


@pytest.fixture(autouse=True)
def float32_policy():
    yield
    keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("encoder", ENCODERS)
def test_one_step_trains_every_network_with_each_text_encoder(encoder):
    logs = run_train_step_test("cgan", text_encoder=encoder)
    assert {"d_loss", "g_loss", "real_score", "fake_score", "wrong_score"} <= set(logs)


def test_bce_loss_and_no_aux_heads():
    run_train_step_test("cgan", loss="bce", num_classes=(), augment=False)


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


def test_wgan_gp_trains_with_several_critic_steps():
    assert tiny_model("cgan", compile=False, loss="wgan_gp").d_steps == 5
    assert tiny_model("cgan", compile=False).d_steps == 1
    model = tiny_model("cgan", loss="wgan_gp", d_steps=2)
    run_train_step_test("cgan", model=model)
    assert model.d_optimizer.iterations.numpy() == 2 and model.g_optimizer.iterations.numpy() == 1


def test_gradient_penalty_known_answer():
    """A linear critic w·x has gradient w everywhere: the penalty is (‖w‖ - 1)²."""
    from emoji_t2i.models.losses import gradient_penalty

    w = tf.constant(np.random.default_rng(0).normal(size=(1, 72, 72, 4)).astype("float32") * 0.01)
    critic = lambda x: tf.reduce_sum(w * x, axis=(1, 2, 3))  # noqa: E731
    real, fake = tf.random.uniform((3, 72, 72, 4)), tf.random.uniform((3, 72, 72, 4))
    gp = gradient_penalty(critic, real, fake, tf.random.uniform((3, 1, 1, 1)))
    expected = (float(tf.norm(w)) - 1.0) ** 2
    np.testing.assert_allclose(np.asarray(gp), [expected] * 3, rtol=1e-4)


def test_frozen_minilm_runs_once_per_caption_not_per_network_call(monkeypatch):
    """With minilm, G and D train on the engine's cached caption embeddings (MiniLM is not
    run at all in a train step), and sampling still reads token ids."""
    from emoji_t2i.text.minilm import MiniLM

    model = tiny_model("cgan", text_encoder="minilm")
    calls = []
    original = MiniLM.__call__  # its eager calls run one graph traced once per process, not call()
    monkeypatch.setattr(MiniLM, "__call__", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    batch = tiny_batch(model)
    g_before = weights_of(model.generator.text)
    logs = fit_steps(model, batch)
    assert calls == [] and np.isfinite(logs["g_loss"])
    assert any(not np.allclose(a, b) for a, b in zip(g_before, weights_of(model.generator.text), strict=True))
    other = dict(batch, text_features=np.roll(batch["text_features"], 1, axis=0))
    d = model.discriminator
    h = d.features(batch["images"])
    assert not np.allclose(d.score(h, batch["text_features"]), d.score(h, other["text_features"]))
    model.generate(batch["tokens"], batch["noise"])
    assert calls  # sampling encodes the prompt's ids
