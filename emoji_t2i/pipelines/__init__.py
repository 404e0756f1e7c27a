"""Pipelines: trained models as ``prompts -> images``, from a run or a preset.

    from emoji_t2i.pipelines import TextToImagePipeline
    images = TextToImagePipeline.from_preset().sample(["crying cat"], seed=0, n=4)

The names below load on first use, so that ``emoji_t2i.pipelines.editing_options`` (what the
editing CLIs' ``--help`` and the app's widgets show) is read without importing TensorFlow.
"""

import importlib

_HOMES = {
    "DEFAULT_PRESET": "presets", "GUIDED_PRESET": "presets", "preset_for": "presets",
    "load_preset": "presets", "resolve_preset": "presets",
    "run_metadata": "presets", "save_preset": "presets", "shipped_presets": "presets",
    "RunDir": "run_dir", "RunError": "run_dir",
    "TextToImagePipeline": "text_to_image", "initial_noise": "text_to_image", "load_run_model": "text_to_image",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *__all__})
