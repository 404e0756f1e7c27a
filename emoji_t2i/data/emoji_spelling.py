"""Emoji in a prompt or a caption read as their names: "🐙 wearing a 🎩" -> "octopus wearing a
top hat".

The models learned words, and no text encoder of the zoo knows an emoji character (MiniLM
reads "😀" as [UNK]). ``EmojiSpeller`` replaces each emoji of the embedded dataset (3,786
sequences: skin tones, flags, keycaps and ZWJ families included) with the name its drawings
are captioned by, longest sequence first, ignoring variation selectors, in core TensorFlow ops:
the captions of a user's folder, the pipeline's prompts and the exported SavedModel's endpoints
run the same graph, so that a model reads "👍🏿" in sampling as it read it in training. A text
with no emoji passes through unchanged, byte for byte.
"""

from __future__ import annotations

import keras
import tensorflow as tf

VARIATION_SELECTORS = "\ufe0e\ufe0f"  # text / emoji presentation: the same emoji either way


@keras.saving.register_keras_serializable("emoji_t2i")
class EmojiSpeller(keras.layers.Layer):
    """Strings (B,) -> strings (B,): each emoji replaced by its name, spaced from its neighbours.

    Matching is greedy and longest first over code points, as a text shaper joins a sequence:
    "👨‍👩‍👧" is one family, not a man, a woman and a girl; an emoji sequence the table lacks
    falls back to the emoji it is made of. In a prompt with an emoji, runs of spaces and
    zero-width joiners become one space.

    Args:
        table: {emoji characters: name} (``emoji_names.spelling_table()``: the embedded dataset's);
            variation selectors in its keys are ignored, as in the texts.
    """

    def __init__(self, table: dict[str, str], **kwargs):
        super().__init__(trainable=False, **kwargs)
        selectors, normal = {ord(c): None for c in VARIATION_SELECTORS}, {}
        for key, name in table.items():  # the first of two keys that differ only by a selector
            normal.setdefault(key.translate(selectors), name)
        table = normal
        if any(not key or key.isascii() for key in table):
            raise ValueError("EmojiSpeller: a table key is empty or plain ASCII; it would rewrite ordinary words")
        self.table = table
        self.longest = max((len(key) for key in table), default=1)
        # StringLookup so that an ExportArchive tracking this layer carries the table:
        # index = position + 1, 0 = not an emoji.
        self.lookup = keras.layers.StringLookup(vocabulary=list(table), num_oov_indices=1,
                                                oov_token="\x00oov", mask_token=None,
                                                output_mode="int", name="lookup")
        self.names = tf.constant(["", *table.values()])
        self.built = True  # no weights of its own; export refuses unbuilt layers

    def call(self, prompts):
        plain = tf.strings.regex_full_match(prompts, r"[\x00-\x7F]*")
        return tf.cond(tf.reduce_all(plain), lambda: prompts, lambda: self._spell(prompts))

    def _spell(self, prompts):
        stripped = tf.strings.regex_replace(prompts, "[" + VARIATION_SELECTORS + "]", "")
        chars = tf.strings.unicode_split(stripped, "UTF-8")  # ragged (B, characters)
        length = tf.cast(chars.row_lengths(), tf.int32)
        count = tf.shape(prompts)[0]
        chars = chars.to_tensor("")
        chars = tf.concat([chars, tf.fill([count, self.longest], "")], 1)  # every window fits
        sizes = tf.range(1, self.longest + 1)

        def body(i, start, found, out):
            live = start < length
            window = tf.gather(chars, start[:, None] + sizes[None, :] - 1, batch_dims=1)
            prefixes = [window[:, 0]]
            for k in range(1, self.longest):
                prefixes.append(prefixes[-1] + window[:, k])
            ids = tf.cast(self.lookup(tf.stack(prefixes, 1)), tf.int32)  # (B, longest)
            fits = (ids > 0) & (start[:, None] + sizes[None, :] <= length[:, None])
            best = tf.reduce_max(tf.where(fits, sizes[None, :], 0), axis=1)  # longest match
            name = tf.gather(self.names, tf.gather(ids, tf.maximum(best - 1, 0), batch_dims=1))
            piece = tf.where(best > 0, " " + name + " ", window[:, 0])
            out = out.write(i, tf.where(live, piece, ""))
            return i + 1, start + tf.where(live, tf.maximum(best, 1), 0), found | (live & (best > 0)), out

        _, _, found, out = tf.while_loop(
            lambda i, start, found, out: tf.reduce_any(start < length), body,
            (0, tf.zeros_like(length), tf.zeros_like(length, tf.bool),
             tf.TensorArray(tf.string, size=0, dynamic_size=True, element_shape=[None])))
        pieces = tf.cond(out.size() > 0, lambda: tf.transpose(out.stack()),
                         lambda: tf.zeros([count, 0], tf.string))
        spelled = tf.strings.reduce_join(pieces, axis=1)
        spelled = tf.strings.strip(tf.strings.regex_replace(spelled, "[\\s\u200d]+", " "))
        return tf.where(found, spelled, prompts)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "table": self.table}
