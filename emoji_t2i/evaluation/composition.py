"""Composition prompts: a subject joined with an attribute that no single emoji combines.

"octopus wearing a top hat", "sad strawberry", "rocket on fire": the prompts people bring to
a text-to-emoji model, and the ones a model that looks its training captions up cannot
answer. The 120 prompts join each of 24 subjects (animals, food, objects) with five of 24
attributes (accessories, expressions, states), each attribute with five subjects. No emoji
has a caption with both parts (tests/evaluation/test_composition.py checks the dataset).

Scoring is R-precision with part-sharing distractors: a sample of "octopus wearing a top hat"
is ranked by the evaluation matcher against the prompts that keep the subject and change
the attribute ("octopus wearing a scarf", ...) and those that keep the attribute and change
the subject ("crab wearing a top hat", ...). Only an image that shows both parts ranks its
prompt first; an image of a plain octopus ties with every other octopus prompt at best.
Chance is 1 / (1 + distractors).
"""

from __future__ import annotations

import dataclasses

import numpy as np

SUBJECTS = {
    "animals": ("octopus", "crab", "penguin", "dog", "frog", "snail", "owl", "turtle", "whale",
                "fox", "elephant", "snake"),
    "food": ("strawberry", "banana", "pizza", "taco", "donut", "avocado", "pineapple", "broccoli"),
    "objects": ("rocket", "guitar", "umbrella", "cactus"),
}

# the attribute's text with {} for the subject, and the word that names it (never the subject's)
ATTRIBUTES = {
    "accessories": ("{} wearing a top hat", "{} wearing a crown", "{} wearing sunglasses",
                    "{} wearing a scarf", "{} wearing glasses", "{} wearing a graduation cap",
                    "{} wearing a necktie", "{} wearing a helmet"),
    "expressions": ("sad {}", "crying {}", "laughing {}", "angry {}", "sleeping {}", "winking {}",
                    "kissing {}", "surprised {}"),
    "states": ("{} on fire", "{} with hearts", "{} in love", "{} with a rainbow", "cold {}",
               "hot {}", "dizzy {}", "{} with a party hat"),
}

PROMPTS_PER_SUBJECT = 5


@dataclasses.dataclass(frozen=True)
class CompositionPrompt:
    text: str
    subject: str
    attribute: str  # the template, e.g. "{} wearing a top hat"
    subject_kind: str
    attribute_kind: str


def all_subjects() -> list[tuple[str, str]]:
    return [(s, kind) for kind, names in SUBJECTS.items() for s in names]


def all_attributes() -> list[tuple[str, str]]:
    return [(a, kind) for kind, names in ATTRIBUTES.items() for a in names]


def composition_prompts() -> list[CompositionPrompt]:
    """The fixed list: subject i takes attributes i, i + 5, i + 10, ... (mod 24) over the
    interleaved attribute list, so each subject meets five attributes of all three kinds and
    each attribute five subjects of all kinds."""
    subjects = all_subjects()
    attributes = [a for triple in zip(*[[(a, k) for a in ATTRIBUTES[k]] for k in ATTRIBUTES], strict=True)
                  for a in triple]  # accessory, expression, state, accessory, ...
    prompts = []
    for i, (subject, subject_kind) in enumerate(subjects):
        for k in range(PROMPTS_PER_SUBJECT):
            template, attribute_kind = attributes[(i + k * PROMPTS_PER_SUBJECT) % len(attributes)]
            prompts.append(CompositionPrompt(template.format(subject), subject, template,
                                             subject_kind, attribute_kind))
    return prompts


def composition_pairs() -> list[tuple[str, str]]:
    """(subject, attribute template) of every prompt: the pairs a model trained on composites
    (``data/composites.py``) must not see, so that evaluation asks only for new pairings."""
    return [(p.subject, p.attribute) for p in composition_prompts()]


@dataclasses.dataclass
class CompositionSet:
    """The prompts, and for each its distractors as indices into ``caption_pool``: the true
    prompts first, then every subject x attribute text the distractors use."""

    prompts: list[CompositionPrompt]
    candidates: np.ndarray  # (n, distractors): the same-subject ones first
    caption_pool: list[str]
    same_subject: int  # how many distractors keep the subject (the rest keep the attribute)

    @property
    def texts(self) -> list[str]:
        return [p.text for p in self.prompts]


def composition_set() -> CompositionSet:
    """Each prompt's distractors: its subject with every other attribute (23), then its
    attribute with every other subject (23); 46 in all, chance 1/47."""
    prompts = composition_prompts()
    subjects, attributes = all_subjects(), all_attributes()
    pool = [p.text for p in prompts]
    index = {text: i for i, text in enumerate(pool)}

    def pooled(text):
        if text not in index:
            index[text] = len(pool)
            pool.append(text)
        return index[text]

    rows = []
    for p in prompts:
        rows.append([pooled(a.format(p.subject)) for a, _ in attributes if a != p.attribute]
                    + [pooled(p.attribute.format(s)) for s, _ in subjects if s != p.subject])
    return CompositionSet(prompts, np.array(rows, np.int64), pool, len(attributes) - 1)


def pasted_answers(train, draw: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The prompts answered by drawings that show both parts, a ceiling for any model:
    (pasted, subject alone, pasteable), each row a prompt. Prompt k is drawn in Google's style
    for even k + draw and Twitter's otherwise (the evaluation's styles); where the subject and
    the attribute's sticker emoji both exist in that style the sticker is pasted on the
    subject (``data/composites.py``), elsewhere the subject stands alone (blank where the
    dataset lacks it: expressions have no sticker). ``draw`` also reseeds the placement."""
    from emoji_t2i.data.composites import ATTRIBUTES as STICKERS
    from emoji_t2i.data.composites import compose, subject_name

    drawing = {}
    for i, captions in enumerate(train.captions):
        for name in (subject_name(captions), captions[0]):
            drawing.setdefault((name, str(train.metadata["style"][i])), train.images[i])
    sticker = {a.template: a for a in STICKERS}
    blank = np.zeros(train.images.shape[1:], np.uint8)
    rng = np.random.default_rng(draw)
    pasted, alone, pasteable = [], [], []
    for k, prompt in enumerate(composition_prompts()):
        style = ("google", "twitter")[(k + draw) % 2]
        subject, attribute = drawing.get((prompt.subject, style), blank), sticker.get(prompt.attribute)
        ok = attribute is not None and subject.any() and (attribute.sticker, style) in drawing
        pasteable.append(ok)
        alone.append(subject)
        pasted.append(compose(subject, drawing[(attribute.sticker, style)], attribute.placement, rng)
                      if ok else subject)
    return np.stack(pasted), np.stack(alone), np.array(pasteable)
