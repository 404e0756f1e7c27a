"""``clip``: an emoji CLIP trained here (seed 001 conditioned its StackGAN++ on CLIP features,
which cannot be downloaded on this machine).

    python -m emoji_t2i.train --model clip --out runs/clip

An image encoder trained contrastively against the frozen ``minilm`` sentence embeddings of
the training captions (through a small trainable projection). It is a component: its grid
shows, for each fixed prompt, the real emoji it retrieves, and each epoch logs held-out
retrieval accuracy.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers, ops

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.data.images import premultiply
from emoji_t2i.models import losses
from emoji_t2i.models.base import ShapeFreeZooModel
from emoji_t2i.models.registry import register
from emoji_t2i.networks.unet import space_to_depth
from emoji_t2i.networks.vq import ResBlock


@keras.saving.register_keras_serializable("emoji_t2i")
class ClipImageEncoder(keras.Model):
    """Premultiplied RGBA -> space-to-depth (36x36x16) -> residual GroupNorm blocks at 36, 18
    and 9 px -> global average -> Dense to the joint space (float32)."""

    def __init__(self, embed_dim=256, widths=(32, 64, 128), **kwargs):
        super().__init__(**kwargs)
        self.embed_dim, self.widths = embed_dim, tuple(widths)
        self.stem = layers.Conv2D(self.widths[0], 3, padding="same", name="stem")
        for i, width in enumerate(self.widths):  # named attributes: checkpoints miss list items
            if i:
                setattr(self, f"down{i}", layers.Conv2D(width, 3, strides=2, padding="same", name=f"down{i}"))
            setattr(self, f"res{i}", ResBlock(width, name=f"res{i}"))
        self.head = layers.Dense(embed_dim, dtype="float32", name="head")

    def call(self, images, training=False):
        x = self.stem(space_to_depth(premultiply(images)))
        for i in range(len(self.widths)):
            if i:
                x = getattr(self, f"down{i}")(x)
            x = getattr(self, f"res{i}")(x)
        return self.head(ops.mean(ops.cast(x, "float32"), axis=(1, 2)))

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "widths": list(self.widths)}


@keras.saving.register_keras_serializable("emoji_t2i")
class TextProjection(layers.Layer):
    """minilm's pooled embedding -> the joint space; holds CLIP's learned temperature too."""

    def __init__(self, embed_dim=256, **kwargs):
        super().__init__(dtype="float32", **kwargs)
        self.embed_dim = embed_dim
        self.norm = layers.LayerNormalization(name="norm")  # minilm's entries are ~0.05
        self.project = layers.Dense(embed_dim, name="project")

    def build(self, input_shape):
        self.norm.build(input_shape)
        self.project.build(input_shape)
        # CLIP's initial temperature 0.07
        self.logit_scale = self.add_weight(shape=(), name="logit_scale",
                                           initializer=keras.initializers.Constant(math.log(1 / 0.07)))

    def call(self, features):
        return self.project(self.norm(ops.cast(features, "float32")))

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim}


@register("clip")
@keras.saving.register_keras_serializable("emoji_t2i")
class EmojiCLIP(ShapeFreeZooModel):
    """Emoji CLIP: symmetric InfoNCE between L2-normalised image and caption embeddings of a
    batch, with CLIP's learned temperature (capped at 100). Pairs that share an emoji identity
    (the two vendors' drawings, skin tones) are not counted as negatives. Augmentation keeps
    identity: a random translation of up to ``shift`` pixels (no flips, no colour changes:
    a hand's skin tone and a flag's colours are its identity).

    It differs from the evaluation judges on purpose, so no generator is later trained against
    the network that scores it: the judges' classifier is a BatchNorm CNN trained to classify
    subcategories and identities, their matcher a caption LSTM on its features; this is a
    GroupNorm residual network trained only contrastively against frozen MiniLM, seed 1.

    Args:
        vocabulary_size: the WordPiece vocabulary size (minilm's).
        embed_dim: size of the joint space.
        widths: image encoder channels at 36, 18 and 9 px.
        shift: largest translation (pixels) of the augmentation.
        num_classes: classes of the label fields; the first (identity) masks same-emoji pairs.
    """

    OPTIMIZERS = {"optimizer": "lr"}
    training_defaults = {"lr": 1e-3, "beta_1": 0.9, "beta_2": 0.99, "aux_labels": "identity",
                         "tokenizer": "wordpiece", "sequence_length": 24}  # minilm reads word pieces
    run_defaults = {"epochs": 10, "seed": 1}
    uses_labels = True
    is_generator = False
    preview = "retrieval"
    component_hint = "it is an image-text embedding (an emoji CLIP) that other models load"
    progress_metrics = ("loss", "text_to_image_top1")
    cached_text = True
    noise_dim = 0

    def __init__(self, vocabulary_size, embed_dim=256, widths=(32, 64, 128), shift=4, num_classes=(), **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size, self.embed_dim, self.widths = vocabulary_size, embed_dim, tuple(widths)
        self.shift, self.num_classes = shift, tuple(num_classes)
        # === Networks ===
        from emoji_t2i.text.minilm import shared_minilm

        self.text_encoder = shared_minilm()
        self.text_projection = TextProjection(embed_dim, name="text_projection")
        self.image_encoder = ClipImageEncoder(embed_dim, self.widths, name="image_encoder")
        self.trackers = {n: keras.metrics.Mean(name=n) for n in ("loss", "text_to_image_top1")}

    def random_draws(self):
        return {"shift": ("uniform", (2,))}

    def networks(self):
        return {"image_encoder": self.image_encoder, "text_projection": self.text_projection}

    def sampling_layers(self):
        return [self.image_encoder, self.text_projection, self.text_encoder]

    def build(self, input_shape=None):
        self.text_projection.build((None, self.text_encoder.output_dim))
        self.image_encoder(ops.zeros((2, IMAGE_SIZE, IMAGE_SIZE, CHANNELS)))
        self.built = True

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "embed_dim": self.embed_dim,
                "widths": list(self.widths), "shift": self.shift, "num_classes": list(self.num_classes)}

    # --- the joint space ---------------------------------------------------------------------
    def embed_features(self, features):
        """Cached minilm embeddings (B, 384) -> unit vectors in the joint space."""
        return ops.normalize(self.text_projection(features), axis=-1)

    def embed_text(self, tokens):
        return self.embed_features(self.text_encoder(tokens)["pooled"])

    def embed_images(self, images, training=False):
        return ops.normalize(self.image_encoder(images, training=training), axis=-1)

    def translate(self, images, shift):
        """Shift each image by up to ``self.shift`` pixels; uncovered pixels are transparent."""
        offsets = tf.round((shift * 2.0 - 1.0) * self.shift)
        b = tf.shape(images)[0]
        ones, zeros = tf.ones([b]), tf.zeros([b])
        transform = tf.stack([ones, zeros, offsets[:, 0], zeros, ones, offsets[:, 1], zeros, zeros], axis=1)
        return ops.image.affine_transform(images, transform, interpolation="nearest", fill_mode="constant",
                                          fill_value=-1.0)

    # --- training ------------------------------------------------------------------------------
    def pair_losses(self, data, training=True):
        images = self.translate(data["images"], data["shift"]) if training else data["images"]
        similarities = ops.matmul(self.embed_features(data["text_features"]),
                                  ops.transpose(self.embed_images(images, training)))
        labels = data["labels"]
        group = labels[:, 0] if self.num_classes else -ops.ones(ops.shape(similarities)[:1], "int32")
        return losses.symmetric_info_nce(similarities, group, self.text_projection.logit_scale)

    def train_step(self, data):
        variables = self._trained_variables()
        with tf.GradientTape() as tape:
            per_example, logits = self.pair_losses(data)
            loss = tf.nn.compute_average_loss(per_example)
            scaled = self.optimizer.scale_loss(loss)
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables, strict=True))
        targets = ops.arange(ops.shape(logits)[0])
        hit = ops.cast(ops.equal(ops.argmax(logits, axis=-1), ops.cast(targets, "int64")), "float32")
        self.trackers["loss"].update_state(ops.mean(per_example))
        self.trackers["text_to_image_top1"].update_state(ops.mean(hit))
        return {name: t.result() for name, t in self.trackers.items()}
