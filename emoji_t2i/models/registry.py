"""The zoo's registry: ``@register("name")`` on a model class adds it; importing
``emoji_t2i.models`` imports every model module and so fills the registry."""

from __future__ import annotations

from emoji_t2i.errors import UsageError

MODELS: dict[str, type] = {}


def register(name: str):
    def add(cls):
        if name in MODELS:
            raise ValueError(f"model {name!r} registered twice")
        cls.zoo_name = name
        MODELS[name] = cls
        return cls

    return add


def get_model_class(name: str) -> type:
    if name not in MODELS:
        raise UsageError(f"unknown model {name!r}; the zoo has: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def list_models() -> list[str]:
    return sorted(MODELS)


def build_model(config: dict, vocabulary_size: int):
    """The model a resolved run config describes (its class from the registry, its kwargs)."""
    cls = get_model_class(config["model"])
    extra = {"num_classes": config["num_classes"]} if cls.uses_labels else {}
    return cls(vocabulary_size, **extra, **config["hparams"])
