import numpy as np
import pytest

from emoji_t2i.errors import UsageError
from emoji_t2i.evaluation.protocol import MISMATCHED, prompt_set


def test_prompts_partners_and_mismatched_captions(embedded):
    ps = prompt_set(embedded, "heldout", 50, seed=0)
    assert len(ps.prompts) == len(ps.rows) == 50 and set(embedded.split[ps.rows]) == {"heldout"}
    assert all(p in embedded.captions[r] for p, r in zip(ps.prompts, ps.rows, strict=True))
    # the reference is google's drawing and the ceiling's partner the same code point drawn
    # by twitter, in the same split, whatever other styles the dataset has
    meta = embedded.metadata
    assert ps.styles == ("google", "twitter")
    assert np.all(meta["unified"][ps.partners] == meta["unified"][ps.rows])
    assert set(meta["style"][ps.rows]) == {"google"} and set(meta["style"][ps.partners]) == {"twitter"}
    assert ps.candidates.shape == (50, MISMATCHED)
    for k, row in enumerate(ps.rows):
        wrong = {ps.caption_pool[i] for i in ps.candidates[k]}
        others = {c for r in np.flatnonzero(embedded.identity != embedded.identity[row])
                  for c in embedded.captions[r]}
        own_only = set(embedded.captions[row]) - others  # captions no other emoji has
        assert ps.prompts[k] not in wrong and not wrong & own_only


def test_prompt_set_is_a_function_of_the_seed(embedded):
    a, b = prompt_set(embedded, "train", 30, 1), prompt_set(embedded, "train", 30, 1)
    c = prompt_set(embedded, "train", 30, 2)
    assert a.prompts == b.prompts and np.array_equal(a.candidates, b.candidates)
    assert a.prompts != c.prompts


def test_prompts_and_figures_are_those_of_the_two_style_dataset(embedded):
    """More styles leave the reference prompts and their mismatched captions unchanged."""
    two = embedded.take(np.flatnonzero(np.isin(embedded.metadata["style"], ["google", "twitter"])))
    a, b = prompt_set(embedded, "heldout", 40, 0), prompt_set(two, "heldout", 40, 0)
    assert a.prompts == b.prompts and embedded.ids[a.rows].tolist() == two.ids[b.rows].tolist()
    assert [a.caption_pool[i] for i in a.candidates.ravel()] == [b.caption_pool[i] for i in b.candidates.ravel()]


def test_another_reference_style_and_a_clear_error(embedded):
    ps = prompt_set(embedded, "train", 20, 0, reference_style="openmoji")
    assert ps.styles == ("openmoji", "twitter")
    assert set(embedded.metadata["style"][ps.rows]) == {"openmoji"}
    with pytest.raises(UsageError, match="--reference-style apple: not a style") as err:
        prompt_set(embedded, "train", 20, 0, reference_style="apple")
    assert "\n" not in str(err.value)
