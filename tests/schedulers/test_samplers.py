"""Schedulers against closed forms: no network, an exact "model" that knows x0."""

import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.schedulers import SAMPLERS, CosineSchedule, make_sampler


@pytest.fixture
def x0():
    return tf.constant(np.random.default_rng(0).uniform(-1, 1, (3, 8, 8, 4)), tf.float32)


def exact_denoiser(schedule, x0, calls):
    """What a perfect network predicts: the true x0, and the eps that x_t implies."""
    def denoise(x_t, t):
        calls.append(float(t))
        alpha, sigma = schedule.alpha_sigma(t)
        return x0, (x_t - alpha * x0) / sigma
    return denoise


def test_schedule_is_variance_preserving_and_spans_clean_to_noise():
    schedule = CosineSchedule()
    t = tf.linspace(0.0, 1.0, 11)
    alpha, sigma = schedule.alpha_sigma(t)
    np.testing.assert_allclose(alpha**2 + sigma**2, 1.0, atol=1e-6)
    assert np.all(np.diff(schedule.logsnr(t).numpy()) < 0)  # noise grows with t
    np.testing.assert_allclose(schedule.logsnr([0.0, 1.0]).numpy(), [15.0, -15.0], atol=1e-3)


def test_v_round_trip_recovers_x0_and_eps(x0):
    schedule = CosineSchedule()
    eps = tf.random.stateless_normal(x0.shape, seed=[1, 2])
    t = tf.constant([0.1, 0.5, 0.9])
    x_t = schedule.add_noise(x0, eps, t)
    x0_hat, eps_hat = schedule.from_v(x_t, schedule.v_target(x0, eps, t), t)
    np.testing.assert_allclose(x0_hat, x0, atol=1e-5)
    np.testing.assert_allclose(eps_hat, eps, atol=1e-5)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@pytest.mark.parametrize("num_steps", [1, 4, 20])
def test_exact_model_round_trip_and_one_call_per_step(name, num_steps, x0):
    schedule = CosineSchedule()
    calls = []
    x_T = schedule.add_noise(x0, tf.random.stateless_normal(x0.shape, seed=[3, 4]), tf.ones([3]))
    out = make_sampler(name, schedule).sample(exact_denoiser(schedule, x0, calls), x_T, num_steps, seed=7)
    np.testing.assert_allclose(out, x0, atol=1e-5)
    assert len(calls) == num_steps
    np.testing.assert_allclose(calls, 1.0 - np.arange(num_steps) / num_steps, atol=1e-6)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_a_partial_start_covers_start_time_to_zero_and_stays_on_the_path(name, x0):
    """SDEdit's contract: from x_t at t = 0.4 the steps visit 0.4 ... 0.4/n and, for an exact
    model, every state fed to it carries the starting noise (DDIM, DPM-Solver: deterministic)."""
    schedule = CosineSchedule()
    eps = tf.random.stateless_normal(x0.shape, seed=[8, 9])
    calls, implied = [], []

    def denoise(x_t, t):
        calls.append(float(t))
        alpha, sigma = schedule.alpha_sigma(t)
        implied.append(((x_t - alpha * x0) / sigma).numpy())
        return x0, (x_t - alpha * x0) / sigma

    start = schedule.add_noise(x0, eps, tf.fill([3], 0.4))
    out = make_sampler(name, schedule).sample(denoise, start, 5, seed=3, start_time=0.4)
    np.testing.assert_allclose(out, x0, atol=1e-5)
    np.testing.assert_allclose(calls, 0.4 * (1.0 - np.arange(5) / 5), atol=1e-6)
    if name != "ddpm":
        for e in implied:
            np.testing.assert_allclose(e, eps, atol=1e-3)


