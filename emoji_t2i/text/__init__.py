"""Text encoders: token ids (B, L) -> a text code (B, output_dim).

Every generator in the zoo takes any of them through ``--set text_encoder=NAME``:

=============== ================================================== =========================
name            what it is                                         the originals' day
=============== ================================================== =========================
padded          the raw padded token ids, scaled to [0, 1], Dense  days 2-3 (VAE, CGAN)
embedding       Embedding + masked mean pooling                    day 4 (VAE + embedding)
embedding_gru   Embedding + GRU (the cgan default)                 day 5 (CGAN + GRU)
lstm            Embedding + LSTM                                   day 1 (LSTM GAN)
=============== ================================================== =========================
"""

from emoji_t2i.text.encoders import ENCODERS, TextEncoder, make_text_encoder

__all__ = ["ENCODERS", "TextEncoder", "make_text_encoder"]
