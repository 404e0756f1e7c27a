"""The denoising objective against what it must be at the schedule's ends and for an exact
denoiser, and its caption dropout rule."""

import numpy as np

from emoji_t2i.schedulers import CosineSchedule, DenoisingLoss


def batch(seed=0, n=4):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-1, 1, (n, 8, 8, 4)).astype(np.float32)
    return x0, rng.normal(size=x0.shape).astype(np.float32)


def test_an_exact_denoiser_has_zero_loss_and_a_silent_one_the_target_power():
    x0, eps = batch()
    t = np.array([0.05, 0.4, 0.6, 0.95], np.float32)
    schedule = CosineSchedule()
    alpha, sigma = (np.asarray(a)[:, None, None, None] for a in schedule.alpha_sigma(t))

    def exact(x_t, logsnr, keep):  # x0 = alpha x_t - sigma v, solved for v
        return (np.asarray(x_t) * alpha - x0) / sigma

    loss = DenoisingLoss(schedule)
    np.testing.assert_allclose(loss(exact, x0, eps, t, np.ones(4, np.float32)), 0.0, atol=1e-4)
    silent = loss(lambda x_t, logsnr, keep: np.zeros_like(x0), x0, eps, t, np.ones(4, np.float32))
    target = alpha * eps - sigma * x0
    np.testing.assert_allclose(silent, np.mean(target**2, axis=(1, 2, 3)), rtol=1e-5)


def test_captions_drop_where_the_draw_is_below_the_dropout_and_logsnr_follows_t():
    x0, eps = batch()
    t = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    seen = {}

    def record(x_t, logsnr, keep):
        seen["keep"], seen["logsnr"] = np.asarray(keep), np.asarray(logsnr)
        return np.zeros_like(x0)

    DenoisingLoss(condition_dropout=0.3)(record, x0, eps, t, np.array([0.0, 0.29, 0.3, 0.99], np.float32))
    np.testing.assert_array_equal(seen["keep"], [0.0, 0.0, 1.0, 1.0])
    np.testing.assert_allclose(seen["logsnr"], CosineSchedule().logsnr(t), rtol=1e-6)
    assert np.all(np.diff(seen["logsnr"]) < 0)  # later times are noisier
