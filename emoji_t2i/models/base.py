"""``ZooModel``: the contract every zoo model gives the training engine, in one place.

``OPTIMIZERS`` maps each optimizer attribute to its learning-rate key in the config,
``training_defaults`` gives those keys' defaults (and may change shared ones),
``noise_dim`` sizes the sampling noise, ``generate(noise, tokens)`` samples,
``sampling_layers()`` lists what export must keep, ``networks()`` names the trained
networks, ``uses_labels`` asks for ``num_classes``, ``is_generator`` is False for a text
encoder, ``progress_metrics`` are what the progress bar shows, and ``build_all`` creates
every variable a checkpoint holds. ``source_runs``/``initialize_from_runs`` let a new run
start from other runs (a pretrained text encoder here; StackGAN adds its Stage I).
"""

from __future__ import annotations

import keras

from emoji_t2i.text import load_pretrained_text_encoders, pretrained_runs


class ZooModel(keras.Model):
    OPTIMIZERS = {"optimizer": "lr"}
    training_defaults: dict = {}
    uses_labels = False
    is_generator = True
    progress_metrics: tuple[str, ...] = ()

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        noise, tokens = inputs
        return self.generate(noise, tokens)

    @classmethod
    def source_runs(cls, hparams: dict) -> list[str]:
        """Runs whose vectorizer and weights a new run takes (a pretrained text encoder)."""
        return pretrained_runs(hparams.get("text_encoder", ""))

    def initialize_from_runs(self):
        load_pretrained_text_encoders(self)
