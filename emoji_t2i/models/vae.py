"""``vae``: the text-conditioned VAE of the diary's days 2 and 4.

Day 2 gave the decoder latent ⊕ padded token ids (``--set text_encoder=padded``); day 4 put a
word embedding in between (``--set text_encoder=embedding``), the first model of the diary
that followed its text.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from emoji_t2i.models.base import ZooModel
from emoji_t2i.models.cgan import Generator
from emoji_t2i.models.registry import register
from emoji_t2i.text import make_text_encoder


@keras.saving.register_keras_serializable("emoji_t2i")
class ImageEncoder(keras.Model):
    """q(z | image, text): strided convs 72 -> 9, flatten, ⊕ text code, Dense -> (mu, log_var).

    The text code enters the posterior so that the latent need not re-encode what the
    caption already says (the identity); it is left with what the caption does not say.
    """

    def __init__(self, vocabulary_size, latent_dim=16, text_encoder="embedding", text_dim=128,
                 channels=(16, 32, 64, 128), **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.latent_dim = latent_dim
        self.text_encoder_kind = text_encoder
        self.text_dim = text_dim
        self.channels = tuple(channels)
        # === Layers ===
        self.text = make_text_encoder(text_encoder, vocabulary_size, text_dim)
        for i, c in enumerate(channels):  # named attributes: see cgan.Generator
            setattr(self, f"down{i}", layers.Conv2D(c, 4, strides=2 if i < 3 else 1, padding="same",
                                                    name=f"down{i}"))
        self.flatten = layers.Flatten()
        self.hidden = layers.Dense(256, activation="relu", name="hidden")
        # mu and log-variance in float32: exp(log_var) overflows float16 early in training.
        self.posterior = layers.Dense(2 * latent_dim, dtype="float32", name="posterior")

    def call(self, inputs, training=False):
        images, tokens = inputs
        x = images
        for i in range(len(self.channels)):
            x = ops.leaky_relu(getattr(self, f"down{i}")(x), 0.2)
        h = ops.concatenate([self.flatten(x), ops.cast(self.text(tokens), x.dtype)], axis=-1)
        mu, log_var = ops.split(self.posterior(self.hidden(h)), 2, axis=-1)
        return mu, ops.clip(log_var, -10.0, 10.0)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "latent_dim": self.latent_dim, "text_encoder": self.text_encoder_kind,
                "text_dim": self.text_dim, "channels": list(self.channels)}


@register("vae")
@keras.saving.register_keras_serializable("emoji_t2i")
class TextConditionalVAE(ZooModel):
    """Text-conditioned VAE: encoder q(z | x, text) for training, decoder p(x | z, text).

    Generation samples z ~ N(0, I) and decodes it with the caption's text code. The loss per
    image is the summed squared error (a Gaussian likelihood) + ``beta`` * KL(q(z|x,t) ‖ N(0,I)).

    Measured here (shared/LESSONS.md): with 64 latents and a small beta the latent carried the
    whole image and the decoder ignored the text. Two defaults answer that: a small latent
    (16) with beta 1, and ``prior_rate``: that share of each batch is decoded from a PRIOR
    sample instead of the posterior, so the decoder is trained on exactly the input it gets
    at generation time and must take the emoji's identity from the text.

    Args:
        vocabulary_size: the tokenizer's vocabulary size.
        latent_dim: size of z (``noise_dim``: generation feeds it N(0, I) noise).
        text_encoder: one of ``emoji_t2i.text.ENCODERS`` (day 2: padded, day 4: embedding).
        text_dim: size of the text code in encoder and decoder.
        g_channels: decoder channels at 9, 18, 36 and 72 px (the cgan generator).
        e_channels: encoder channels at 36, 18, 9 and 9 px.
        beta: weight of the KL term.
        prior_rate: share of examples decoded from a prior sample (0 is the plain VAE).
    """

    OPTIMIZERS = {"optimizer": "lr"}
    training_defaults = {"lr": 1e-3}
    progress_metrics = ("loss", "kl")

    def __init__(self, vocabulary_size, latent_dim=16, text_encoder="embedding", text_dim=128,
                 g_channels=(192, 96, 48, 16), e_channels=(16, 32, 64, 128), beta=1.0,
                 prior_rate=0.25, seed=0, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.latent_dim = latent_dim
        self.text_encoder = text_encoder
        self.text_dim = text_dim
        self.g_channels = tuple(g_channels)
        self.e_channels = tuple(e_channels)
        self.beta = beta
        self.prior_rate = prior_rate
        self.seed = seed
        # === Networks ===
        self.encoder = ImageEncoder(vocabulary_size, latent_dim, text_encoder, text_dim,
                                    e_channels, name="encoder")
        self.decoder = Generator(vocabulary_size, latent_dim, text_encoder, text_dim, g_channels,
                                 name="decoder")
        self.seed_generator = keras.random.SeedGenerator(seed)
        names = ("loss", "reconstruction", "kl", "prior_reconstruction")
        self.trackers = {n: keras.metrics.Mean(name=n) for n in names}

    @property
    def noise_dim(self):
        return self.latent_dim

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "latent_dim": self.latent_dim, "text_encoder": self.text_encoder,
                "text_dim": self.text_dim, "g_channels": list(self.g_channels),
                "e_channels": list(self.e_channels), "beta": self.beta,
                "prior_rate": self.prior_rate, "seed": self.seed}

    def build(self, input_shape):
        sequence_length = input_shape[1][1]
        tokens = ops.ones((2, sequence_length), "int64")
        images = self.decoder([ops.zeros((2, self.latent_dim)), tokens])
        self.encoder([images, tokens])
        self.built = True

    def build_all(self, sequence_length):
        if not self.built:
            self.build([(None, self.latent_dim), (None, sequence_length)])
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    def networks(self):
        return {"encoder": self.encoder, "decoder": self.decoder}

    def sampling_layers(self):
        return [self.decoder]

    def generate(self, tokens, noise):
        return ops.cast(self.decoder([noise, tokens], training=False), "float32")

    def train_step(self, data):
        images, tokens, eps = data["images"], data["tokens"], data["noise"]
        eps = ops.cast(eps, "float32")
        batch = ops.shape(eps)[0]
        from_prior = keras.random.uniform((batch, 1), seed=self.seed_generator) < self.prior_rate
        with tf.GradientTape() as tape:
            mu, log_var = self.encoder([images, tokens], training=True)
            # eps doubles as the prior sample: z ~ N(0, I) is eps itself.
            z = ops.where(from_prior, eps, mu + ops.exp(0.5 * log_var) * eps)
            recon = ops.cast(self.decoder([z, tokens], training=True), "float32")
            squared = ops.sum(ops.square(recon - ops.cast(images, "float32")), axis=(1, 2, 3))
            kl = 0.5 * ops.sum(ops.square(mu) + ops.exp(log_var) - 1.0 - log_var, axis=-1)
            per_example = squared + self.beta * kl
            loss = tf.nn.compute_average_loss(per_example)
            scaled = self.optimizer.scale_loss(loss)
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables, strict=True))
        prior = ops.cast(from_prior[:, 0], "float32")
        self.trackers["loss"].update_state(ops.mean(per_example))
        self.trackers["kl"].update_state(ops.mean(kl))
        self.trackers["reconstruction"].update_state(squared, sample_weight=1.0 - prior)
        self.trackers["prior_reconstruction"].update_state(squared, sample_weight=prior)
        return {name: t.result() for name, t in self.trackers.items()}
