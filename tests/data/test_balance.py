import numpy as np
import pytest

from emoji_t2i.data.balance import (
    balance_groups,
    category_shares,
    check_balance,
    sampling_weights,
    weighted_rows,
)
from emoji_t2i.data.pipeline import make_dataset
from emoji_t2i.errors import UsageError


def test_every_emoji_in_every_style_gets_one_share_its_skin_tones_split(embedded):
    train = embedded.subset("train")
    groups = balance_groups(train.identity, train.metadata["style"])
    weights = sampling_weights(groups, "identity")
    per_group = np.bincount(groups, weights=weights)
    np.testing.assert_allclose(per_group, 1.0 / len(per_group))
    toned = np.flatnonzero(train.metadata["skin_tone"] != "")[0]
    siblings = groups == groups[toned]
    assert siblings.sum() >= 5  # the emoji's base drawing and its tones in that style
    np.testing.assert_allclose(weights[siblings], weights[toned])
    stored = category_shares(train.metadata["category"])
    balanced = category_shares(train.metadata["category"], weights)
    assert stored["People & Body"] > 0.5 > 0.25 > balanced["People & Body"]
    for weak in ("Objects", "Food & Drink", "Animals & Nature", "Activities"):
        assert balanced[weak] > 1.5 * stored[weak]


def test_weighted_rows_follow_their_weights():
    weights = np.array([0.7, 0.2, 0.1, 0.0])
    rows = weighted_rows(weights, np.random.default_rng(0).random(100_000))
    np.testing.assert_allclose(np.bincount(rows, minlength=4) / len(rows), weights, atol=0.01)
    assert weighted_rows(weights, np.array([0.0, 0.999999])).tolist() == [0, 2]


def test_unknown_modes_and_missing_groups_are_one_line_errors():
    assert sampling_weights(np.array([0, 1]), "none") is None
    with pytest.raises(UsageError, match="--balance species: unknown; use one of none, identity"):
        check_balance("species")
    with pytest.raises(UsageError, match="write the bundle again"):
        sampling_weights(None, "identity")


def test_a_balanced_pipeline_draws_each_emoji_alike_and_replays_by_seed(embedded, tiny_vectorizer):
    train = embedded.subset("train")
    google = train.metadata["style"] == "google"
    toned = np.unique(train.identity[google & (train.metadata["skin_tone"] != "")])[:4]
    people = np.flatnonzero(google & np.isin(train.identity, toned))  # 4 emoji, 6 drawings or more each
    objects = np.flatnonzero(google & (train.metadata["category"] == "Objects"))[:20]
    assert len(np.unique(train.identity[objects])) == 20  # one drawing each
    ds = train.take(np.concatenate([people, objects]))
    vocab = {"identity": ds.label_vocabulary("identity")}
    is_person = np.isin(np.array(vocab["identity"]), toned)

    def person_share(balance, seed=0):
        batches = list(make_dataset(ds, tiny_vectorizer, 8, seed=seed, epochs=20, label_fields=("identity",),
                                    label_vocabularies=vocab, balance=balance).as_numpy_iterator())
        labels = np.concatenate([b["labels"][:, 0] for b in batches])
        return is_person[labels].mean(), batches

    stored, _ = person_share("none")
    balanced, batches = person_share("identity")
    assert stored == pytest.approx(len(people) / len(ds), abs=0.02)  # a permutation: each drawing once an epoch
    assert balanced == pytest.approx(4 / 24, abs=0.05) and len(people) / len(ds) > 0.5
    _, again = person_share("identity")
    for a, b in zip(batches, again, strict=True):
        np.testing.assert_array_equal(a["labels"], b["labels"])
    assert not np.array_equal(batches[0]["labels"], person_share("identity", seed=1)[1][0]["labels"])