def test_dpm_solver_is_exact_along_the_path_for_a_perfect_model(x0):
    """With the true x0, every multistep update lands on alpha_s x0 + sigma_s eps: check the
    state fed to the model at each step has the same eps the start had."""
    schedule = CosineSchedule()
    eps = tf.random.stateless_normal(x0.shape, seed=[5, 6])
    seen = []

    def denoise(x_t, t):
        alpha, sigma = schedule.alpha_sigma(t)
        seen.append(((x_t - alpha * x0) / sigma).numpy())
        return x0, (x_t - alpha * x0) / sigma

    start = schedule.add_noise(x0, eps, tf.ones([3]))
    make_sampler("dpm_solver", schedule).sample(denoise, start, 8)
    for implied in seen:
        np.testing.assert_allclose(implied, eps, atol=1e-3)


def test_stochastic_sampler_needs_a_seed_and_is_deterministic_given_one(x0):
    schedule = CosineSchedule()
    calls = []
    sampler = make_sampler("ddpm", schedule)
    blurry = lambda x, t: (0.5 * x, x)  # noqa: E731  (an imperfect model: output follows x_t)
    with pytest.raises(ValueError, match="seed"):
        sampler.sample(exact_denoiser(schedule, x0, calls), x0, 4)
    a = sampler.sample(blurry, x0, 4, seed=1)
    np.testing.assert_array_equal(a, sampler.sample(blurry, x0, 4, seed=1))
    assert np.abs(a - sampler.sample(blurry, x0, 4, seed=2)).max() > 1e-3


def test_unknown_sampler_names_the_choices():
    with pytest.raises(ValueError, match="ddim, ddpm, dpm_solver"):
        make_sampler("euler", CosineSchedule())


def test_higher_orders_follow_the_probability_flow_of_gaussian_data_more_closely():
    """For data x0 ~ N(0, s^2) the ideal denoiser is x0 = alpha s^2 x_t / (alpha^2 s^2 + sigma^2)
    and the probability-flow ODE scales x_T by sqrt(alpha_0^2 s^2 + sigma_0^2) /
    sqrt(alpha_1^2 s^2 + sigma_1^2): the error at 8 steps must fall with the solver's order
    (measured 0.28, 0.12, 0.10; at 20 steps 0.12, 0.005, 0.002)."""
    schedule, s2 = CosineSchedule(), 0.25

    def denoise(x_t, t):
        alpha, sigma = schedule.alpha_sigma(t)
        x0 = alpha * s2 * x_t / (alpha**2 * s2 + sigma**2)
        return x0, (x_t - alpha * x0) / sigma

    x_T = tf.random.stateless_normal([4, 8, 8, 4], seed=[7, 7])
    (a0, s0), (a1, s1) = (schedule.alpha_sigma(tf.constant(t)) for t in (0.0, 1.0))
    exact = x_T * tf.sqrt(a0**2 * s2 + s0**2) / tf.sqrt(a1**2 * s2 + s1**2)
    exact_x0 = denoise(exact, tf.constant(0.0))[0]
    errors = [float(tf.reduce_max(tf.abs(make_sampler(name, schedule).sample(denoise, x_T, 8) - exact_x0)))
              for name in ("ddim", "dpm_solver", "dpm_solver_3m")]
    assert errors[0] > errors[1] > errors[2], errors


@pytest.mark.parametrize("num_steps", [1, 2, 6])
def test_the_keras_ops_solver_takes_the_samplers_steps(num_steps):
    """The keras.ops DPM-Solver++(2M) that a JAX trainer compiles is the SavedModel's sampler."""
    from emoji_t2i.schedulers.dpm_solver import dpm_solver_2m

    schedule, s2 = CosineSchedule(), 0.25

    def denoise(x_t, t):  # the ideal denoiser of N(0, s^2) data: not exact along the path
        alpha, sigma = schedule.alpha_sigma(t)
        x0 = alpha * s2 * x_t / (alpha**2 * s2 + sigma**2)
        return x0, (x_t - alpha * x0) / sigma

    x_T = tf.random.stateless_normal([2, 8, 8, 4], seed=[3, 3])
    expected = make_sampler("dpm_solver", schedule).sample(denoise, x_T, num_steps)
    np.testing.assert_allclose(dpm_solver_2m(denoise, x_T, num_steps, schedule), expected, atol=1e-5)
