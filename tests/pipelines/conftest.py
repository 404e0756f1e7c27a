"""A tiny untrained diffusion model's pipeline, shared by the pipeline tests (a module each)."""

import numpy as np
import pytest

from emoji_t2i.models import get_model_class
from emoji_t2i.pipelines import TextToImagePipeline
from emoji_t2i.text.tokenizers import make_tokenizer
from tests.harness import TINY

CAPTIONS = ["crying cat face", "smiling face with sunglasses", "red apple", "ghost", "grinning face"]


@pytest.fixture(scope="module")
def pipe():
    tokenizer = make_tokenizer("word", CAPTIONS, sequence_length=8)
    model = get_model_class("diffusion")(tokenizer.vocabulary_size(), **{**TINY["diffusion"], "num_steps": 4})
    model.build_for_sampling(8)
    # Keras starts FiLM and output layers at zero, where no prompt changes the image: random
    # weights everywhere make every input reach the output.
    rng = np.random.default_rng(0)
    for weight in model.weights:
        weight.assign(rng.normal(0.0, 0.15, weight.shape).astype(weight.dtype))
    return TextToImagePipeline(model, tokenizer, {"model": "diffusion"})
