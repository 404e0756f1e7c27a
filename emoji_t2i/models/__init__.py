"""The model zoo. Each module defines one model and registers it; this import fills the registry.

    from emoji_t2i.models import get_model_class, list_models
"""

# noqa: F401 below: each module registers its model
from emoji_t2i.models import cgan, char_cnn_rnn, diffusion, lstm_gan, stackgan, vae, vq, vq_transformer  # noqa: F401
from emoji_t2i.models.registry import MODELS, build_model, get_model_class, list_models, register

__all__ = ["MODELS", "build_model", "get_model_class", "list_models", "register"]
