"""Inpainting on a tiny untrained diffusion model: what the mask keeps is the image, what it
redraws is new, under every deterministic sampler; regions and masks; one-line errors."""

import numpy as np
import pytest

from emoji_t2i.data.images import premultiplied_unit
from emoji_t2i.errors import UsageError
from emoji_t2i.pipelines.editing import redraw_mask

EVERY_STEP = (0.0, 1e9)


@pytest.mark.parametrize("sampler", ["ddim", "dpm_solver", "dpm_solver_3m"])
def test_the_kept_part_is_the_image_and_the_redrawn_part_is_new(pipe, tiny, sampler):
    emoji = tiny.images[0]
    redraw = np.zeros((72, 72), bool)
    redraw[:, :36] = True  # the left half anew, the right half kept
    images = pipe.inpaint(emoji, "ghost", mask=redraw, n=2, seed=1, sampler=sampler)
    kept, drawn = premultiplied_unit(images), premultiplied_unit(np.stack([emoji, emoji]))
    assert np.abs(kept[:, :, 37:] - drawn[:, :, 37:]).max() <= 2 / 255  # one column of resize blur apart
    assert np.abs(kept[:, :, :35] - drawn[:, :, :35]).mean() > 0.02


def test_a_mask_that_redraws_everything_is_plain_sampling(pipe, tiny):
    everything = pipe.inpaint(tiny.images[0], "ghost", mask=np.ones((72, 72)), n=2, seed=4,
                              guidance_interval=EVERY_STEP)
    plain = pipe.sample(["ghost"], n=2, seed=4, guidance_interval=EVERY_STEP)
    assert np.abs(everything.astype(int) - plain).max() <= 1


def test_a_lower_strength_starts_from_the_image_in_fewer_steps(pipe, tiny):
    calls = []
    images = pipe.inpaint(tiny.images[0], "ghost", mask="eyes", strength=0.5, n=1, seed=2,
                          progress=lambda: calls.append(1))
    assert len(calls) == 2 and images.shape == (1, 72, 72, 4)  # ceil(4 steps * 0.5)
    full = pipe.inpaint(tiny.images[0], "ghost", mask="eyes", n=1, seed=2)
    rows = slice(24, 33)  # inside the band, past its feathered edges
    image = premultiplied_unit(tiny.images[:1])
    assert (np.abs(premultiplied_unit(images)[:, rows] - image[:, rows]).mean()
            < np.abs(premultiplied_unit(full)[:, rows] - image[:, rows]).mean())


def test_regions_are_feathered_bands_and_masks_of_any_form_are_read_alike():
    eyes = redraw_mask("eyes")
    assert eyes.shape == (72, 72, 1) and eyes.dtype == np.float32
    assert eyes[28, 10, 0] == 1.0 and eyes[0, 10, 0] == 0.0 and eyes[71, 10, 0] == 0.0
    assert 0.0 < eyes[17, 10, 0] < 1.0  # the edge ramps over a few pixels
    assert np.array_equal(eyes[:, 0], eyes[:, 71])
    left = redraw_mask("left")
    assert left[10, 5, 0] == 1.0 and left[10, 60, 0] == 0.0
    big = np.zeros((144, 144), bool)
    big[:, :72] = True
    for form in (big, big.astype(np.uint8) * 255, big.astype(np.float32), big[..., None]):
        mask = redraw_mask(form)
        assert mask.shape == (72, 72, 1) and mask[36, 10, 0] > 0.99 and mask[36, 60, 0] < 0.01


def test_bad_masks_and_regions_get_one_line(pipe, tiny):
    for mask, words in (("hat", "region 'hat': use one of top, eyes"), (np.zeros((72, 72)), "marks nothing"),
                        (np.ones((72, 72, 3)), r"shape \(72, 72, 3\)"), (np.full((72, 72), 2.0), "floats from 0 to 1"),
                        (np.full((72, 72), 7, np.int64), "floats from 0 to 1")):
        with pytest.raises(UsageError, match=words):
            pipe.inpaint(tiny.images[0], "ghost", mask=mask)
    with pytest.raises(UsageError, match="give the image too"):
        pipe.model.sample_conditions([(pipe.text_features(["ghost"]), 1.0)], np.zeros((1, 72, 72, 4), np.float32),
                                     mask=np.ones((1, 72, 72, 1), np.float32))
