"""Every caption tokenizer by kind, saved with its run and its presets (``tokenizer.json``).

- ``word`` / ``char``: ``TextVectorization`` layers learned from the training captions
  (``emoji_t2i.data.vectorizers``; unknown words map to id 1);
- ``wordpiece``: BERT's uncased WordPiece with the pretrained vocabulary that ``minilm``
  reads (``emoji_t2i.text.wordpiece``; [CLS] ... [SEP], unknown pieces map to [UNK]);
- ``codepoint``: the prompt's Unicode code points, which ``hub:`` encoders turn back into
  the exact string (``emoji_t2i.text.hub``).

All are Keras layers that map a string tensor (B,) to int ids (B, L) inside a graph.
"""

from __future__ import annotations

import json
from pathlib import Path

from emoji_t2i.data.errors import DataError
from emoji_t2i.data.vectorizers import KINDS as LEARNED_KINDS
from emoji_t2i.data.vectorizers import known_word_fraction as _learned_known_fraction
from emoji_t2i.data.vectorizers import load_vectorizer, make_vectorizer, save_vectorizer
from emoji_t2i.data.vectorizers import sequence_length as _learned_sequence_length
from emoji_t2i.text.hub import HUB_SEQUENCE_LENGTH, CodepointTokenizer
from emoji_t2i.text.wordpiece import WordPieceTokenizer

KINDS = (*LEARNED_KINDS, "wordpiece", "codepoint")


def make_tokenizer(kind: str, captions=None, sequence_length: int | None = None):
    """A new tokenizer: learned from ``captions`` (word, char) or pretrained (wordpiece)."""
    if kind == "wordpiece":
        from emoji_t2i.text.minilm import load_vocabulary

        tokenizer = WordPieceTokenizer(load_vocabulary(), sequence_length or 24, name="wordpiece")
        tokenizer.kind = "wordpiece"
        return tokenizer
    if kind == "codepoint":
        return CodepointTokenizer(sequence_length or HUB_SEQUENCE_LENGTH, name="codepoint")
    if kind not in LEARNED_KINDS:
        raise DataError(f"unknown tokenizer kind {kind!r}; use one of {', '.join(KINDS)}")
    return make_vectorizer(kind, captions, sequence_length)


def sequence_length(tokenizer) -> int:
    if isinstance(tokenizer, (WordPieceTokenizer, CodepointTokenizer)):
        return tokenizer.sequence_length
    return _learned_sequence_length(tokenizer)


def save_tokenizer(tokenizer, path: Path) -> None:
    if isinstance(tokenizer, WordPieceTokenizer):
        config = {"kind": "wordpiece", "sequence_length": tokenizer.sequence_length,
                  "vocabulary": tokenizer.vocabulary}
        Path(path).write_text(json.dumps(config, ensure_ascii=False) + "\n", encoding="utf-8")
    elif isinstance(tokenizer, CodepointTokenizer):
        config = {"kind": "codepoint", "sequence_length": tokenizer.sequence_length}
        Path(path).write_text(json.dumps(config) + "\n", encoding="utf-8")
    else:
        save_vectorizer(tokenizer, path)


def load_tokenizer(path: Path):
    path = Path(path)
    if path.exists():
        config = json.loads(path.read_text(encoding="utf-8"))
        if config.get("kind") == "wordpiece":
            tokenizer = WordPieceTokenizer(config["vocabulary"], config["sequence_length"], name="wordpiece")
            tokenizer.kind = "wordpiece"
            return tokenizer
        if config.get("kind") == "codepoint":
            return CodepointTokenizer(config["sequence_length"], name="codepoint")
    return load_vectorizer(path)


def known_fraction(tokenizer, prompt: str) -> float:
    """Share of the prompt's tokens the tokenizer knows (0 for an empty prompt)."""
    return known_fractions(tokenizer, [prompt])[0]


def known_fractions(tokenizer, prompts: list[str]) -> list[float]:
    """``known_fraction`` of each prompt; word pieces in one tokenizer call (eagerly, one
    call per prompt cost 50 ms here: 11 s for the probe's 224 prompts)."""
    if isinstance(tokenizer, CodepointTokenizer):  # every character reaches the encoder
        return [1.0 if p.strip() else 0.0 for p in prompts]
    if isinstance(tokenizer, WordPieceTokenizer):
        if not prompts:
            return []
        out = []
        for ids in tokenizer(list(prompts)).numpy():
            ids = ids[(ids != tokenizer.pad_id) & (ids != tokenizer.cls_id) & (ids != tokenizer.sep_id)]
            out.append(float((ids != tokenizer.unk_id).mean()) if len(ids) else 0.0)
        return out
    return [_learned_known_fraction(tokenizer, p) for p in prompts]
