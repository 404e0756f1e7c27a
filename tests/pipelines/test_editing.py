"""The pipeline's editing methods on a tiny untrained diffusion model: their contracts at the
ends of their sliders, the number of network calls, and one-line errors."""

import numpy as np
import pytest

from emoji_t2i.errors import UsageError
from emoji_t2i.pipelines import TextToImagePipeline
from emoji_t2i.pipelines.editing import blend_premultiplied, prepare_photo, slerp
from emoji_t2i.pipelines.editing_options import MASHUP_METHODS


def counted(pipe, name, *args, **kwargs):
    calls = []
    images = getattr(pipe, name)(*args, progress=lambda: calls.append(1), **kwargs)
    return images, len(calls)


def test_emojify_keeps_the_image_at_strength_zero_and_ignores_it_at_one(pipe, tiny):
    emoji = tiny.images[0]
    kept, calls = counted(pipe, "emojify", emoji, "ghost", strength=0.0, n=2, seed=1)
    assert calls == 0 and np.array_equal(kept, np.stack([emoji, emoji]))
    ignored = pipe.emojify(emoji, "ghost", strength=1.0, n=2, seed=1)
    assert np.abs(ignored.astype(int) - pipe.sample(["ghost"], n=2, seed=1)).max() <= 1


def test_emojify_in_between_starts_from_the_image_and_takes_fewer_steps(pipe, tiny):
    emoji = tiny.images[0]
    plain = pipe.sample(["ghost"], n=1, seed=2)[0].astype(int)
    edited, calls = counted(pipe, "emojify", emoji, "ghost", strength=0.5, n=1, seed=2)
    assert calls == 2  # ceil(4 steps * 0.5)
    edited = edited[0].astype(int)
    assert np.abs(edited - plain).mean() > 1.0 and np.abs(edited - emoji).mean() > 0.5
    # a lighter edit stays nearer the image than a heavier one
    light = pipe.emojify(emoji, "ghost", strength=0.2, n=1, seed=2)[0].astype(int)
    assert np.abs(light - emoji).mean() < np.abs(edited - emoji).mean()


@pytest.mark.parametrize("method", MASHUP_METHODS)
def test_mashup_ends_are_each_prompts_sample_and_the_middle_is_neither(pipe, method):
    first = pipe.sample(["crying cat face"], n=2, seed=3).astype(int)
    second = pipe.sample(["red apple"], n=2, seed=3).astype(int)
    images = pipe.mashup("crying cat face", "red apple", mix=[0.0, 0.5, 1.0], n=2, seed=3, method=method)
    assert images.shape == (6, 72, 72, 4)
    assert np.abs(images[:2] - first).max() <= 1 and np.abs(images[4:] - second).max() <= 1
    middle, apart = images[2:4].astype(int), np.abs(first - second).mean()
    assert apart > 0.1  # the prompts draw different images
    assert np.abs(middle - first).mean() > 0.25 * apart and np.abs(middle - second).mean() > 0.25 * apart


def test_compose_guides_with_both_prompts_in_one_call_per_step(pipe):
    model = pipe.model
    seen = []
    original = model._denoiser_graph()
    model.__dict__["_denoiser_fn"] = lambda inputs: seen.append(int(inputs[0].shape[0])) or original(inputs)
    try:
        _, calls = counted(pipe, "mashup", "ghost", "grinning face", mix=0.3, n=2, seed=0, method="compose")
    finally:
        model.__dict__["_denoiser_fn"] = original
    assert calls == 4 and seen == [6] * 4  # 2 images x (first, second, null)


def test_editing_refuses_bad_values_in_one_line(pipe, tiny):
    with pytest.raises(UsageError, match="mix 1.5: use a number from 0 to 1"):
        pipe.mashup("ghost", "red apple", mix=1.5)
    with pytest.raises(UsageError, match="use one of compose"):
        pipe.mashup("ghost", "red apple", method="average")
    with pytest.raises(UsageError, match="strength -0.1"):
        pipe.emojify(tiny.images[0], "ghost", strength=-0.1)
    with pytest.raises(UsageError, match="empty prompt"):
        pipe.emojify(tiny.images[0], "  ")
    with pytest.raises(UsageError, match="None is NoneType: give words"):
        pipe.mashup("ghost", None)
    with pytest.raises(UsageError, match="dtype float64"):
        pipe.emojify(np.zeros((10, 10, 3)), "ghost")
    # a misspelt sampling option was a TypeError from inside sampling, after the text was encoded
    for call in (lambda: pipe.sample(["ghost"], num_step=2), lambda: pipe.mashup("ghost", "red apple", guidance=2),
                 lambda: pipe.emojify(tiny.images[0], "ghost", temperature=1.0),
                 lambda: pipe.sample_many([("ghost", 1, 0)], sampler_name="ddim")):
        with pytest.raises(UsageError, match="sampling option '.*': a diffusion model does not take it "
                                             r"\(its options: num_steps, guidance_scale"):
            call()


