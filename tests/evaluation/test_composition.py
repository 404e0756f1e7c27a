"""The composition prompts: a fixed, balanced list that no emoji answers, and a score that
needs both parts of a prompt."""

import collections
import json
import re

import numpy as np
import pytest

from emoji_t2i.evaluation import metrics, sources
from emoji_t2i.evaluation.composition import (
    all_attributes,
    all_subjects,
    composition_prompts,
    composition_set,
    pasted_answers,
)
from emoji_t2i.evaluation.judges import JUDGES_DIR, Judges
from emoji_t2i.evaluation.report import COMPOSITION_SEEDS, composition_report

JOINING_WORDS = {"wearing", "a", "with", "on", "in"}


def words(text):
    return re.findall(r"[a-z]+", text.lower())


def test_the_list_is_balanced_and_fixed():
    prompts = composition_prompts()
    assert len(prompts) >= 100 and len({p.text for p in prompts}) == len(prompts)
    per_subject = collections.Counter(p.subject for p in prompts)
    per_attribute = collections.Counter(p.attribute for p in prompts)
    assert set(per_subject.values()) == {5} and set(per_attribute.values()) == {5}
    for subject in per_subject:  # every subject meets an accessory, an expression and a state
        assert {p.attribute_kind for p in prompts if p.subject == subject} == {"accessories", "expressions", "states"}
    assert [p.text for p in composition_prompts()] == [p.text for p in prompts]
    assert prompts[0].text == "octopus wearing a top hat"


def test_no_emoji_has_a_caption_with_both_parts(embedded):
    captions = [" ".join(c).lower() for c in embedded.captions]
    for p in composition_prompts():
        needed = [p.subject] + [w for w in words(p.attribute) if w not in JOINING_WORDS]
        found = [c for c in captions if all(re.search(rf"\b{w}\b", c) for w in needed)]
        assert not found, f"{p.text!r} is an emoji: {found[0]}"
    # and the subjects are emoji on their own: a model can know each part
    for subject, _ in all_subjects():
        assert any(re.search(rf"\b{subject}\b", c) for c in captions), subject


def test_every_distractor_shares_exactly_one_part():
    cs = composition_set()
    assert cs.candidates.shape == (len(cs.prompts), 2 * (len(all_subjects()) - 1))
    for p, row in zip(cs.prompts, cs.candidates, strict=True):
        texts = [cs.caption_pool[i] for i in row]
        assert p.text not in texts and len(set(texts)) == len(texts)
        same_subject, same_attribute = texts[:cs.same_subject], texts[cs.same_subject:]
        assert all(t != p.text and t == a.format(p.subject) for t, (a, _) in
                   zip(same_subject, [a for a in all_attributes() if a[0] != p.attribute], strict=True))
        assert all(t == p.attribute.format(s) for t, (s, _) in
                   zip(same_attribute, [s for s in all_subjects() if s[0] != p.subject], strict=True))


@pytest.mark.skipif(not (JUDGES_DIR / "judges.json").exists(), reason="judges not trained yet")
def test_every_word_is_known_to_the_matcher():
    vocabulary = set(json.loads((JUDGES_DIR / "matcher_vectorizer.json").read_text())["vocabulary"])
    unknown = {w for t in composition_set().caption_pool for w in words(t)} - vocabulary
    assert not unknown, f"the evaluation matcher cannot read {sorted(unknown)}"


class SubjectOnly:
    """Answers every prompt with the real emoji of its subject alone (Google's drawing):
    what a lookup-table model draws for "octopus wearing a top hat"."""

    def __init__(self, ds):
        google = np.flatnonzero(ds.metadata["style"] == "google")
        self.images = {}
        for subject, _ in all_subjects():
            rows = [r for r in google if re.search(rf"\b{subject}\b", " ".join(ds.captions[r]).lower())]
            self.images[subject] = ds.images[min(rows, key=lambda r: len(ds.captions[r][0]))]

    def prompted(self, prompts, seed, per_prompt):
        subject_of = {p.text: p.subject for p in composition_prompts()}
        return np.stack([self.images[subject_of[t]] for t in prompts for _ in range(per_prompt)])


