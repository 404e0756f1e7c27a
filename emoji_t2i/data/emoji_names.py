"""Every emoji of the embedded dataset by its code points, with the name the dataset captions
it by: what lets a prompt say "🐙 wearing a 🎩" (``spell_out_emoji``; the graph that reads
them is ``emoji_spelling.EmojiSpeller``).

The table is packaged with the code, since a wheel does not carry the dataset;
``python -m emoji_t2i.data build`` rewrites it from the manifest it writes, and a test checks
that the two agree.
"""

from __future__ import annotations

import functools
from pathlib import Path

NAMES_FILE = Path(__file__).with_name("emoji_names.tsv")


def names_from_manifest(rows: list[dict]) -> dict[str, str]:
    """{unified code points ("1F44D-1F3FF"): the first caption of its drawings}, sorted. The
    first caption is the emoji's Unicode name (with its skin tone in words), the one caption
    every drawing of it has."""
    names = {}
    for row in rows:
        if row["unified"] and row["captions"]:
            names.setdefault(row["unified"], row["captions"][0])
    return dict(sorted(names.items()))


def write_emoji_names(names: dict[str, str], path: Path = NAMES_FILE) -> Path:
    path.write_text("".join(f"{code}\t{name}\n" for code, name in names.items()), encoding="utf-8")
    return path


@functools.cache
def read_emoji_names(path: Path = NAMES_FILE) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if line)


def emoji_characters(unified: str) -> str:
    """ "1F44D-1F3FF" -> "👍🏿"."""
    return "".join(chr(int(code, 16)) for code in unified.split("-"))


def spelling_table() -> dict[str, str]:
    """{emoji characters: name}, every emoji of the embedded dataset: what ``EmojiSpeller`` matches."""
    return {emoji_characters(unified): name for unified, name in read_emoji_names().items()}


@functools.cache
def _spell_graph():
    """The embedded table's speller as one traced graph of its ``call``: TensorFlow ops whatever
    Keras's backend (a layer's ``__call__`` under JAX would hand JAX the string tensor)."""
    import tensorflow as tf

    from emoji_t2i.data.emoji_spelling import EmojiSpeller

    speller = EmojiSpeller(spelling_table(), name="emoji_speller")
    return tf.function(speller.call, input_signature=[tf.TensorSpec([None], tf.string)])


def spell_out_emoji(texts: list[str]) -> list[str]:
    """The texts with each emoji read as its name (``emoji_spelling.EmojiSpeller``); texts without
    one are returned as they are, without importing TensorFlow."""
    if all(text.isascii() for text in texts):
        return list(texts)
    import tensorflow as tf

    return [t.decode("utf-8") for t in _spell_graph()(tf.constant(list(texts), tf.string)).numpy()]
