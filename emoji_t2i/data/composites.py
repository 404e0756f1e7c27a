"""Composites: training drawings of a subject emoji wearing or carrying another emoji.

No emoji shows an octopus in a top hat, and a model that only ever saw single emoji has no
drawing to learn "wearing a top hat" from. ``composite_examples`` makes such drawings from
the dataset itself, Emoji Kitchen-style: a subject (an animal, a food, an object) with an
accessory emoji placed on it (a hat on top, glasses at eye height, a tie below) or a state
emoji around it (fire behind, hearts in a corner), both in the same style, captioned with the
attribute's words ("octopus wearing a top hat", "cold pizza").

The attributes' words are those of the evaluation's composition prompts, and a caller passes
the pairs those prompts ask for as ``exclude``: a model trained on composites then meets in
evaluation only pairings it never saw (octopus with a crown and crab with a top hat in
training; octopus with a top hat asked), so the score reads whether it composes, not whether
it recalls. Expressions ("sad", "winking") have no emoji to paste and are not made.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
from PIL import Image

from emoji_t2i.data.dataset import EmojiDataset
from emoji_t2i.data.errors import DataError

SUBJECT_CATEGORIES = ("Animals & Nature", "Food & Drink", "Objects", "Travel & Places", "Activities")


@dataclasses.dataclass(frozen=True)
class Attribute:
    template: str  # the caption, "{}" for the subject's name
    sticker: str  # the name (first caption) of the emoji pasted
    placement: str  # one of PLACEMENTS


# where the sticker goes: (subject's size as a fraction of the canvas, sticker's width as a
# fraction of the subject's (or of the canvas for "around" placements), sticker's vertical
# centre as a fraction of the subject's height from its top (None: "corner" and "flames" are
# placed by the canvas), sticker drawn behind?)
PLACEMENTS = {
    "head": (0.74, 0.62, -0.02, False),
    "eyes": (0.88, 0.70, 0.36, False),
    "neck": (0.86, 0.42, 0.78, False),
    "corner": (0.74, 0.42, None, False),
    "above": (0.74, 0.40, -0.10, False),
    "flames": (0.66, 1.00, None, True),
    "arch": (0.66, 1.00, 0.05, True),
}

ATTRIBUTES = (
    Attribute("{} wearing a top hat", "top hat", "head"),
    Attribute("{} wearing a crown", "crown", "head"),
    Attribute("{} wearing a graduation cap", "graduation cap", "head"),
    Attribute("{} wearing a helmet", "military helmet", "head"),
    Attribute("{} wearing sunglasses", "sunglasses", "eyes"),
    Attribute("{} wearing glasses", "eyeglasses", "eyes"),
    Attribute("{} wearing a necktie", "necktie", "neck"),
    Attribute("{} wearing a scarf", "scarf", "neck"),
    Attribute("{} on fire", "fire", "flames"),
    Attribute("{} with hearts", "two hearts", "corner"),
    Attribute("cold {}", "snowflake", "corner"),
    Attribute("dizzy {}", "dizzy symbol", "above"),
    Attribute("{} with a rainbow", "rainbow", "arch"),
)


def subject_name(captions) -> str:
    """The shortest of an emoji's names (keyword lists aside), without a trailing "face":
    "slice of pizza" -> "pizza" where the emoji also answers to "pizza", "dog face" -> "dog"."""
    names = [c for c in captions if c and "," not in c]
    name = min(names, key=lambda c: (len(c.split()), names.index(c))) if names else ""
    return re.sub(r"(?<=\w) face$", "", name.lower())


def _subjects(train: EmojiDataset) -> list[tuple[int, str]]:
    stickers = {a.sticker for a in ATTRIBUTES}
    rows = []
    for i, captions in enumerate(train.captions):
        name = subject_name(captions)
        if (str(train.metadata["category"][i]) in SUBJECT_CATEGORIES and name and ":" not in name
                and len(name.split()) <= 2 and captions[0] not in stickers):
            rows.append((i, name))
    return rows


def _excluded(name: str, template: str, exclude) -> bool:
    words = set(name.split())
    return any(template == t and subject in words for subject, t in exclude)


def _crop(rgba: np.ndarray) -> Image.Image:
    """The drawing without its transparent margin, premultiplied (so resizing adds no fringe)."""
    visible = np.argwhere(rgba[..., 3] > 8)
    if not len(visible):
        raise DataError("a composite's emoji is fully transparent; rebuild the dataset")
    (top, left), (bottom, right) = visible.min(0), visible.max(0) + 1
    return Image.fromarray(rgba[top:bottom, left:right]).convert("RGBa")


def _fit(image: Image.Image, width: float, height: float) -> Image.Image:
    scale = min(width / image.width, height / image.height)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)


def compose(subject: np.ndarray, sticker: np.ndarray, placement: str, rng: np.random.Generator) -> np.ndarray:
    """One 72x72 RGBA uint8 drawing: ``subject`` with ``sticker`` placed as ``placement`` says,
    with a little random size and offset so that no two composites of a pair are the same."""
    size = subject.shape[0]
    subject_share, sticker_share, centre, behind = PLACEMENTS[placement]
    jitter = rng.uniform(0.92, 1.06)
    body = _fit(_crop(subject), size * subject_share * jitter, size * subject_share * jitter)
    # the subject sits low (headwear, things above) or central; x jitters by a few pixels
    x = (size - body.width) // 2 + int(rng.integers(-3, 4))
    y = size - body.height - 1 if placement in ("head", "above", "flames", "arch", "corner") \
        else (size - body.height) // 2
    if placement == "corner":
        x = max(0, x - size // 10)
    around = placement in ("corner", "flames", "arch")
    width = (size if around else body.width) * sticker_share * rng.uniform(0.9, 1.1)
    piece = _fit(_crop(sticker), width, width if placement != "flames" else size * 0.9)
    px = size - piece.width - 1 if placement == "corner" else x + (body.width - piece.width) // 2
    if placement == "corner":
        py = 1
    elif placement == "flames":  # flames rise behind and above the subject
        py = size - piece.height - 1
    elif placement == "head":  # the hat's brim on the top of the head
        py = round(y + centre * body.height - piece.height * 0.8)
    else:
        py = round(y + centre * body.height - piece.height / 2)
    py = int(np.clip(py, 0, size - piece.height))
    px = int(np.clip(px, 0, size - piece.width))
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    layers = [(piece, px, py), (body, x, y)] if behind else [(body, x, y), (piece, px, py)]
    for layer, lx, ly in layers:
        sheet = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        sheet.paste(layer.convert("RGBA"), (lx, ly))
        canvas = Image.alpha_composite(canvas, sheet)
    return np.asarray(canvas, np.uint8)


def composite_examples(train: EmojiDataset, count: int, seed: int = 0, exclude=()) -> EmojiDataset:
    """``count`` composites drawn from ``train``'s rows: a random subject drawing, a random
    attribute whose sticker exists in the subject's style, never a (subject word, template)
    pair of ``exclude``. Rows are split "train", identity "composite:<subject row id>+<sticker>",
    category "Composite", the subject's style; one caption each."""
    if count <= 0:
        raise DataError(f"composites: asked for {count}; ask for at least one")
    styles = train.metadata["style"]
    stickers = {}
    for i, captions in enumerate(train.captions):
        stickers.setdefault((captions[0], str(styles[i])), i)
    pairs = [(row, name, a) for row, name in _subjects(train) for a in ATTRIBUTES
             if (a.sticker, str(styles[row])) in stickers and not _excluded(name, a.template, exclude)]
    if not pairs:
        raise DataError("composites: no subject drawing shares a style with an accessory emoji here; "
                        "train on the embedded dataset (or one with its animals, foods and accessories)")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pairs), count, replace=count > len(pairs))
    images, captions, identity, ids = [], [], [], []
    for k, p in enumerate(chosen):
        row, name, attribute = pairs[p]
        sticker = stickers[(attribute.sticker, str(styles[row]))]
        images.append(compose(train.images[row], train.images[sticker], attribute.placement, rng))
        captions.append((attribute.template.format(name),))
        identity.append(f"composite:{train.ids[row]}+{attribute.sticker}")
        ids.append(f"composite-{seed}-{k}")
    metadata = {key: np.full(count, "") for key in train.metadata}
    metadata["style"] = styles[[pairs[p][0] for p in chosen]]
    metadata["category"] = np.full(count, "Composite")
    return EmojiDataset(np.stack(images), captions, np.array(identity), np.full(count, "train"), np.array(ids),
                        metadata, source=f"composites of {train.source}")


def concatenate(first: EmojiDataset, second: EmojiDataset) -> EmojiDataset:
    """Rows of ``first`` then ``second`` (same metadata fields)."""
    if set(first.metadata) != set(second.metadata):
        raise DataError("datasets with different metadata fields cannot be joined; rebuild one")
    return EmojiDataset(
        np.concatenate([first.images, second.images]), list(first.captions) + list(second.captions),
        np.concatenate([first.identity, second.identity]), np.concatenate([first.split, second.split]),
        np.concatenate([first.ids, second.ids]),
        {k: np.concatenate([first.metadata[k], second.metadata[k]]) for k in first.metadata}, source=first.source)
