"""Behaviour every zoo model shares, run on each registered model with the tiny harness."""

import keras
import numpy as np
import pytest

from emoji_t2i.models import get_model_class, list_models
from tests.harness import (
    TINY,
    fit_steps,
    image_output_layers,
    run_checkpoint_coverage_test,
    run_generator_test,
    run_train_step_test,
    tiny_batch,
    tiny_model,
)

MODELS = list_models()
GENERATORS = [m for m in MODELS if getattr(get_model_class(m), "is_generator", True)]


@pytest.fixture(autouse=True)
def float32_policy():
    yield
    keras.config.set_dtype_policy("float32")


def test_every_registered_model_has_a_tiny_config():
    assert set(MODELS) == set(TINY)


@pytest.mark.parametrize("name", MODELS)
def test_the_checkpoint_holds_every_weight_and_one_step_moves_each(name, tmp_path):
    keras.utils.set_random_seed(0)
    model = tiny_model(name)
    run_checkpoint_coverage_test(model, tmp_path)
    run_train_step_test(name, model=model)


@pytest.mark.parametrize("name", GENERATORS)
def test_generates_in_range_from_its_text_round_trips_saving_and_warm_starts(name, tmp_path):
    run_generator_test(name, tmp_path)


# bfloat16 runs the same casts as float16 without loss scaling: one model per training step
# family (GAN, diffusion, token prior) covers it.
BFLOAT16 = ("cgan", "diffusion", "vq_transformer")


# lstm_gan, the multi-stage GANs and the StyleGAN scale their losses through the GAN base's
# optimizers, as cgan does; diffusion's bfloat16 run has no loss scaling to check (its float16
# run has): their runs (9-27 s each) are kept for -m slow
SLOW_MIXED = {("lstm_gan", "mixed_float16"), ("stackgan", "mixed_float16"), ("stackganpp", "mixed_float16"),
              ("attngan", "mixed_float16"), ("stylegan", "mixed_float16"), ("diffusion", "mixed_bfloat16")}


@pytest.mark.parametrize("name,policy", [pytest.param(n, p, marks=pytest.mark.slow) if (n, p) in SLOW_MIXED else (n, p)
                                         for n, p in [*((n, "mixed_float16") for n in GENERATORS),
                                                      *((n, "mixed_bfloat16") for n in BFLOAT16)]])
def test_mixed_precision_step(name, policy):
    """Every optimizer is loss-scaled under mixed_float16 (and only then); images come out
    float32 and finite; the layers that produce images and scores compute in float32."""
    keras.config.set_dtype_policy(policy)
    model = tiny_model(name)
    for attr in model.OPTIMIZERS:
        scaled = isinstance(getattr(model, attr), keras.optimizers.LossScaleOptimizer)
        assert scaled == (policy == "mixed_float16"), attr
    outputs = image_output_layers(model)
    assert outputs and all(layer.compute_dtype == "float32" for layer in outputs)
    low = policy.split("_")[1]
    for layer in model.sampling_layers():
        if layer.dtype_policy.name == "float32":  # float32 by design (a vector quantiser)
            continue
        assert any(sub.compute_dtype == low for sub in layer._flatten_layers()), "nothing runs in " + low
    if hasattr(model, "discriminator"):
        assert model.discriminator.real_head.compute_dtype == "float32"
    logs = fit_steps(model, tiny_batch(model), steps=2)
    assert all(np.isfinite(v) for v in logs.values()), logs
    images = model.generate(tiny_batch(model)["tokens"], tiny_batch(model)["noise"])
    assert images.dtype == "float32" and np.isfinite(np.asarray(images)).all()
