import numpy as np

from emoji_t2i.evaluation.protocol import MISMATCHED, prompt_set


def test_prompts_partners_and_mismatched_captions(embedded):
    ps = prompt_set(embedded, "heldout", 50, seed=0)
    assert len(ps.prompts) == len(ps.rows) == 50 and set(embedded.split[ps.rows]) == {"heldout"}
    assert all(p in embedded.captions[r] for p, r in zip(ps.prompts, ps.rows, strict=True))
    # the ceiling's partner: the same code point drawn by the other vendor, in the same split
    meta = embedded.metadata
    assert np.all(meta["unified"][ps.partners] == meta["unified"][ps.rows])
    assert np.all(meta["vendor"][ps.partners] != meta["vendor"][ps.rows])
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
