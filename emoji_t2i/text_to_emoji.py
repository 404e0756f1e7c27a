"""The end-to-end text -> emoji pipeline of a trained run (what generate, export and the
notebook use):

    pipe = TextToEmojiPipeline.from_run("runs/default-cgan")
    images = pipe(["crying cat", "thumbs up: dark skin tone"], n=4, seed=0)  # uint8 RGBA

Noise comes from ``tf.random.stateless_normal`` keyed by the seed, exactly as in the exported
SavedModel, so the same seed gives the same images here and in ``serve``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from emoji_t2i.data.images import to_uint8
from emoji_t2i.data.vectorizers import known_word_fraction, load_vectorizer
from emoji_t2i.training.environment import set_precision
from emoji_t2i.training.loop import make_model
from emoji_t2i.training.run_dir import RunDir, RunError


def load_run_model(path: str | Path, model_name: str | None = None):
    """(model, vectorizer, config) of a run, its latest checkpoint restored, in float32."""
    run = RunDir(path)
    config = run.load_config(expect_model=model_name)
    set_precision("float32")  # inference in float32 everywhere: exact and portable
    vectorizer = load_vectorizer(run.vectorizer_path)
    model = make_model(config, vectorizer.vocabulary_size())
    model.build([(None, model.noise_dim), (None, int(config["training"]["sequence_length"]))])
    run.restore(tf.train.Checkpoint(model=model), partial=True)
    return model, vectorizer, config


class TextToEmojiPipeline:
    def __init__(self, model, vectorizer, config: dict):
        self.model, self.vectorizer, self.config = model, vectorizer, config

    @classmethod
    def from_run(cls, path: str | Path, model_name: str | None = None) -> TextToEmojiPipeline:
        """Rebuild the model from config.json and restore its latest checkpoint (EMA weights)."""
        model, vectorizer, config = load_run_model(path, model_name)
        if not getattr(model, "is_generator", True):
            raise RunError(f"{path} is a {config['model']!r} run, a text encoder that generates "
                           "nothing; use it in a generator with --set text_encoder="
                           f"{config['model']}:{path}")
        return cls(model, vectorizer, config)

    @staticmethod
    def noise(count: int, dim: int, seed: int) -> tf.Tensor:
        return tf.random.stateless_normal([count, dim], seed=tf.constant([seed, 0], tf.int32))

    def check_prompts(self, prompts: list[str]) -> None:
        for prompt in prompts:
            if known_word_fraction(self.vectorizer, prompt) == 0.0:
                warnings.warn(f"prompt {prompt[:60]!r} has no word the model knows; the image "
                              "will not follow it", stacklevel=3)

    def __call__(self, prompts: list[str], n: int = 1, seed: int = 0) -> np.ndarray:
        """(len(prompts) * n, 72, 72, 4) uint8; the n samples of a prompt are consecutive."""
        prompts = list(prompts)
        self.check_prompts(prompts)
        repeated = [p for p in prompts for _ in range(n)]
        tokens = self.vectorizer(tf.constant(repeated, tf.string))
        noise = self.noise(len(repeated), self.model.noise_dim, seed)
        return to_uint8(self.model.generate(noise, tokens))
