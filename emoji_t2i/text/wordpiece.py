"""BERT's uncased WordPiece tokenizer written in core TensorFlow ops, so that a SavedModel that
tokenises prompts needs nothing but TensorFlow (no tensorflow-text custom ops, no Python).

It follows Hugging Face's ``BertTokenizer`` (do_lower_case=True): drop control characters,
space CJK ideographs, lower-case, strip accents, split on whitespace and on every punctuation
character, then greedy longest-match-first WordPiece with "##" continuations; a word with an
unmatched piece (or over 100 characters) becomes a single [UNK]. The ids are checked against
the reference tokenizer on the dataset's captions in tests/text/test_minilm.py.
"""

from __future__ import annotations

import unicodedata

import keras
import numpy as np
import tensorflow as tf

from emoji_t2i.text.eager_graph import eager_graph

# Characters whose NFD form is a base letter plus combining marks ("é" -> "e"). RE2 has no
# Unicode normalisation, so accent stripping is a codepoint table over the scripts where
# precomposed letters live (Latin, Greek, Cyrillic and their extensions: below U+2000).
_ACCENT_TABLE_SIZE = 0x2000
_PUNCTUATION = r"[\pP!-/:-@\[-`{-~]"  # Unicode P* and BERT's ASCII symbol ranges
_CJK = (r"[\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B73F}"
        r"\x{2B740}-\x{2B81F}\x{2B820}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]")
MAX_WORD_CHARS = 100


def _accent_table() -> np.ndarray:
    table = np.arange(_ACCENT_TABLE_SIZE, dtype=np.int32)
    for cp in range(_ACCENT_TABLE_SIZE):
        stripped = "".join(c for c in unicodedata.normalize("NFD", chr(cp))
                           if unicodedata.category(c) != "Mn")
        if len(stripped) == 1:
            table[cp] = ord(stripped)
        elif not stripped:
            table[cp] = -1  # a combining mark on its own: removed
    return table


