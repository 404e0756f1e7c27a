"""Condition annealing (CADS) against its definition: clean below tau_low, noise alone above
tau_high, a linear blend of strengths between, noise relative to each row's size."""

import numpy as np
import pytest

from emoji_t2i.errors import UsageError
from emoji_t2i.schedulers.condition_annealing import ConditionAnnealing

RNG = np.random.default_rng(3)
TEXT = RNG.normal(0, 0.05, (3, 5, 16)).astype(np.float32)
TEXT[:, 3:] = 0.0  # padding rows, as a packed condition has
DRAW = RNG.normal(size=TEXT.shape).astype(np.float32)


def test_strength_is_one_below_tau_low_zero_above_tau_high_and_linear_between():
    annealing = ConditionAnnealing(0.6, 0.9, 0.25)
    t = np.array([0.0, 0.6, 0.675, 0.75, 0.9, 1.0], np.float32)
    np.testing.assert_allclose(annealing.strength(t), [1, 1, 0.75, 0.5, 0, 0], atol=1e-6)
    # tau_high above 1: sampling's first step (t = 1) keeps part of the caption
    np.testing.assert_allclose(ConditionAnnealing(0.5, 1.5, 0.5).strength(np.float32(1.0)), 0.5, atol=1e-6)


def test_the_caption_is_clean_late_noise_alone_early_and_padding_stays_zero():
    annealing = ConditionAnnealing(0.6, 0.9, 0.25)
    np.testing.assert_array_equal(annealing(TEXT, 0.3, DRAW), TEXT)
    rms = np.sqrt(np.mean(TEXT**2, axis=-1, keepdims=True))
    np.testing.assert_allclose(annealing(TEXT, 1.0, DRAW), 0.25 * rms * DRAW, rtol=1e-5, atol=1e-7)
    middle = np.asarray(annealing(TEXT, 0.75, DRAW))  # gamma 0.5
    np.testing.assert_allclose(middle, np.sqrt(0.5) * TEXT + 0.25 * np.sqrt(0.5) * rms * DRAW, rtol=1e-5, atol=1e-7)
    assert np.all(middle[:, 3:] == 0.0)
    # relative to the row's size: a caption ten times larger is noised ten times as much
    np.testing.assert_allclose(annealing(10 * TEXT, 0.75, DRAW), 10 * middle, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("value,expected", [(None, None), ("off", None), ("none", None),
                                            ("0.5,0.8,0.1", [0.5, 0.8, 0.1]), ((0, 1, 1), [0.0, 1.0, 1.0])])
def test_parse_takes_three_numbers_or_off(value, expected):
    parsed = ConditionAnnealing.parse(value)
    assert (parsed if parsed is None else parsed.get_config()) == expected


@pytest.mark.parametrize("value", ["0.9,0.6,0.25", "0.6,0.9", "a,b,c", (-0.1, 0.9, 0.25), (0.6, 0.9, -1),
                                   (0.6, 0.9, float("nan")), 0.5])
def test_malformed_annealing_is_one_line_naming_the_option(value):
    with pytest.raises(UsageError, match="condition_annealing") as error:
        ConditionAnnealing.parse(value)
    assert "\n" not in str(error.value)
