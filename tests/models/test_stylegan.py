"""What only the StyleGAN does: ADA's controller and augmentation, lazy R1, style mixing,
truncation, the unconditional default, and the w-space tools (SeFa, blending, projection)."""

import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.networks.augment import ADA_PARAMS, ada_augment, adjust_probability
from tests.harness import fit_steps, tiny_batch, tiny_model


def test_ada_augment_is_identity_at_p0_and_keeps_transparency(tiny):
    images = tf.constant(tiny.images[:8].astype(np.float32) / 127.5 - 1.0)
    params = tf.random.stateless_uniform((8, ADA_PARAMS), seed=[1, 2])
    np.testing.assert_allclose(np.asarray(ada_augment(images, params, 0.0)), images.numpy(), atol=1e-5)
    moved = np.asarray(ada_augment(images, params, 1.0))
    assert np.abs(moved - images.numpy()).mean() > 0.05
    alpha = moved[..., 3]  # colour ops may leave [-1, 1] (ADA does not clip); alpha may not
    assert alpha.min() >= -1.0 - 1e-5 and alpha.max() <= 1.0 + 1e-5 and np.isfinite(moved).all()
    corners = moved[:, [0, 0, -1, -1], [0, -1, 0, -1], 3]  # emoji corners are transparent, and stay so
    assert np.mean(corners < -0.9) > 0.5


def test_ada_controller_moves_p_towards_the_target():
    assert float(adjust_probability(0.2, 0.9, 1000, target=0.6, speed_images=10_000)) == pytest.approx(0.3)
    assert float(adjust_probability(0.2, 0.1, 1000, target=0.6, speed_images=10_000)) == pytest.approx(0.1)
    assert float(adjust_probability(0.0, 0.1, 1000)) == 0.0 and float(adjust_probability(1.0, 1.0, 10**6)) == 1.0


def test_ada_raises_p_and_the_lazy_regularisers_run_on_their_intervals():
    """One model for three schedules (a tiny StyleGAN's step costs ~15 s to trace): with the
    ADA target below any r_t, every interval raises p by batch/speed; R1 runs on even steps
    only; the path-length penalty, due at step 0, moves its running mean off 0."""
    model = tiny_model("stylegan", conditional=False, ada_target=-2.0, ada_interval=1, ada_speed_images=40,
                       r1_interval=2, pl_weight=2.0)
    logs = fit_steps(model, tiny_batch(model), steps=1)  # step 0: R1 and path length due
    assert all(np.isfinite(v) for v in logs.values()) and logs["r1_penalty"] > 0
    assert float(model.pl_mean) > 0
    logs = fit_steps(model, tiny_batch(model), steps=1)  # step 1: R1 not due (a new fit resets the mean)
    assert logs["r1_penalty"] == 0
    assert float(model.discriminator.augment_probability) == pytest.approx(2 * 4 / 40, abs=1e-5)
    off = tiny_model("stylegan", ada=False)
    fit_steps(off, tiny_batch(off), steps=2)
    assert float(off.discriminator.augment_probability) == 0.0


def test_unconditional_default_ignores_the_prompt_and_truncation_pulls_to_the_mean():
    model = tiny_model("stylegan", conditional=False)
    batch = tiny_batch(model, 3)
    a = np.asarray(model.generate(batch["tokens"], batch["noise"]))
    b = np.asarray(model.generate(batch["wrong_tokens"], batch["noise"]))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a[0] - a[1]).mean() > 1e-4  # different z, different emoji
    mean = np.asarray(model.sample(batch["tokens"], batch["noise"], truncation_psi=0.0))
    np.testing.assert_allclose(mean[0], mean[1], atol=1e-6)  # psi 0: every z gives the mean w's image


