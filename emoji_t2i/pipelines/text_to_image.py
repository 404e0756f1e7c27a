"""``TextToImagePipeline``: prompts -> uint8 RGBA emoji, the one sampling path that
generate, export, evaluate, the notebooks and the web app use.

    pipe = TextToImagePipeline.from_preset()                  # the shipped diffusion model
    pipe = TextToImagePipeline.from_run("runs/my-run")        # a run's latest checkpoint
    images = pipe.sample(["crying cat"], seed=0, n=4, num_steps=20, guidance_scale=3.0)

The starting noise is ``tf.random.stateless_normal`` keyed by ``[seed, 0]``, exactly as in
the exported SavedModel, so one seed gives the same images here and in ``serve``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from emoji_t2i.data.images import to_uint8
from emoji_t2i.errors import UsageError
from emoji_t2i.models import build_model
from emoji_t2i.pipelines.presets import DEFAULT_PRESET, load_preset
from emoji_t2i.pipelines.run_dir import RunDir, RunError
from emoji_t2i.text.tokenizers import known_fraction, load_tokenizer, sequence_length


def load_run_model(path: str | Path, model_name: str | None = None):
    """(model, tokenizer, config) of a run, its latest checkpoint restored.

    Builds under the caller's dtype policy: inference callers set float32 first; training
    (which restores source runs inside its strategy scope) keeps its own."""
    run = RunDir(path)
    config = run.load_config(expect_model=model_name)
    tokenizer = load_tokenizer(run.tokenizer_path)
    model = build_model(config, tokenizer.vocabulary_size())
    model.build_for_sampling(int(config["training"]["sequence_length"]))
    run.restore(tf.train.Checkpoint(model=model), partial=True)
    return model, tokenizer, config


def initial_noise(count, shape, seed):
    """The sampling noise of ``count`` examples for a seed (shared with the SavedModel)."""
    return tf.random.stateless_normal([count, *shape], seed=tf.stack([tf.cast(seed, tf.int32), 0]))


class TextToImagePipeline:
    def __init__(self, model, tokenizer, config: dict):
        if not model.is_generator:
            raise RunError(f"a {config.get('model')!r} model generates nothing from text: {model.component_hint}")
        self.model, self.tokenizer, self.config = model, tokenizer, config
        self.sequence_length = sequence_length(tokenizer)

    @classmethod
    def from_run(cls, path: str | Path, model_name: str | None = None) -> TextToImagePipeline:
        """Rebuild the model from config.json and restore its latest checkpoint (EMA weights)."""
        import keras

        keras.config.set_dtype_policy("float32")  # inference in float32: exact and portable
        return cls(*load_run_model(path, model_name))

    @classmethod
    def from_preset(cls, name_or_path: str | Path = DEFAULT_PRESET) -> TextToImagePipeline:
        """A shipped preset by name, or a preset folder (``<run>/preset``)."""
        import keras

        keras.config.set_dtype_policy("float32")
        return cls(*load_preset(name_or_path))

    @property
    def options(self) -> dict:
        """The sampling options this model takes, with their defaults."""
        if "_options" not in self.__dict__:
            config = self.model.get_config()
            keys = ("num_steps", "guidance_scale", "sampler", "temperature", "top_k", "truncation_psi")
            self._options = {k: config[k] for k in keys if k in config}
        return dict(self._options)

    def check_prompts(self, prompts: list[str]) -> None:
        if not self.model.conditional:
            warnings.warn(f"{self.config.get('model')} is unconditional: the prompts are ignored (the seed "
                          "chooses the emoji); train with --set conditional=true to steer it by text", stacklevel=3)
            return
        for prompt in prompts:
            if known_fraction(self.tokenizer, prompt) == 0.0:
                warnings.warn(f"prompt {prompt[:60]!r} has no word the model knows; the image "
                              "will not follow it", stacklevel=3)

    def sample(self, prompts, seed: int = 0, n: int = 1, progress=None, **options) -> np.ndarray:
        """(len(prompts) * n, 72, 72, 4) uint8; the n samples of a prompt are consecutive.

        ``options``: ``num_steps``, ``guidance_scale``, ``sampler`` for a diffusion model;
        ``num_steps``, ``guidance_scale``, ``temperature``, ``top_k`` for ``vq_transformer``;
        none for a GAN or VAE. ``progress``: called once per sampling step."""
        prompts = list(prompts)
        if not prompts:
            raise UsageError("no prompts given; pass at least one prompt")
        self.check_prompts(prompts)
        repeated = [p for p in prompts for _ in range(n)]
        tokens = self.tokenizer(tf.constant(repeated, tf.string))
        noise = initial_noise(len(repeated), self.model.noise_shape, seed)
        if progress is not None and "num_steps" in self.options:
            options["callback"] = progress
        return to_uint8(self.model.sample(tokens, noise, **options))

    def __call__(self, prompts, seed: int = 0, n: int = 1, **options) -> np.ndarray:
        return self.sample(prompts, seed=seed, n=n, **options)