@pytest.mark.skipif(not (JUDGES_DIR / "judges.json").exists(), reason="judges not trained yet")
def test_a_hit_needs_both_parts(tmp_path, embedded):
    judges = Judges.load()
    lookup = composition_report(SubjectOnly(embedded), judges, 0, tmp_path)
    noise = composition_report(sources.NoiseSource(), judges, 0, tmp_path)
    assert lookup["reader"] == "composition caption side" and "matcher" in lookup
    assert lookup["samples"] == noise["samples"] == COMPOSITION_SEEDS * lookup["prompts"]
    for reading in (lookup, lookup["matcher"]):  # either caption side:
        # the subject's own emoji names its subject among other subjects most of the time...
        assert reading["subject_recognised"] > 0.5 > noise["subject_recognised"]
        # ...but cannot say which of the subject's 24 attributes was asked: near chance, as noise
        assert reading["r_precision"] < 4 * reading["chance"] and noise["r_precision"] < 4 * noise["chance"]
    assert (tmp_path / "composition_samples.png").exists()
    assert "| read through | composition caption side | matcher (single-emoji caption side) |" in markdown_of(lookup)


def markdown_of(composition):
    from emoji_t2i.evaluation.report import composition_lines

    return "\n".join(composition_lines(composition))


@pytest.mark.skipif(not (JUDGES_DIR / "judges.json").exists(), reason="judges not trained yet")
def test_the_composition_caption_side_finds_pasted_parts_the_matcher_misses(embedded):
    """Pasted composites of the asked pairs (never in its training) are the ceiling a model
    that draws both parts reaches; the subject alone must stay at chance. Shares the
    matcher's image side, so every image embedding serves both readings."""
    judges = Judges.load()
    for mine, theirs in zip(judges.composition_matcher.image_projection.weights,
                            judges.matcher.image_projection.weights, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    cs = composition_set()
    pasted, alone, pasteable = pasted_answers(embedded.subset("train"), draw=1)
    assert 50 <= pasteable.sum() < len(cs.prompts)  # expressions have no sticker to paste
    scores = {}
    for composition in (True, False):
        text = judges.text_embeddings(cs.caption_pool, composition=composition)
        for name, images in (("pasted", pasted), ("alone", alone)):
            embedded_images = judges.image_embeddings(judges.image_outputs(images)[0])
            scores[name, composition] = metrics.r_precision(embedded_images, text, cs.candidates, 1)
    chance = 1 / (1 + cs.candidates.shape[1])
    assert scores["pasted", True] > 2.5 * scores["pasted", False], scores
    assert scores["pasted", True] > 10 * chance and scores["alone", True] < 3 * chance, scores


def test_a_fine_tuned_caption_side_keeps_its_image_side(small_dataset, small_judges):
    """train_matcher from a matcher: the image projection stays as it was, the caption side
    moves, and each extra caption is its own positive."""
    from emoji_t2i.evaluation.train_judges import train_matcher

    judges = Judges.load(small_judges[0])
    train = small_dataset.subset("train")
    features = judges.image_outputs(train.images)[0]
    extra = (features[:6] + 0.5, ["octopus wearing a crown"] * 3 + ["crab wearing a crown"] * 3)
    tuned = train_matcher(features, train, judges.vectorizer, 1, 16, 0, start_from=judges.matcher, extra=extra)
    for mine, theirs in zip(tuned.image_projection.weights, judges.matcher.image_projection.weights, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    moved = [np.abs(np.asarray(a) - np.asarray(b)).max() for a, b in
             zip(tuned.text_projection.weights, judges.matcher.text_projection.weights, strict=True)]
    assert min(moved) > 0
