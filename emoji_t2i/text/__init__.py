"""Text encoders: token ids (B, L) -> a text code (B, output_dim).

Every generator in the zoo takes any of them through ``--set text_encoder=NAME``:

=============== ================================================== =========================
name            what it is                                         the originals' day
=============== ================================================== =========================
padded          the raw padded token ids, scaled to [0, 1], Dense  days 2-3 (VAE, CGAN)
embedding       Embedding + masked mean pooling                    day 4 (VAE + embedding)
embedding_gru   Embedding + GRU (the cgan default)                 day 5 (CGAN + GRU)
lstm            Embedding + LSTM                                   day 1 (LSTM GAN)
char_cnn_rnn    char Embedding + 2 x (Conv1D, max-pool) + GRU,     day 6 (StackGAN)
                mean of states (use the char tokenizer)
minilm          pretrained all-MiniLM-L6-v2 sentence embedding,    days 8-10, seed 001 (BERT,
                frozen, shared, + a trainable Dense adapter        CLIP), done offline
hub:PATH        any TF Hub / SavedModel sentence encoder (strings  -
                in, (B, D) out), frozen, + the same adapter
=============== ================================================== =========================

``char_cnn_rnn:RUN_DIR`` uses the encoder pretrained by ``--model char_cnn_rnn`` in RUN_DIR,
frozen (with its tokenizer), as StackGAN used a pretrained char-CNN-RNN. The new run records
it as ``char_cnn_rnn:RUN_DIR:dim=N`` and keeps the weights in its checkpoints, so RUN_DIR may
move or go once the run has started.
"""

import importlib

# Loaded on first use: the JAX trainer imports text.minilm (keras.ops alone) on a machine
# without TensorFlow, which encoders.py needs.
_NAMES = ("ENCODERS", "TOKENIZERS", "PRETRAINED_PREFIX", "PretrainedTextEncoder", "TextEncoder",
          "load_pretrained_text_encoders", "make_text_encoder", "pin_pretrained", "pretrained_runs")
__all__ = list(_NAMES)


def __getattr__(name):
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.encoders"), name)
