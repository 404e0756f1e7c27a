"""Guided progressive distillation's objective: one student step with the target lands where
two teacher steps do, an exact teacher's target is the data, the guided teacher guides only
inside its interval from one batched call, and a tiny student trained on the loss learns."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.schedulers import CosineSchedule, GuidedDistillationLoss, guided_teacher
from emoji_t2i.schedulers.distillation import ddim_step

TEXT = np.random.default_rng(9).normal(0, 0.05, (4, 16)).astype(np.float32)


def batch(seed=0, n=4):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-1, 1, (n, 8, 8, 4)).astype(np.float32)
    return x0, rng.normal(size=x0.shape).astype(np.float32)


def linear_teacher(x_t, logsnr, text, guidance):
    """A made-up teacher whose two steps differ from one: v depends on x_t, time and guidance."""
    per_example = lambda a: np.asarray(a)[:, None, None, None]  # noqa: E731
    return 0.3 * x_t * per_example(guidance) + 0.1 * np.tanh(per_example(logsnr))


@pytest.mark.parametrize("student_steps", [1, 4, 8])
def test_one_step_with_the_target_lands_where_two_teacher_steps_do(student_steps):
    x0, eps = batch()
    loss = GuidedDistillationLoss(student_steps)
    draws = np.array([0.0, 0.3, 0.61, 0.999], np.float32)
    guidance = np.array([1.0, 2.0, 3.0, 5.0], np.float32)
    t, middle, s = (np.asarray(a) for a in loss.times(draws))
    np.testing.assert_allclose(t - s, 1.0 / student_steps, rtol=1e-6)  # the samplers' uniform grid
    np.testing.assert_allclose(t, 1.0 - np.floor(draws * student_steps) / student_steps, rtol=1e-6)
    schedule = loss.schedule
    x_t = np.asarray(schedule.add_noise(x0, eps, t))
    two = ddim_step(schedule, x_t, linear_teacher(x_t, schedule.logsnr(t), TEXT, guidance), t, middle)
    two = ddim_step(schedule, two, linear_teacher(two, schedule.logsnr(middle), TEXT, guidance), middle, s)
    target = loss.target(linear_teacher, x_t, t, middle, s, TEXT, guidance)
    one = ddim_step(schedule, x_t, target, t, s)
    np.testing.assert_allclose(np.asarray(one), np.asarray(two), atol=2e-4)
    # the student that predicts the target has zero loss; the teacher itself does not
    assert np.all(np.asarray(loss(lambda *a: target, linear_teacher, x0, eps, draws, guidance, TEXT)) < 1e-8)
    assert np.all(np.asarray(loss(linear_teacher, linear_teacher, x0, eps, draws, guidance, TEXT)) > 1e-4)


def test_an_exact_teacher_teaches_the_data():
    """For a teacher that knows x0, every DDIM step is exact, so the target is x0's own v."""
    x0, eps = batch(1)
    schedule = CosineSchedule()

    def exact(x_t, logsnr, text, guidance):
        alpha, sigma = (np.sqrt(tf.sigmoid(a))[:, None, None, None] for a in (logsnr, -logsnr))
        return (np.asarray(x_t) * alpha - x0) / sigma

    loss = GuidedDistillationLoss(4, schedule)
    draws = np.array([0.1, 0.3, 0.6, 0.9], np.float32)
    t, middle, s = loss.times(draws)
    x_t = schedule.add_noise(x0, eps, t)
    np.testing.assert_allclose(np.asarray(loss.target(exact, x_t, t, middle, s, TEXT, np.ones(4))),
                               np.asarray(schedule.v_target(x0, eps, t)), atol=1e-3)


def test_the_guided_teacher_guides_inside_its_interval_from_one_batched_call():
    calls = []

    def network(x_t, logsnr, text, keep):
        calls.append(int(np.shape(x_t)[0]))
        keep = np.asarray(keep)[:, None, None, None]
        return keep * 2.0 + (1 - keep) * 1.0 + 0 * np.asarray(x_t)  # v_cond = 2, v_null = 1

    x = np.zeros((2, 4, 4, 4), np.float32)
    guidance = np.array([3.0, 3.0], np.float32)
    # sigma / alpha = exp(-logsnr / 2): 1 (inside (0.28, 5.42]) and 20 (outside)
    logsnr = np.array([0.0, -2 * np.log(20.0)], np.float32)
    v = np.asarray(guided_teacher(network, (0.28, 5.42))(x, logsnr, TEXT[:2], guidance))
    assert calls == [4]  # the caption and the null caption in one call
    np.testing.assert_allclose(v[0], 1.0 + 3.0 * (2.0 - 1.0))
    np.testing.assert_allclose(v[1], 2.0)  # guidance 1 outside: the conditional prediction
    np.testing.assert_allclose(np.asarray(guided_teacher(network)(x, logsnr, TEXT[:2], guidance)), 4.0)


def test_a_tiny_student_moves_towards_two_teacher_steps():
    """A distillation step on a tiny U-Net: from the teacher's weights plus a zero-initialised
    guidance input, a few Adam steps on one batch lower the loss."""
    from emoji_t2i.networks.unet import TextConditionedUNet

    keras.utils.set_random_seed(0)
    tiny = {"text_dim": 16, "widths": (8, 16), "blocks": 1, "embedding_dim": 16}
    teacher = TextConditionedUNet(**tiny, name="denoiser")
    teacher.build(None)
    rng = np.random.default_rng(2)
    for w in teacher.weights:  # a teacher that does something (its last conv starts at zero)
        w.assign(rng.normal(0, 0.1, w.shape).astype("float32"))
    student = TextConditionedUNet(**tiny, guidance_input=True, name="denoiser")
    student.build(None)
    from emoji_t2i.training.jax_distill import copy_by_path

    copy_by_path(student, teacher)
    x0, eps = batch(3)
    x0, eps = np.pad(x0, ((0, 0), (32, 32), (32, 32), (0, 0))), rng.normal(size=(4, 72, 72, 4)).astype("float32")
    guidance, draws = np.array([1.0, 2.0, 3.0, 4.0], np.float32), np.array([0.1, 0.4, 0.6, 0.9], np.float32)
    teacher_fn = guided_teacher(lambda x, s, c, k: teacher((x, s, c, k)), (0.28, 5.42))
    ones = tf.ones((4,))
    # before training the student is the teacher's conditional prediction (guidance input at zero)
    logsnr = tf.constant([0.0, 1.0, -1.0, 2.0])
    np.testing.assert_allclose(student((x0, logsnr, TEXT, ones, guidance)), teacher((x0, logsnr, TEXT, ones)),
                               atol=1e-5)
    loss = GuidedDistillationLoss(2)
    optimizer = keras.optimizers.Adam(1e-2)

    def value():
        return tf.reduce_mean(loss(lambda x, s, c, g: student((x, s, c, ones, g), training=True), teacher_fn,
                                   x0, eps, draws, guidance, TEXT))

    losses = []
    for _ in range(10):
        with tf.GradientTape() as tape:
            current = value()
        optimizer.apply_gradients(zip(tape.gradient(current, student.trainable_variables),
                                      student.trainable_variables, strict=True))
        losses.append(float(current))
    final = float(value())
    assert final < 0.85 * losses[0] and all(b < a for a, b in zip(losses, losses[1:], strict=False)), (losses, final)
