"""The model zoo. Each module defines one model and registers it; this import fills the registry.

    from emoji_t2i.models import get_model_class, list_models
"""

from emoji_t2i.models import (  # noqa: F401  (each module registers its model)
    attngan,
    cgan,
    char_cnn_rnn,
    clip,
    damsm,
    diffusion,
    lstm_gan,
    stackgan,
    stackganpp,
    stylegan,
    vae,
    vq,
    vq_transformer,
)
from emoji_t2i.models.registry import MODELS, build_model, get_model_class, list_models, register

__all__ = ["MODELS", "build_model", "get_model_class", "list_models", "register"]
