"""Composites: the sticker lands where its placement says, in front or behind; names come out
short; the evaluation's pairs are never made; the same seed makes the same drawings."""

import numpy as np
import pytest

from emoji_t2i.data import DataError
from emoji_t2i.data.composites import ATTRIBUTES, compose, composite_examples, concatenate, subject_name
from emoji_t2i.evaluation.composition import ATTRIBUTES as ASKED
from emoji_t2i.evaluation.composition import composition_pairs


def square(colour, side=40):
    image = np.zeros((72, 72, 4), np.uint8)
    start = (72 - side) // 2
    image[start:start + side, start:start + side] = (*colour, 255)
    return image


RED, BLUE = (255, 0, 0), (0, 0, 255)


def where(image, colour):
    """Rows and columns of the pixels that are mostly ``colour``, opaque."""
    rgb = image[..., :3].astype(int)
    mask = (image[..., 3] > 200) & (np.abs(rgb - colour).sum(-1) < 60)
    return np.argwhere(mask)


def test_headwear_sits_on_top_and_flames_go_behind():
    rng = np.random.default_rng(0)
    hat = compose(square(RED), square(BLUE, 30), "head", rng)
    red, blue = where(hat, RED), where(hat, BLUE)
    assert len(red) and len(blue)
    assert blue[:, 0].min() < red[:, 0].min() - 5  # the hat rises above the head
    assert abs(blue[:, 1].mean() - red[:, 1].mean()) < 4  # centred on it
    fire = compose(square(RED), square(BLUE, 60), "flames", rng)
    red, blue = where(fire, RED), where(fire, BLUE)
    centre = red.mean(0).round().astype(int)
    assert tuple(fire[centre[0], centre[1], :3]) == RED  # the subject is drawn over the sticker
    assert blue[:, 0].min() < red[:, 0].min()  # which shows around it
    corner = compose(square(RED), square(BLUE, 20), "corner", rng)
    blue = where(corner, BLUE)
    assert blue[:, 0].max() < 36 and blue[:, 1].min() > 36  # top right


def test_names_are_short():
    assert subject_name(("slice of pizza", "pizza", "food, slice")) == "pizza"
    assert subject_name(("dog face", "dog", "animal, dog, face, pet")) == "dog"
    assert subject_name(("fox face", "animal, face, fox")) == "fox"
    assert subject_name(("face", "x, y")) == "face"


def test_every_template_is_one_the_evaluation_asks_for():
    asked = {t for templates in ASKED.values() for t in templates}
    assert {a.template for a in ATTRIBUTES} <= asked


def test_composites_never_make_an_asked_pair_and_repeat_by_seed(embedded):
    train = embedded.subset("train")
    rows = [i for i, c in enumerate(train.captions) if c[0] in ("octopus", "crab", "top hat", "crown")]
    small = train.take(rows)
    made = composite_examples(small, 40, seed=3, exclude=[("octopus", "{} wearing a top hat")])
    assert {c[0] for c in made.captions} == {"octopus wearing a crown", "crab wearing a top hat",
                                             "crab wearing a crown"}
    assert set(made.split) == {"train"} and set(made.metadata["category"]) == {"Composite"}
    assert set(made.metadata["style"]) <= set(small.metadata["style"])
    again = composite_examples(small, 40, seed=3, exclude=[("octopus", "{} wearing a top hat")])
    assert np.array_equal(made.images, again.images)
    # each drawing is its subject's drawing in that style with something added
    for k in range(5):
        subject = small.images[(small.ids == made.identity[k].split(":", 1)[1].rsplit("+", 1)[0])][0]
        assert (made.images[k][..., 3] > 0).sum() != (subject[..., 3] > 0).sum()
    joined = concatenate(small, made)
    assert len(joined) == len(small) + 40 and joined.captions[-1] == made.captions[-1]


def test_the_evaluation_pairs_are_left_out_of_a_large_draw(embedded):
    train = embedded.subset("train")
    made = composite_examples(train, 300, seed=0, exclude=composition_pairs())
    asked = {(s, t) for s, t in composition_pairs()}
    for caption in (c[0] for c in made.captions):
        for template in {a.template for a in ATTRIBUTES}:
            prefix, _, suffix = template.partition("{}")
            if caption.startswith(prefix) and caption.endswith(suffix):
                words = set(caption[len(prefix):len(caption) - len(suffix)].split())
                assert not any((w, template) in asked for w in words), caption


def test_bad_requests_say_what_to_do(embedded):
    train = embedded.subset("train")
    with pytest.raises(DataError, match="at least one"):
        composite_examples(train, 0)
    people = train.take(np.flatnonzero(train.metadata["category"] == "People & Body")[:50])
    with pytest.raises(DataError, match="no subject drawing"):
        composite_examples(people, 10)
