"""Seeds 001 and 003: StackGAN++'s colour consistency and scales, AttnGAN's word attention and
DAMSM's losses at known answers. The shared behaviour (a step trains G and D and leaves the
loaded CLIP or DAMSM frozen, saving, mixed precision) runs in tests/models/test_zoo.py; the
command line in tests/training/test_seed_cli.py."""

import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.models.damsm import damsm_losses
from emoji_t2i.models.multiscale_gan import color_consistency
from emoji_t2i.networks.attention import (
    paired_region_attention,
    region_context,
    word_context,
    word_match_scores,
)
from tests.harness import tiny_batch, tiny_model


def test_color_consistency_is_zero_across_scales_of_one_image_and_grows_with_a_colour_change():
    rng = np.random.default_rng(0)
    small = tf.constant(rng.uniform(-1, 1, (2, 18, 18, 4)).astype("float32"))
    large = tf.image.resize(small, (36, 36), method="nearest")
    np.testing.assert_allclose(color_consistency(small, large).numpy(), 0.0, atol=1e-10)
    tinted = tf.concat([large[..., :1] + 0.5, large[..., 1:]], -1)
    assert (color_consistency(small, tinted).numpy() > 0.2).all()  # the mean moved by 0.5


def test_generator_draws_three_scales_and_samples_the_last():
    model = tiny_model("stackganpp", residual_blocks=2)
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
    with pytest.raises(ValueError, match="a 'vq' model, not a clip"):
        cls.pin_sources({"clip_run": "runs/x"}, lambda path: {"model": "vq"})
    pinned = cls.pin_sources({"clip_run": "runs/c"}, lambda p: {"model": "clip", "hparams": {"embed_dim": 16}})
    assert pinned["clip_config"] == {"embed_dim": 16, "widths": [32, 64, 128]}


def test_word_attention_sums_to_one_over_the_real_words_and_ignores_padding():
    rng = np.random.default_rng(0)
    queries, words = rng.normal(size=(2, 5, 8)), rng.normal(size=(2, 4, 8))
    mask = np.array([[1, 1, 1, 0], [1, 0, 0, 0]], bool)
    context, weights = word_context(queries, words, mask)
    weights = np.asarray(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)
    assert np.all(weights[0, :, 3] == 0) and np.all(weights[1, :, 1:] == 0)
    np.testing.assert_allclose(np.asarray(context)[1], np.repeat(words[1, :1], 5, 0), rtol=1e-5)
    padded = words.copy()
    padded[0, 3] = 100.0  # whatever a padding slot holds changes nothing
    np.testing.assert_allclose(np.asarray(word_context(queries, padded, mask)[0]), np.asarray(context), rtol=1e-6)


def test_damsm_attention_normalises_over_regions_and_its_scores_ignore_padding():
    rng = np.random.default_rng(1)
    words, regions = rng.normal(size=(3, 4, 8)), rng.normal(size=(2, 6, 8))
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], bool)
    _, alpha = region_context(words, regions, mask)
    assert alpha.shape == (3, 2, 4, 6)
    np.testing.assert_allclose(np.asarray(alpha).sum(-1), 1.0, rtol=1e-5)
    paired = paired_region_attention(words[:2], regions, mask[:2])  # caption b with image b
    np.testing.assert_allclose(np.asarray(paired), np.asarray(alpha)[[0, 1], [0, 1]], rtol=1e-5)
    scores = np.asarray(word_match_scores(words, regions, mask))
    noisy = words.copy()
    noisy[0, 2:] = rng.normal(size=(2, 8)) * 10
    np.testing.assert_allclose(np.asarray(word_match_scores(noisy, regions, mask)), scores, rtol=1e-5)


def test_damsm_losses_are_log_n_without_signal_and_near_zero_for_matched_pairs():
    n, dim = 4, 8
    none = -np.ones(n, np.int32)
    flat = np.ones((n, 3, dim), np.float32)
    word, sentence = damsm_losses(flat, flat[:, 0], np.ones((n, 3), bool), flat, flat[:, 0], none)
    np.testing.assert_allclose(np.asarray(word), np.log(n), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(sentence), np.log(n), rtol=1e-5)
    # caption i is the single word e_i and every region of image i is e_i
    eye = np.eye(n, dim, dtype=np.float32)
    words = eye[:, None, :].repeat(3, 1)
    mask = np.zeros((n, 3), bool)
    mask[:, 0] = True
    word, sentence = damsm_losses(words, eye, mask, eye[:, None, :].repeat(6, 1), eye, none)
    assert float(np.max(word)) < 1e-3 and float(np.max(sentence)) < 1e-3
    mask[0] = False  # a caption with no known word: finite losses, it matches nothing
    word, _ = damsm_losses(words, eye, mask, eye[:, None, :].repeat(6, 1), eye, none)
    assert np.isfinite(np.asarray(word)).all() and float(np.max(word)) < 2 * np.log(n)


def test_attngan_generator_attends_with_the_damsm_words():
    model = tiny_model("attngan", residual_blocks=1)
    batch = tiny_batch(model, 2)
    sentence, (words, mask) = model.condition(batch["tokens"])
    assert tuple(words.shape) == (2, 16, 8) and np.asarray(mask)[:, 6:].sum() == 0
    a = np.asarray(model.ema_generator([batch["noise"], sentence, words, mask])[-1])
    b = np.asarray(model.ema_generator([batch["noise"], sentence, words[::-1], mask[::-1]])[-1])
    assert np.abs(a - b).mean() > 1e-6  # the words reach the image through attention


def test_damsm_attention_maps_cover_each_word_with_a_distribution_over_18x18_regions():
    model = tiny_model("damsm")
    batch = tiny_batch(model, 2)
    maps, mask = model.attention_maps(batch["tokens"], batch["images"])
    assert tuple(maps.shape) == (2, 16, 18, 18)
    np.testing.assert_allclose(np.asarray(maps).sum((2, 3)), 1.0, rtol=1e-5)


def test_conditioning_augmentation_kl_at_known_answers():
    from emoji_t2i.models.stackgan import ConditioningAugmentation

    ca = ConditioningAugmentation(2)
    code, eps = np.ones((1, 3), np.float32), np.zeros((1, 2), np.float32)
    ca(code, eps)  # builds
    ca.dense.kernel.assign(np.zeros((3, 4), np.float32))
    ca.dense.bias.assign(np.zeros(4, np.float32))  # mu = 0, sigma = 1: the prior itself
    condition, kl = ca(code, eps)
    np.testing.assert_allclose(np.asarray(kl), 0.0, atol=1e-7)
    ca.dense.bias.assign(np.array([1.0, 2.0, np.log(4.0), 0.0], np.float32))  # mu (1, 2), sigma^2 (4, 1)
    condition, kl = ca(code, eps)
    expected = 0.5 * ((1 + 4 - 1 - np.log(4.0)) + (4 + 1 - 1 - 0))
    np.testing.assert_allclose(np.asarray(kl), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ca(code, np.ones((1, 2), np.float32))[0]), [[3.0, 3.0]], rtol=1e-6)
