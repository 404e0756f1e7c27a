"""Pipelines: trained models as ``prompts -> images``, from a run or a preset.

    from emoji_t2i.pipelines import TextToImagePipeline
    images = TextToImagePipeline.from_preset().sample(["crying cat"], seed=0, n=4)
"""

from emoji_t2i.pipelines.presets import (
    DEFAULT_PRESET,
    load_preset,
    resolve_preset,
    run_metadata,
    save_preset,
    shipped_presets,
)
from emoji_t2i.pipelines.run_dir import RunDir, RunError
from emoji_t2i.pipelines.text_to_image import TextToImagePipeline, initial_noise, load_run_model

__all__ = ["DEFAULT_PRESET", "RunDir", "RunError", "TextToImagePipeline", "initial_noise",
           "load_preset", "load_run_model", "resolve_preset", "run_metadata", "save_preset", "shipped_presets"]