@keras.saving.register_keras_serializable("emoji_t2i")
class WordPieceTokenizer(keras.layers.Layer):
    """Strings (B,) -> int32 ids (B, sequence_length): [CLS] pieces [SEP] then [PAD] (0).

    Args:
        vocabulary: the WordPiece vocabulary in id order (BERT's vocab.txt lines).
        sequence_length: ids per prompt, [CLS] and [SEP] included; longer prompts are cut.
    """

    def __init__(self, vocabulary, sequence_length=24, **kwargs):
        super().__init__(trainable=False, **kwargs)
        # === Config ===
        self.vocabulary = list(vocabulary)
        self.sequence_length = int(sequence_length)
        index = {token: i for i, token in enumerate(self.vocabulary)}
        self.pad_id, self.unk_id = index["[PAD]"], index["[UNK]"]
        self.cls_id, self.sep_id = index["[CLS]"], index["[SEP]"]
        # StringLookup (not a raw tf.lookup table) so that keras' ExportArchive tracks the
        # table when it tracks this layer: index = vocabulary position + 1, 0 = not in it.
        self.lookup = keras.layers.StringLookup(vocabulary=self.vocabulary, num_oov_indices=1,
                                                oov_token="\x00oov", mask_token=None,
                                                output_mode="int", name="lookup")
        self.accents = tf.constant(_accent_table())
        self.built = True  # no weights of its own; export refuses unbuilt layers

    def vocabulary_size(self) -> int:
        return len(self.vocabulary)

    def normalize(self, text):
        text = tf.strings.regex_replace(text, r"[\p{Cc}\p{Cf}]", " ")
        text = tf.strings.regex_replace(text, r"\s", " ")
        text = tf.strings.regex_replace(text, "(" + _CJK + ")", r" \1 ")
        text = tf.strings.lower(text, encoding="utf-8")
        codes = tf.strings.unicode_decode(text, "UTF-8", errors="replace")
        small = codes < _ACCENT_TABLE_SIZE
        mapped = tf.where(small, tf.gather(self.accents, tf.minimum(codes, _ACCENT_TABLE_SIZE - 1)),
                          codes)
        mapped = tf.ragged.boolean_mask(mapped, mapped >= 0)
        text = tf.strings.unicode_encode(mapped, "UTF-8")
        text = tf.strings.regex_replace(text, r"\p{Mn}", "")
        return tf.strings.regex_replace(text, "(" + _PUNCTUATION + ")", r" \1 ")

    def _piece_ids(self, pieces):
        return tf.cast(self.lookup(pieces), tf.int32) - 1  # -1: not in the vocabulary

    def wordpiece(self, words):
        """1-D words -> (W, max pieces) ids, padded with -1; [UNK] for a word that fails."""
        length = tf.strings.length(words, unit="UTF8_CHAR")
        longest = tf.maximum(tf.reduce_max(tf.concat([length, [1]], 0)), 1)
        sizes = tf.range(1, longest + 1)
        count = tf.shape(words)[0]

        def body(i, start, failed, out):
            live = (start < length) & ~failed
            pieces = tf.strings.substr(words[:, None], tf.broadcast_to(start[:, None], [count, longest]),
                                       tf.broadcast_to(sizes[None, :], [count, longest]),
                                       unit="UTF8_CHAR")
            pieces = tf.where((start > 0)[:, None], "##" + pieces, pieces)
            ids = self._piece_ids(pieces)
            fits = (ids >= 0) & (start[:, None] + sizes[None, :] <= length[:, None])
            best = tf.reduce_max(tf.where(fits, sizes[None, :], 0), axis=1)  # longest match
            chosen = tf.gather(ids, tf.maximum(best - 1, 0), batch_dims=1)
            failed = failed | (live & (best == 0))
            out = out.write(i, tf.where(live & (best > 0), chosen, -1))
            return i + 1, start + tf.where(live, best, 0), failed, out

        # At least one iteration: with no word to split (an empty prompt, or only over-long
        # words) the TensorArray would otherwise be empty, and stacking it fails.
        _, _, failed, out = tf.while_loop(
            lambda i, start, failed, out: (i == 0) | tf.reduce_any((start < length) & ~failed),
            body, (0, tf.zeros_like(length), length > MAX_WORD_CHARS,
                   tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None])))
        pieces = tf.transpose(tf.reshape(out.stack(), [out.size(), count]))  # (W, iterations)
        unk = tf.concat([tf.fill([count, 1], self.unk_id), tf.fill([count, tf.shape(pieces)[1] - 1], -1)], 1)
        return tf.where(failed[:, None], unk[:, : tf.shape(pieces)[1]], pieces)

    def __call__(self, prompts, **kwargs):
        # Like TextVectorization, take a Python list of strings as well as a tensor.
        if isinstance(prompts, list | tuple):
            prompts = tf.constant(list(prompts), tf.string)
        graph = None if kwargs else eager_graph(self, super().__call__, [None], "string")
        return graph(prompts) if graph is not None else super().__call__(prompts, **kwargs)

    def call(self, prompts):
        words = tf.strings.split(self.normalize(prompts))  # ragged (B, words)
        pieces = self.wordpiece(words.flat_values)
        pieces = tf.concat([pieces, tf.fill([tf.shape(pieces)[0], 1], -1)], 1)  # >= 1 column
        per_word = tf.RaggedTensor.from_tensor(pieces, padding=-1)
        ids = tf.RaggedTensor.from_row_splits(per_word, words.row_splits).merge_dims(1, 2)
        body = ids[:, : self.sequence_length - 2]
        batch = tf.shape(prompts)[0]
        edge = lambda token: tf.RaggedTensor.from_tensor(tf.fill([batch, 1], token))  # noqa: E731
        ids = tf.concat([edge(self.cls_id), body, edge(self.sep_id)], 1)
        return ids.to_tensor(self.pad_id, shape=[None, self.sequence_length])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.sequence_length)

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary,
                "sequence_length": self.sequence_length}
