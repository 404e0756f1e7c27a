"""The shared tiny-shape harness every zoo model's test calls (keras-hub style): one helper
per behaviour instead of copied test code."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from emoji_t2i.models import get_model_class
from emoji_t2i.models.layers import AUGMENT_PARAMS
from emoji_t2i.networks.optimizers import Adam

SEQUENCE_LENGTH = 16
VOCABULARY = 50
# The GANs read text through a word embedding here, not their default GRU, which doubles a tiny
# GAN's tracing time (measured on cgan's one-step and saving tests): every text encoder has its
# own one-step test (tests/models/test_cgan.py), and the CLI tests train, resume and export the
# default GRU (tests/training/conftest.py's TINY_SETS).
TINY = {
    "cgan": {"noise_dim": 8, "text_encoder": "embedding", "text_dim": 16, "g_channels": (16, 8, 8, 8),
             "d_channels": (8, 8, 8, 16), "num_classes": (5, 7)},
    "char_cnn_rnn": {"text_dim": 16, "embed_dim": 8, "i_channels": (8, 8, 8, 8), "num_classes": (5,)},
    "lstm_gan": {"noise_dim": 8, "text_dim": 16, "g_channels": (16, 8, 8, 8),
                 "d_channels": (8, 8, 8, 16), "num_classes": (5, 7)},
    "stackgan": {"noise_dim": 8, "condition_dim": 4, "text_encoder": "embedding", "text_dim": 16,
                 "g_channels": (16, 8, 8), "g2_channels": (16, 8, 8, 8), "residual_blocks": 1,
                 "d_channels": (8, 8, 8, 16), "num_classes": (5, 7)},
    "stackganpp": {"clip_config": {"embed_dim": 8, "widths": (8, 8, 8)}, "noise_dim": 8, "condition_dim": 4,
                   "g_channels": (16, 8, 8, 8), "residual_blocks": 0, "d_channels": (8, 8, 8, 16)},
    "damsm": {"embed_dim": 8, "word_dim": 8, "widths": (8, 8, 8), "num_classes": (5,)},
    "attngan": {"damsm_config": {"text_encoder": "bilstm", "embed_dim": 8, "word_dim": 8, "widths": (8, 8, 8),
                                 "gamma1": 4.0, "gamma2": 5.0, "gamma3": 10.0},
                "noise_dim": 8, "condition_dim": 4, "g_channels": (16, 8, 8, 8), "residual_blocks": 0,
                "d_channels": (8, 8, 8, 16)},
    "vae": {"latent_dim": 8, "text_dim": 16, "g_channels": (16, 8, 8, 8), "e_channels": (8, 8, 8, 8)},
    # A trained word encoder keeps the shared tests fast; minilm has its own tests. Dropout
    # 0.7 makes the seed-0 tiny batch drop 2 of its 4 captions: the null caption must learn.
    "clip": {"embed_dim": 8, "widths": (8, 8, 8), "num_classes": (5,)},
    "vq": {"widths": (8, 8), "downsample": 4, "code_dim": 4, "num_codes": 16},
    "vq_transformer": {"tokenizer_config": {"widths": (8, 8, 8), "downsample": 8, "code_dim": 4, "num_codes": 16},
                       "text_encoder": "embedding", "text_dim": 16, "width": 16, "depth": 1, "heads": 2,
                       "num_steps": 2, "condition_dropout": 0.7},
    # conditional: the harness checks that text reaches the image; tests/models/test_stylegan.py
    # covers the unconditional default. R1 and ADA every step so one step exercises them.
    "stylegan": {"z_dim": 8, "w_dim": 8, "mapping_depth": 2, "g_channels": (8, 8, 8, 8), "d_channels": (8, 8, 8, 8),
                 "conditional": True, "text_encoder": "embedding", "text_dim": 8, "r1_interval": 1, "ada_interval": 1,
                 "ada_speed_images": 40},
    "diffusion": {"text_encoder": "embedding", "text_dim": 16, "widths": (8, 16), "blocks": 1,
                  "num_steps": 2, "condition_dropout": 0.7},
}


def tiny_model(name: str, compile: bool = True, **overrides):
    model = get_model_class(name)(VOCABULARY, **{**TINY[name], **overrides})
    if compile:
        model.compile(**{name: Adam(1e-3) for name in model.OPTIMIZERS})
        model.build_all(SEQUENCE_LENGTH)
    return model


def tiny_batch(model, batch_size: int = 4, seed: int = 0) -> dict:
    """A batch as the data pipeline makes it, with every random draw the model declares."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(2, VOCABULARY, (batch_size, SEQUENCE_LENGTH))
    tokens[:, 6:] = 0  # right padding, as the vectorizer emits
    classes = getattr(model, "num_classes", ())
    draws = {name: (rng.standard_normal if kind == "normal" else rng.uniform)(size=(batch_size, *shape))
             .astype("float32") for name, (kind, shape) in model.random_draws().items()}
    return {**draws,
        "images": rng.uniform(-1, 1, (batch_size, 72, 72, 4)).astype("float32"),
        "tokens": tokens,
        "wrong_tokens": np.roll(tokens, 1, axis=0),
        "labels": np.stack([rng.integers(0, k, batch_size) for k in classes], -1).astype("int32")
        if classes else np.zeros((batch_size, 0), "int32"),
        "noise": rng.standard_normal((batch_size, *model.noise_shape)).astype("float32"),
        "augment": rng.uniform(0, 1, (batch_size, 2, AUGMENT_PARAMS)).astype("float32"),
        "style": np.array([("google", "twitter", "openmoji")[i % 3] for i in range(batch_size)]),
        # what the engine caches for a model on frozen minilm: its pooled, unit-norm embedding
        **({"text_features": unit_rows(rng.standard_normal((batch_size, 384)))} if model.cached_text else {}),
    }


