"""Former home of the pipeline; kept so that earlier notebooks and scripts still run.

    from emoji_t2i.pipelines import TextToImagePipeline     # use this
"""

from emoji_t2i.pipelines.text_to_image import TextToImagePipeline, load_run_model

TextToEmojiPipeline = TextToImagePipeline

__all__ = ["TextToEmojiPipeline", "TextToImagePipeline", "load_run_model"]