def test_editing_needs_a_diffusion_model(pipe):
    other = TextToImagePipeline.__new__(TextToImagePipeline)
    other.model, other.config = object(), {"model": "cgan"}
    with pytest.raises(UsageError, match="needs a diffusion model and 'cgan' is not one"):
        other.mashup("ghost", "red apple")


def test_a_photo_is_centre_cropped_and_cut_to_a_disc_and_an_emoji_keeps_its_alpha(tiny):
    photo = np.zeros((60, 120, 3), np.uint8)
    photo[:, 30:90] = 200  # the centre square is grey, the sides black
    frame = prepare_photo(photo)
    assert frame.shape == (72, 72, 4) and frame[36, 36, 3] == 255 and frame[0, 0, 3] == 0
    assert frame[36, 4, 0] == 200  # the black sides were cropped away
    assert np.array_equal(prepare_photo(tiny.images[0]), tiny.images[0])
    assert prepare_photo(photo, disc=False)[0, 0, 3] == 255


def test_slerp_and_blend_keep_their_ends():
    rng = np.random.default_rng(0)
    a, b = (x / np.linalg.norm(x, axis=1, keepdims=True) for x in rng.standard_normal((2, 3, 16)))
    np.testing.assert_allclose(slerp(a, b, 0.0), a, atol=1e-6)
    np.testing.assert_allclose(slerp(a, b, 1.0), b, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(slerp(a, b, 0.5), axis=1), 1.0, atol=1e-5)
    red, clear = np.zeros((2, 2, 4), np.uint8), np.zeros((2, 2, 4), np.uint8)
    red[..., 0], red[..., 3] = 255, 255
    half = blend_premultiplied(red, clear, 0.5)
    assert half[0, 0, 0] == 255 and half[0, 0, 3] == 128  # no dark fringe from the clear pixel


def test_sample_many_gives_each_request_its_own_images_in_one_call(pipe):
    requests = [("ghost", 2, 5), ("red apple", 1, 9), ("ghost", 3, 5)]
    calls = []
    batched = pipe.sample_many(requests, progress=lambda: calls.append(1))
    assert len(calls) == 4  # one model call per step for all six images
    for (prompt, n, seed), images in zip(requests, batched, strict=True):
        assert np.abs(images.astype(int) - pipe.sample([prompt], seed=seed, n=n)).max() <= 1
    # an empty list was a ConcatV2 error from TensorFlow, a pair an unpacking ValueError, and n="2" was taken
    assert pipe.sample_many([]) == []
    for bad, words in (([("ghost", 1)], r"requests\[0\] \('ghost', 1\): give \(prompt, n, seed\)"),
                       ([("ghost", "2", 0)], "n '2': use a whole number"), ([("ghost", 65, 0)], "n 65: a batched"),
                       ([("ghost", 1, -1)], "seed -1")):
        with pytest.raises(UsageError, match=words):
            pipe.sample_many(bad)


def test_the_app_queue_joins_requests_that_arrive_while_the_model_is_busy(pipe):
    import threading

    from emoji_t2i.app.batching import SamplingQueue

    gate, calls = threading.Event(), []
    sample_many = pipe.sample_many

    class Held:  # the first call waits until every request has arrived
        options = pipe.options

        def sample_many(self, requests, **kwargs):
            calls.append(len(requests))
            gate.wait(30)
            return sample_many(requests, **kwargs)

    queue = SamplingQueue(Held())
    first = queue.submit("ghost", 1, 0)
    while not calls:
        threading.Event().wait(0.01)
    later = [queue.submit(p, 2, s) for p, s in (("red apple", 1), ("grinning face", 2), ("ghost", 3))]
    other = queue.submit("ghost", 1, 4, guidance_scale=5.0)  # other options: a call of its own
    gate.set()
    assert first.result(60).shape == (1, 72, 72, 4)
    for request, (prompt, seed) in zip(later, (("red apple", 1), ("grinning face", 2), ("ghost", 3)), strict=True):
        assert np.abs(request.result(60).astype(int) - pipe.sample([prompt], seed=seed, n=2)).max() <= 1
        assert request.batched_with == 3
    assert other.result(60).shape == (1, 72, 72, 4) and calls == [1, 3, 1]
    queue.close()
