"""Negative prompts on a tiny untrained diffusion model: the guidance formula they stand for,
their cost, where they act and where they cannot. The SavedModel's ``sample_negative`` is
tested with its emoji (tests/data/test_emoji_spelling.py), to export once."""

import warnings

import numpy as np
import pytest

from emoji_t2i.data.images import to_uint8
from emoji_t2i.errors import UsageError
from emoji_t2i.pipelines import TextToImagePipeline
from emoji_t2i.pipelines.text_to_image import initial_noise

EVERY_STEP = (0.0, 1e9)  # guide at every noise level


def apart(a, b) -> float:
    return float(np.abs(a.astype(int) - b).mean())


def test_a_negative_prompt_is_composable_guidance_with_its_weight(pipe):
    """v_neg + s (v - v_neg) is composable diffusion (Liu et al. 2022) with the negative prompt at
    weight -(s - 1) / s: the null caption's terms cancel. One path, checked by the other."""
    for scale in (3.0, 5.0):
        options = {"guidance_scale": scale, "guidance_interval": EVERY_STEP}
        got = pipe.sample(["ghost"], seed=1, n=3, negative_prompt="red apple", **options)
        ghost, apple = pipe.text_features(["ghost"] * 3), pipe.text_features(["red apple"] * 3)
        noise = initial_noise(3, pipe.model.noise_shape, 1)
        want = to_uint8(pipe.model.sample_conditions([(ghost, 1.0), (apple, -(scale - 1) / scale)], noise,
                                                     **options))
        assert np.abs(got.astype(int) - want).max() <= 1
        assert apart(got, pipe.sample(["ghost"], seed=1, n=3, **options)) > 0.25


def test_it_costs_no_extra_call_and_acts_only_where_guidance_does(pipe):
    model, rows = pipe.model, []
    original = model._denoiser_graph()
    model.__dict__["_denoiser_fn"] = lambda inputs: rows.append(int(inputs[0].shape[0])) or original(inputs)
    try:
        pipe.sample(["ghost"], seed=0, n=2, negative_prompt="red apple", guidance_interval=EVERY_STEP)
    finally:
        model.__dict__["_denoiser_fn"] = original
    assert rows == [4] * 4  # 2 images x (prompt, negative prompt), as (prompt, null caption) without one
    plain = pipe.sample(["ghost"], seed=0, n=2, guidance_scale=1.0)
    with pytest.warns(UserWarning, match="no effect at guidance_scale 1") as caught:
        unguided = pipe.sample(["ghost"], seed=0, n=2, guidance_scale=1.0, negative_prompt="red apple")
    assert np.abs(unguided.astype(int) - plain).max() <= 1
    with pytest.warns(UserWarning, match="no word the model knows") as deeper:  # a check deeper inside
        pipe.inpaint(plain[0], "zzqx", mask="eyes", guidance_scale=1.0, negative_prompt="red apple")
    # each warning points at the caller's line, here, however deep the pipeline's check is
    assert {w.filename for w in [*caught, *deeper]} == {__file__}, [(w.filename, w.lineno) for w in deeper]


def test_an_empty_one_is_none_and_emoji_in_it_are_read_as_names(pipe):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an empty negative prompt warns of nothing
        np.testing.assert_array_equal(pipe.sample(["ghost"], seed=2, negative_prompt="  "),
                                      pipe.sample(["ghost"], seed=2))
    np.testing.assert_array_equal(pipe.sample(["ghost"], seed=2, negative_prompt="😿"),  # U+1F63F
                                  pipe.sample(["ghost"], seed=2, negative_prompt="crying cat face"))


def test_every_sampling_path_takes_it(pipe, tiny):
    away = {"negative_prompt": "red apple", "guidance_interval": EVERY_STEP}
    many = pipe.sample_many([("ghost", 2, 3), ("grinning face", 2, 4)], **away)  # one batch, each its own
    for images, prompt, seed in zip(many, ("ghost", "grinning face"), (3, 4), strict=True):
        assert np.abs(images.astype(int) - pipe.sample([prompt], seed=seed, n=2, **away)).max() <= 1
    for edit in (lambda **o: pipe.mashup("ghost", "grinning face", mix=0.5, n=2, seed=3, **o),
                 lambda **o: pipe.emojify(tiny.images[0], "ghost", strength=0.75, n=2, seed=3, **o)):
        assert apart(edit(**away), edit(guidance_interval=EVERY_STEP)) > 0.25


def test_models_that_cannot_take_one_say_so_in_one_line(pipe):
    for bad in (["red apple"], 3):
        with pytest.raises(UsageError, match="negative_prompt .*: give one string"):
            pipe.sample(["ghost"], negative_prompt=bad)
    student = type("Student", (), {"sample_conditions": None, "guidance_input": True})()  # one call a step
    for model, words in ((student, "classifier-free guidance, which this distilled model does not use; use the model"),
                         (object(), "and a cgan model samples without it; use a diffusion")):
        other = TextToImagePipeline.__new__(TextToImagePipeline)
        other.model, other.config = model, {"model": "diffusion" if model is student else "cgan"}
        assert not other.takes_negative_prompt
        with pytest.raises(UsageError, match=words):
            other.check_negative_prompt({"negative_prompt": "red apple"})
    assert pipe.options["negative_prompt"] == ""
