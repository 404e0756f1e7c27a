"""Caption tokenisers: word- and character-level ``keras.layers.TextVectorization``.

A run saves its vectorizer (``vectorizer.json``: kind, length and vocabulary) so that
generation and export tokenise prompts exactly as training did. Any prompt tokenises:
unknown words map to the OOV id 1, empty prompts to all padding, long ones are truncated.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras

from emoji_t2i.data.errors import DataError

KINDS = {"word": 16, "char": 64}  # kind -> default output length (captions are short)


def make_vectorizer(kind: str = "word", captions=None, sequence_length: int | None = None,
                    vocabulary=None, max_tokens: int | None = None):
    if kind not in KINDS:
        raise DataError(f"unknown vectorizer kind {kind!r}; use one of {', '.join(KINDS)}")
    layer = keras.layers.TextVectorization(
        max_tokens=max_tokens,
        standardize="lower_and_strip_punctuation",
        split="whitespace" if kind == "word" else "character",
        output_mode="int",
        output_sequence_length=sequence_length or KINDS[kind],
        vocabulary=vocabulary,
        name=f"{kind}_vectorizer",
    )
    if vocabulary is None:
        if captions is None:
            raise DataError("make_vectorizer needs training captions or a vocabulary")
        layer.adapt(list(captions), batch_size=1024)
    layer([""])  # builds the layer: export refuses unbuilt layers
    layer.kind = kind
    return layer


def vocabulary_size(layer) -> int:
    return layer.vocabulary_size()


def sequence_length(layer) -> int:
    return int(layer._output_sequence_length)


def save_vectorizer(layer, path: Path) -> None:
    config = {
        "kind": layer.kind,
        "sequence_length": sequence_length(layer),
        "vocabulary": layer.get_vocabulary(include_special_tokens=False),
    }
    Path(path).write_text(json.dumps(config, ensure_ascii=False) + "\n", encoding="utf-8")


def load_vectorizer(path: Path):
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: missing; the run directory is incomplete, retrain or pick another run")
    config = json.loads(path.read_text(encoding="utf-8"))
    return make_vectorizer(config["kind"], sequence_length=config["sequence_length"],
                           vocabulary=config["vocabulary"])


def known_word_fraction(layer, prompt: str) -> float:
    """Share of the prompt's tokens that are in the vocabulary (0 for an empty prompt)."""
    ids = layer([prompt]).numpy()[0]
    ids = ids[ids != 0]
    return float((ids != 1).mean()) if len(ids) else 0.0
