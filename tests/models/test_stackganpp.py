"""Seed 001's StackGAN++: its colour-consistency term and multi-scale outputs. The shared
behaviour (a step trains G and D and leaves the loaded CLIP frozen, saving, mixed precision)
runs in tests/models/test_zoo.py; the command line in tests/training/test_seed_cli.py."""

import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.models.stackganpp import color_consistency
from tests.harness import tiny_batch, tiny_model


def test_color_consistency_is_zero_across_scales_of_one_image_and_grows_with_a_colour_change():
    rng = np.random.default_rng(0)
    small = tf.constant(rng.uniform(-1, 1, (2, 18, 18, 4)).astype("float32"))
    large = tf.image.resize(small, (36, 36), method="nearest")
    np.testing.assert_allclose(color_consistency(small, large).numpy(), 0.0, atol=1e-10)
    tinted = tf.concat([large[..., :1] + 0.5, large[..., 1:]], -1)
    assert (color_consistency(small, tinted).numpy() > 0.2).all()  # the mean moved by 0.5


def test_generator_draws_three_scales_and_samples_the_last():
    model = tiny_model("stackganpp")
    batch = tiny_batch(model, 2)
    text = model.embed_text(batch["text_features"])
    np.testing.assert_allclose(np.linalg.norm(text, axis=-1), 1.0, rtol=1e-5)
    images = model.ema_generator([batch["noise"], text])
    assert [tuple(x.shape) for x in images] == [(2, s, s, 4) for s in (18, 36, 72)]


def test_a_clip_of_the_wrong_model_or_none_is_refused():
    from emoji_t2i.models import get_model_class

    cls = get_model_class("stackganpp")
    with pytest.raises(ValueError, match="--set clip_run=RUN_DIR"):
        cls.pin_sources({}, lambda path: {})
    with pytest.raises(ValueError, match="a 'vq' run, not a clip one"):
        cls.pin_sources({"clip_run": "runs/x"}, lambda path: {"model": "vq"})
    pinned = cls.pin_sources({"clip_run": "runs/c"}, lambda p: {"model": "clip", "hparams": {"embed_dim": 16}})
    assert pinned["clip_config"] == {"embed_dim": 16, "widths": [32, 64, 128]}