def unit_rows(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype("float32")


def ema_network(model):
    """The EMA copy sampling uses, where the model keeps one."""
    return getattr(model, "ema_generator", None) or getattr(model, "ema_denoiser", None)


def image_output_layers(model):
    """The layers that write the images (float32 under mixed precision)."""
    names = ("to_rgba", "out_conv", "to_pixels", "to_logits")
    return [getattr(layer, name) for layer in model.sampling_layers() for name in names if hasattr(layer, name)]


def fit_steps(model, batch: dict, steps: int = 1) -> dict:
    ds = tf.data.Dataset.from_tensors(batch).repeat(steps)
    history = model.fit(ds, epochs=1, verbose=0, shuffle=False)
    return {k: v[-1] for k, v in history.history.items()}


def weights_of(net) -> list[np.ndarray]:
    return [np.array(w) for w in net.weights]


def run_generator_test(name: str, tmp_path) -> None:
    """What a generator promises its callers, on one model (building and tracing it is the cost):

    - ``generate`` gives float32 RGBA in [-1, 1], and the text reaches the image (a caption of
      another row changes it);
    - ``.weights.h5`` and ``.keras`` round trips reproduce its samples (every weight is drawn,
      so a weight lost on the way changes them);
    - ``warm_start`` (``--init-from``) copies its sampling layers into a new model, and into the
      trained networks they are the EMA of, so the new model samples as the source does.

    Seeded: with some random inits a tiny vq_transformer's sampled tokens ignored the text (seen
    once in a full run, where the global seed state depends on the tests before it)."""
    keras.utils.set_random_seed(0)
    model = tiny_model(name)
    batch = tiny_batch(model, 3)
    images = model.generate(batch["tokens"], batch["noise"])
    assert tuple(images.shape) == (3, 72, 72, 4) and images.dtype == "float32"
    values = np.asarray(images)
    assert -1.0 <= values.min() and values.max() <= 1.0
    wake_zero_initialised(model)  # the diffusion U-Net's text path starts at exactly zero
    expected = np.asarray(model.generate(batch["tokens"], batch["noise"]))
    other_text = np.asarray(model.generate(batch["wrong_tokens"], batch["noise"]))
    assert np.abs(expected - other_text).mean() > 1e-4, "the text does not reach the image"

    model.save_weights(tmp_path / "m.weights.h5")
    twin = tiny_model(name)
    twin.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_allclose(np.asarray(twin.generate(batch["tokens"], batch["noise"])), expected, atol=1e-6)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(np.asarray(loaded.generate(batch["tokens"], batch["noise"])), expected, atol=1e-6)

    rng = np.random.default_rng(0)
    for w in model.weights:  # every copy (trained and EMA) perturbed on its own: no training needed
        if w.dtype.startswith("float") and "minilm" not in w.path:  # never the shared frozen MiniLM
            w.assign(np.asarray(w) + rng.normal(0, 0.05, w.shape).astype(w.dtype))
    twin.warm_start(model)
    for mine, theirs in zip(twin.sampling_layers(), model.sampling_layers(), strict=True):
        for a, b in zip(weights_of(mine), weights_of(theirs), strict=True):
            np.testing.assert_array_equal(a, b)
    assert bool(twin.ema_pairs()) == (ema_network(twin) is not None)
    for trained, ema in twin.ema_pairs():
        for a, b in zip(weights_of(trained), weights_of(ema), strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.asarray(twin.generate(batch["tokens"], batch["noise"])),
                               np.asarray(model.generate(batch["tokens"], batch["noise"])), atol=1e-6)


# Steps until every trainable weight has had a gradient. The U-Net zero-initialises its
# output conv and each residual block's last conv (DDPM/ADM: a new block is the identity),
# so step 1 moves only the output conv, step 2 the blocks' last convs, step 3 the rest.
STEPS_TO_MOVE_ALL = {"diffusion": 3}

def wake_zero_initialised(model, seed: int = 0) -> None:
    """Random weights where a network starts at exactly zero (the U-Net's output conv and
    each block's last conv), so conditioning reaches the output without training first."""
    rng = np.random.default_rng(seed)
    for net in model.networks().values():
        for w in net.weights:
            if w.path.endswith(("conv2/kernel", "out_conv/kernel")):
                w.assign(rng.normal(0, 0.1, w.shape).astype("float32"))
    if hasattr(model, "copy_to_ema"):
        model.copy_to_ema(0.0)


def frozen_weights(model) -> dict:
    """The weights of the frozen components a model loads (``ZooModel.frozen_components``: an
    emoji CLIP, a DAMSM), by path, with their values."""
    return {w.path: (w, np.array(w)) for layer in model.frozen_components() for w in layer.weights}


# A score head's bias shifts real, fake and mismatched scores alike, so its gradient is
# exactly -1 + 0.5 + 0.5 = 0 under the hinge loss while every score is inside the margin
# (and always 0 under WGAN): it may legitimately stay still for one step.
SCORE_OFFSETS = ("real_head/bias", "conditional_head/bias")


def run_train_step_test(name: str, model=None, **overrides) -> dict:
    """One fit step (more where ``STEPS_TO_MOVE_ALL`` says why): finite losses, EVERY
    trainable weight of every network moves, an EMA copy (where the model has one) follows.

    Checking trainable weights one by one matters: a network with BatchNorm changes its statistics
    even when it gets no gradient at all, so "some weight changed" proves nothing.
    Seeded: a worker's earlier tests must not choose the weights and noise this step sees (one
    draw left some of the StyleGAN's G weights exactly unmoved after its first step).
    """
    keras.utils.set_random_seed(0)
    model = model if model is not None else tiny_model(name, **overrides)
    nets = model.networks()
    before = {n: [np.array(v) for v in net.trainable_variables] for n, net in nets.items()}
    ema = ema_network(model)
    ema_before = weights_of(ema) if ema is not None else None
    frozen_before = frozen_weights(model)
    logs = fit_steps(model, tiny_batch(model), steps=STEPS_TO_MOVE_ALL.get(name, 1))
    for path, (variable, old) in frozen_before.items():  # loaded components stay as loaded
        np.testing.assert_array_equal(np.array(variable), old, err_msg=f"frozen {path} changed")
    assert logs and all(np.isfinite(v) for v in logs.values()), logs
    for n, net in nets.items():
        frozen = [v.path for v, old in zip(net.trainable_variables, before[n], strict=True)
                  if np.allclose(np.array(v), old, rtol=0, atol=0)
                  and not v.path.endswith(SCORE_OFFSETS)]
        assert not frozen, f"{n}: trainable weights got no update: {frozen}"
    if ema is not None:
        moved = zip(ema_before, weights_of(ema), strict=True)
        assert any(not np.allclose(a, b) for a, b in moved), "EMA did not move"
    return logs


def run_checkpoint_coverage_test(model, tmp_path) -> None:
    """tf.train.Checkpoint (what runs resume from) must hold every weight of every network,
    but for the frozen MiniLM's, which every process loads from the installed package."""
    from emoji_t2i.text.minilm import MiniLM

    path = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
    stored = {k: shape for k, shape in tf.train.list_variables(path)
              if k.startswith("model/") and "OPTIMIZER_SLOT" not in k}
    installed = {id(w) for layer in model._flatten_layers() if isinstance(layer, MiniLM) for w in layer.weights}
    unique = {id(w) for w in model.weights} - installed
    assert len(stored) >= len(unique), f"checkpoint holds {len(stored)} of {len(unique)} weights"
    assert [30522, 384] not in stored.values(), "it holds the installed MiniLM's word embeddings"
