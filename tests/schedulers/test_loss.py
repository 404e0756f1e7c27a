"""The denoising objective against what it must be at the schedule's ends and for an exact
denoiser, and its caption dropout rule."""

import numpy as np
import pytest

from emoji_t2i.schedulers import CosineSchedule, DenoisingLoss

TEXT = np.random.default_rng(9).normal(0, 0.05, (4, 16)).astype(np.float32)


def batch(seed=0, n=4):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-1, 1, (n, 8, 8, 4)).astype(np.float32)
    return x0, rng.normal(size=x0.shape).astype(np.float32)


def test_an_exact_denoiser_has_zero_loss_and_a_silent_one_the_target_power():
    x0, eps = batch()
    t = np.array([0.05, 0.4, 0.6, 0.95], np.float32)
    schedule = CosineSchedule()
    alpha, sigma = (np.asarray(a)[:, None, None, None] for a in schedule.alpha_sigma(t))

    def exact(x_t, logsnr, text, keep):  # x0 = alpha x_t - sigma v, solved for v
        return (np.asarray(x_t) * alpha - x0) / sigma

    loss = DenoisingLoss(schedule)
    np.testing.assert_allclose(loss(exact, x0, eps, t, np.ones(4, np.float32), TEXT), 0.0, atol=1e-4)
    silent = loss(lambda x_t, logsnr, text, keep: np.zeros_like(x0), x0, eps, t, np.ones(4, np.float32), TEXT)
    target = alpha * eps - sigma * x0
    np.testing.assert_allclose(silent, np.mean(target**2, axis=(1, 2, 3)), rtol=1e-5)


def test_captions_drop_where_the_draw_is_below_the_dropout_and_logsnr_follows_t():
    x0, eps = batch()
    t = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    seen = {}

    def record(x_t, logsnr, text, keep):
        seen["keep"], seen["logsnr"] = np.asarray(keep), np.asarray(logsnr)
        return np.zeros_like(x0)

    DenoisingLoss(condition_dropout=0.3)(record, x0, eps, t, np.array([0.0, 0.29, 0.3, 0.99], np.float32), TEXT)
    np.testing.assert_array_equal(seen["keep"], [0.0, 0.0, 1.0, 1.0])
    np.testing.assert_allclose(seen["logsnr"], CosineSchedule().logsnr(t), rtol=1e-6)
    assert np.all(np.diff(seen["logsnr"]) < 0)  # later times are noisier


def test_text_noise_is_sized_by_the_features_and_off_by_default():
    x0, eps = batch()
    t, keep = np.full(4, 0.5, np.float32), np.ones(4, np.float32)
    draw = np.random.default_rng(3).normal(size=TEXT.shape).astype(np.float32)
    seen = []

    def record(x_t, logsnr, text, keep):
        seen.append(np.asarray(text))
        return np.zeros_like(x0)

    DenoisingLoss()(record, x0, eps, t, keep, TEXT, draw)
    np.testing.assert_array_equal(seen[-1], TEXT)  # text_noise 0: the draw is ignored
    DenoisingLoss(text_noise=0.1)(record, x0, eps, t, keep, TEXT, draw)
    noise = seen[-1] - TEXT
    rms = np.sqrt(np.mean(TEXT**2, axis=-1, keepdims=True))
    np.testing.assert_allclose(noise, 0.1 * rms * draw, rtol=1e-4, atol=1e-7)
    # 0.1 of the RMS: 20 dB signal-to-noise per example
    snr = 10 * np.log10(np.mean(TEXT**2, -1) / np.mean(noise**2, -1))
    assert np.all(np.abs(snr - 20) < 3)
    with pytest.raises(ValueError, match="text_draw"):
        DenoisingLoss(text_noise=0.1)(record, x0, eps, t, keep, TEXT)


def test_geometric_augmentation_tells_the_network_what_it_did_and_is_off_by_default():
    """EDM's non-leaky augmentation: a transformed image comes with non-zero labels; where no
    transform is drawn (every draw >= p) the image and the loss are the plain ones, labels 0."""
    from emoji_t2i.networks.augment import GEOMETRY_LABELS, GEOMETRY_PARAMS, geometric_augment

    rng = np.random.default_rng(4)
    x0 = np.full((4, 72, 72, 4), -1.0, np.float32)
    x0[:, 20:52, 30:42] = rng.uniform(-1, 1, (4, 32, 12, 4))  # an off-centre shape on transparency
    eps, t, keep = rng.normal(size=x0.shape).astype(np.float32), np.full(4, 0.3, np.float32), np.ones(4, np.float32)
    draw = rng.uniform(0, 1, (4, GEOMETRY_PARAMS)).astype(np.float32)
    draw[1, [0, 3, 5, 7]] = 0.99  # example 1 draws no transform at p = 0.5
    draw[0, [0, 3, 5, 7]] = 0.01  # example 0 draws all four
    seen = {}

    def record(x_t, logsnr, text, keep, *labels):
        seen["labels"] = labels
        seen["x_t"] = np.asarray(x_t)
        return np.zeros_like(x0)

    plain = DenoisingLoss()(record, x0, eps, t, keep, TEXT)
    assert seen["labels"] == ()  # off by default: the network is called as before
    plain_x_t = seen["x_t"]
    augmented = DenoisingLoss(augment_probability=0.5)(record, x0, eps, t, keep, TEXT, None, draw)
    labels = np.asarray(seen["labels"][0])
    assert labels.shape == (4, GEOMETRY_LABELS)
    assert np.all(labels[1] == 0) and np.abs(labels[0]).min() > 0
    np.testing.assert_allclose(seen["x_t"][1], plain_x_t[1], atol=1e-5)  # untouched
    assert np.abs(seen["x_t"][0] - plain_x_t[0]).max() > 0.1
    np.testing.assert_allclose(np.asarray(augmented)[1], np.asarray(plain)[1], rtol=1e-5)
    images, _ = geometric_augment(x0, draw, 1.0)
    assert np.asarray(images).min() >= -1.0 - 1e-6  # transparency fills what moved in
    with pytest.raises(ValueError, match="augment_draw"):
        DenoisingLoss(augment_probability=0.5)(record, x0, eps, t, keep, TEXT)