def test_style_mixing_takes_the_second_w_after_the_crossover():
    model = tiny_model("stylegan", conditional=False, mixing_prob=1.0)
    batch = tiny_batch(model, 2)
    ws = np.asarray(model.mixed_ws(batch["noise"], batch["mix_noise"], np.array([[0.0, 0.0], [0.0, 0.99]],
                                                                                 "float32"), batch["tokens"]))
    first = np.asarray(model.generator.mapping([batch["noise"], batch["tokens"]]))
    second = np.asarray(model.generator.mapping([batch["mix_noise"], batch["tokens"]]))
    np.testing.assert_allclose(ws[0, 0], first[0], atol=1e-6)  # crossover after layer 0
    np.testing.assert_allclose(ws[0, 1:], np.broadcast_to(second[0], ws[0, 1:].shape), atol=1e-6)
    np.testing.assert_allclose(ws[1, :-1], np.broadcast_to(first[1], ws[1, :-1].shape), atol=1e-6)
    np.testing.assert_allclose(ws[1, -1], second[1], atol=1e-6)  # crossover before the last layer


@pytest.fixture(scope="module")
def tiny_pipes():
    from emoji_t2i.pipelines.stylegan import StyleGANPipeline
    from emoji_t2i.text.tokenizers import make_tokenizer

    tokenizer = make_tokenizer("word", ["a cat", "a dog"], 16)
    pipes = []
    for seed in (0, 1):
        tf.random.set_seed(seed)
        model = tiny_model("stylegan", compile=False, conditional=False)
        model.build_for_sampling(16)
        pipes.append(StyleGANPipeline(model, tokenizer, {"model": "stylegan"}))
    return pipes


def test_sefa_directions_are_orthonormal_and_move_the_image(tiny_pipes):
    pipe = tiny_pipes[0]
    d = pipe.directions(k=3, layers="all", samples=64)
    np.testing.assert_allclose(d.vectors @ d.vectors.T, np.eye(3), atol=1e-5)
    assert np.all(np.diff(d.eigenvalues) <= 1e-6) and np.all(d.stds > 0)
    w = pipe.latents(1, seed=0)
    np.testing.assert_array_equal(pipe.synthesize(pipe.edit(w, d, [0, 0, 0])), pipe.synthesize(w))
    assert np.abs(pipe.synthesize(pipe.edit(w, d, [3, 0, 0])).astype(int) - pipe.synthesize(w)).mean() > 0.5


def test_blending_swaps_layers_above_the_level(tiny_pipes):
    first, second = tiny_pipes
    w = first.latents(2, seed=0)
    at_top = first.blend(second, level=72)  # every layer from the first
    np.testing.assert_array_equal(at_top.synthesize(w), first.synthesize(w))
    blended = first.blend(second, level=18)
    synthesis = blended.generator.synthesis
    for name, size in synthesis.slots:
        source = first if size <= 18 else second
        for a, b in zip(getattr(synthesis, name).get_weights(), getattr(source.generator.synthesis, name).get_weights(),
                        strict=True):
            np.testing.assert_array_equal(a, b)
    assert np.abs(blended.synthesize(w).astype(int) - first.synthesize(w)).mean() > 0.1
    for a, b in zip(blended.model.discriminator.get_weights(), first.model.discriminator.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # a saved blend projects and fine-tunes with the first model's D


def test_projection_lowers_its_loss_towards_a_generated_image(tiny_pipes):
    pipe = tiny_pipes[0]
    target = pipe.sample(1, seed=5)[0]
    w, image, losses = pipe.project(target, steps=30, learning_rate=0.1)
    assert losses[-1] < 0.7 * losses[0], losses[[0, -1]]
    assert w.shape == (1, pipe.model.w_dim) and image.shape == (1, 72, 72, 4)
    with pytest.raises(ValueError, match="72x72 RGBA uint8"):
        pipe.project(np.zeros((10, 10, 3), np.uint8))


def test_style_mixing_at_sampling_takes_coarse_layers_from_the_first_w(tiny_pipes):
    pipe = tiny_pipes[0]
    a, b = pipe.latents(1, seed=0), pipe.latents(1, seed=1)
    mixed = pipe.mix(a, b, crossover=36)
    coarse = np.asarray(pipe.generator.synthesis.layer_resolutions) < 36
    np.testing.assert_array_equal(mixed[0, coarse], np.broadcast_to(a[0], mixed[0, coarse].shape))
    np.testing.assert_array_equal(mixed[0, ~coarse], np.broadcast_to(b[0], mixed[0, ~coarse].shape))
    image = pipe.synthesize(mixed)
    assert image.shape == (1, 72, 72, 4)
    assert not np.array_equal(image, pipe.synthesize(a)) and not np.array_equal(image, pipe.synthesize(b))
