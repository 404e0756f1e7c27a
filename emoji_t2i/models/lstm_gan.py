"""``lstm_gan``: the diary's day-1 model, text -> Embedding -> LSTM -> Dense -> reshape ->
upsampling -> 72x72x4, against a conditional discriminator.

The original got "the same noise for every input" after 10,000 epochs. Here it keeps its
shape - the text code (⊕ noise) enters ONLY at the input Dense, the blocks are plain
upsampling + conv + GroupNorm - and shares the training that works (hinge + matching-aware
loss, spectral-norm projection D, DiffAugment, auxiliary heads, EMA) with ``cgan``, so the
zoo shows what the day-1 architecture gives when it is trained right.
"""

from __future__ import annotations

import keras

from emoji_t2i.models.cgan import ConditionalGAN
from emoji_t2i.models.registry import register


@register("lstm_gan")
@keras.saving.register_keras_serializable("emoji_t2i")
class LSTMGAN(ConditionalGAN):
    """Day 1's LSTM GAN: Embedding + LSTM text code, fed only to the generator's input layer.

    Same arguments as ``cgan`` (see ``ConditionalGAN``), with ``text_encoder="lstm"`` by
    default; the generator has no conditional normalisation, so its blocks see the text
    only through what the input Dense put into the 9x9 map.
    """

    conditional_norm = False

    def __init__(self, vocabulary_size, text_encoder="lstm", **kwargs):
        super().__init__(vocabulary_size, text_encoder=text_encoder, **kwargs)
