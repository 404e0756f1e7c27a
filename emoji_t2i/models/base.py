"""``ZooModel``: the contract every zoo model gives the training engine and the pipelines.

What a model declares (class attributes and methods, all with defaults here):

- ``OPTIMIZERS`` maps each optimizer attribute to its learning-rate key in the config;
  ``training_defaults`` gives those keys' defaults (and may change shared ones);
  ``run_defaults`` may change run defaults such as the number of epochs;
  ``make_optimizers(training, total_steps)`` builds them (Adam with the configured rates by
  default; a model may use schedules) and ``apply_learning_rates`` re-applies the config's
  rates on resume.
- ``random_draws()``: what the data pipeline draws for each example, by name, as
  ``(distribution, shape)``: GANs take z ``noise`` and DiffAugment ``augment`` draws; the
  diffusion model takes image noise, a time and a condition-dropout uniform.
- ``cached_text``: True when the model reads a frozen text encoder's features, which the
  engine then computes once per run for every training caption (``encode_captions``)
  and feeds as ``text_features``.
- ``noise_shape`` (one example's sampling noise) and ``sample(tokens, noise, **options)``
  (images in [-1, 1]); ``generate(tokens, noise)`` is ``sample`` with default options.
- ``sampling_layers()`` (what export keeps; ``preset_layers()`` what presets keep),
  ``conditional`` (False: prompts are ignored), ``networks()`` (the trained
  networks), ``uses_labels`` (asks for ``num_classes``), ``is_generator`` (False for a
  component: a text encoder, an image tokenizer), ``preview`` (the grid training draws),
  ``progress_metrics`` and ``build_all`` (every variable a checkpoint holds).
- ``source_runs``/``initialize_from_runs`` let a new run start from other runs, whose
  networks it may hold frozen (``frozen_components``);
  ``ema_pairs`` and ``warm_start`` let it start from a trained preset (``--init-from``).
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf

from emoji_t2i.errors import UsageError
from emoji_t2i.models.layers import AUGMENT_PARAMS
from emoji_t2i.networks.ema import update_ema
from emoji_t2i.networks.optimizers import Adam
from emoji_t2i.text import load_pretrained_text_encoders, pin_pretrained, pretrained_runs
from emoji_t2i.text.encoders import frozen_text_encoder, tokenizer_for


def _in_multi_worker_mode() -> bool:
    strategy = tf.distribute.get_strategy()
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def _logs_for_multi_worker(train_step):
    """Keras 3 averages a train step's logs over several workers with ``strategy.reduce(
    "MEAN", value, axis=0)``, which fails on a scalar (tensorflow/tensorflow#72388): there each
    log leaves the step as a vector of one, which the reduction turns back into a scalar."""

    @functools.wraps(train_step)
    def step(self, data):
        logs = train_step(self, data)
        if _in_multi_worker_mode():
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    return step


class ZooModel(keras.Model):
    OPTIMIZERS = {"optimizer": "lr"}
    training_defaults: dict = {}
    run_defaults: dict = {}  # e.g. {"epochs": 20}: the model's default budget
    uses_labels = False
    is_generator = True  # False: a component other models load (a text encoder, an image tokenizer)
    conditional = True  # False: prompts change nothing (an unconditional GAN; set per instance)
    preview = "samples"  # the grid training draws: "samples", "retrieval" or "reconstructions"
    component_hint = ""  # for a component: how to use it, in the error a generate call gets
    cached_text = False
    progress_metrics: tuple[str, ...] = ()

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        noise, tokens = inputs
        return self.generate(tokens, noise)

    # --- randomness and sampling ---------------------------------------------------------------
    @property
    def noise_shape(self) -> tuple[int, ...]:
        return (self.noise_dim,)

    def random_draws(self) -> dict[str, tuple[str, tuple[int, ...]]]:
        return {"noise": ("normal", self.noise_shape), "augment": ("uniform", (2, AUGMENT_PARAMS))}

    def sample(self, tokens, noise, **options):
        if options:
            raise UsageError(f"{self.zoo_name} samples from noise alone; it takes no "
                             f"{', '.join(sorted(options))}")
        return self.generate(tokens, noise)

    def build_for_sampling(self, sequence_length: int) -> None:
        if not self.built:
            self.build([(None, *self.noise_shape), (None, sequence_length)])

    def build_sampling_layers(self, sequence_length: int) -> None:
        """Build what ``sampling_layers`` need and no more: a preset loaded only to draw with.
        Here everything; a model whose trained networks only feed their EMA copies (diffusion)
        leaves those until ``build_all``, which starts them from the EMA."""
        self.build_for_sampling(sequence_length)

    # --- optimizers ------------------------------------------------------------------------------
    def make_optimizers(self, training: dict, total_steps: int) -> dict:
        return {name: Adam(float(training[key]), beta_1=training["beta_1"],
                            beta_2=training["beta_2"])
                for name, key in self.OPTIMIZERS.items()}

    def apply_learning_rates(self, training: dict, total_steps: int) -> None:
        """On resume: the checkpoint restored the old rates; the config's win."""
        for name, key in self.OPTIMIZERS.items():
            getattr(self, name).learning_rate = float(training[key])

    # --- text ------------------------------------------------------------------------------------
    def encode_captions(self, captions: list[str], tokenizer, batch_size: int = 256) -> np.ndarray:
        """(len(captions), D): the frozen encoder's pooled embeddings, for a ``cached_text`` model
        (minilm's 384-d ones unless ``text_encoder`` names a ``hub:`` encoder)."""
        if not self.cached_text:
            raise NotImplementedError(f"{type(self).__name__} reads tokens, not cached text features")
        kind = self.get_config().get("text_encoder", "minilm")
        wanted, length = tokenizer_for(kind) or ("wordpiece", 24)
        if getattr(tokenizer, "kind", wanted) != wanted:
            raise UsageError(f"{kind} reads {wanted} ids, not {tokenizer.kind!r} ones: train with "
                             f"--set tokenizer={wanted} --set sequence_length={length}")
        import tensorflow as tf

        encoder = frozen_text_encoder(kind)
        encode = tf.function(lambda text: tf.cast(encoder(tokenizer(text))["pooled"], tf.float32))
        return np.concatenate([np.asarray(encode(tf.constant(captions[i:i + batch_size])))
                               for i in range(0, len(captions), batch_size)]).astype(np.float32)

    # --- runs that start from runs ---------------------------------------------------------------
    @classmethod
    def source_runs(cls, hparams: dict) -> list[str]:
        """Runs whose tokenizer and weights a new run takes (a pretrained text encoder)."""
        return pretrained_runs(hparams.get("text_encoder", ""))

    @classmethod
    def text_source_runs(cls, hparams: dict) -> list[str]:
        """Source runs whose caption tokenizer this run must reuse (all of them by default)."""
        return cls.source_runs(hparams)

    @classmethod
    def pin_sources(cls, hparams: dict, read_config) -> dict:
        """Record in the hyper-parameters what the source runs' architectures are, so that the
        new run builds without them (runs stand alone). ``read_config(run) -> config dict``."""
        return {**hparams, "text_encoder": pin_pretrained(hparams["text_encoder"])} \
            if "text_encoder" in hparams else hparams

    def initialize_from_runs(self, load_run):
        """``load_run(path, model_name) -> (model, tokenizer, config)`` is handed in by the
        training engine, so models never import the layers above them."""
        load_pretrained_text_encoders(self, load_run)

    def frozen_components(self) -> list:
        """Trained networks of other runs this model loads and never trains (an emoji CLIP)."""
        return []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "train_step" in cls.__dict__:
            cls.train_step = _logs_for_multi_worker(cls.__dict__["train_step"])

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras builds a model on a first batch at the start of ``fit``; the engine has built
        ours already (``build_all``: networks and optimizers). Under MultiWorkerMirroredStrategy
        that first step reduces the batch dict with ``strategy.reduce``, which takes no dict
        (keras-team/keras#20329), so a built model skips it."""
        if self.built and all(layer.built for layer in self._flatten_layers()):
            return None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    # --- starting from a trained preset (--init-from) ------------------------------------------
    def preset_layers(self) -> list:
        """What a preset stores: the sampling layers, and what a fine-tune or an editing tool
        needs besides (StyleGAN's discriminator)."""
        return self.sampling_layers()

    def ema_pairs(self) -> list[tuple]:
        """(trained network, its EMA copy) pairs; the EMA copy is what sampling and presets use."""
        return []

    def copy_to_ema(self, decay) -> None:
        """Every ``ema_pairs`` copy one EMA step towards its trained network (decay 0 copies)."""
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            # mirrored EMA variables can only be assigned in cross-replica context
            return ctx.merge_call(lambda _: self.copy_to_ema(decay))
        for trained, ema in self.ema_pairs():
            update_ema(trained, ema, decay)

    def warm_start_layers(self, source) -> list:
        """``source``'s layers that start ours, one per ``sampling_layers()``; a model that can
        start from a smaller architecture (diffusion: a U-Net without words or styles) adapts them."""
        return source.sampling_layers()

    def warm_start(self, source) -> None:
        """Start from ``source``, a model of the same config loaded from a preset: its sampling
        layers go into ours and into the trained networks they average. What a preset does not
        hold (a discriminator, optimizer state) starts fresh."""
        for mine, theirs in zip(self.sampling_layers(), self.warm_start_layers(source), strict=True):
            if mine is not theirs:  # a shared frozen encoder (minilm) is the same object
                try:
                    mine.set_weights(theirs.get_weights())
                except ValueError as e:
                    raise UsageError(f"--init-from: the preset's {theirs.name} does not fit this model "
                                     f"({e}); keep the preset's architecture keys") from None
        for trained, ema in self.ema_pairs():
            trained.set_weights(ema.get_weights())


class ShapeFreeZooModel(ZooModel):
    """A zoo model with one optimizer over its ``networks()`` and a ``build()`` that needs no
    input shapes (diffusion, vq, vq_transformer, clip): the shared build and variable plumbing."""

    def build_for_sampling(self, sequence_length: int) -> None:
        if not self.built:
            self.build()

    def build_all(self, sequence_length):
        if not self.built:
            self.build()
        if not self.optimizer.built:
            self.optimizer.build(self._trained_variables())

    def _trained_variables(self):
        return [v for net in self.networks().values() for v in net.trainable_variables]
