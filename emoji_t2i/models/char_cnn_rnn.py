"""``char_cnn_rnn``: pretrain the character-level CNN-RNN text encoder of StackGAN / Reed et
al. 2016 (the diary's day 6) against an image encoder, so generators can use it frozen:

    python -m emoji_t2i.train --model char_cnn_rnn --out runs/charenc
    python -m emoji_t2i.train --model stackgan --set text_encoder=char_cnn_rnn:runs/charenc

It is a text encoder, not a generator: its sample grid shows, for each fixed prompt, the
emoji it retrieves, and each epoch logs held-out retrieval accuracy.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.models import losses
from emoji_t2i.models.base import ZooModel
from emoji_t2i.models.registry import register
from emoji_t2i.text import TextEncoder


@keras.saving.register_keras_serializable("emoji_t2i")
class ImageEmbedder(keras.Model):
    """Strided convs 72 -> 9, global average pooling, Dense: an image's joint-space vector."""

    def __init__(self, embed_dim=128, channels=(16, 32, 64, 128), **kwargs):
        super().__init__(**kwargs)
        self.embed_dim, self.channels = embed_dim, tuple(channels)
        for i, c in enumerate(channels):  # named attributes: see cgan.Generator
            setattr(self, f"conv{i}", layers.Conv2D(c, 4, strides=2 if i < 3 else 1, padding="same",
                                                    name=f"conv{i}"))
        self.head = layers.Dense(embed_dim, dtype="float32", name="head")

    def call(self, images, training=False):
        x = images
        for i in range(len(self.channels)):
            x = ops.leaky_relu(getattr(self, f"conv{i}")(x), 0.2)
        return self.head(ops.mean(ops.cast(x, "float32"), axis=(1, 2)))

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "channels": list(self.channels)}


@register("char_cnn_rnn")
@keras.saving.register_keras_serializable("emoji_t2i")
class CharCNNRNNPretraining(ZooModel):
    """Joint text-image embedding that pretrains the char-CNN-RNN text encoder.

    StackGAN used a char-CNN-RNN encoder pretrained with Reed et al.'s structured joint
    embedding; this trains the same encoder with its modern form, a symmetric contrastive
    (CLIP-style InfoNCE) loss between caption and image embeddings of a batch, with a
    learned temperature. Pairs that share an emoji identity (two vendors, skin tones) are
    not counted as negatives. The text encoder (``text_encoder`` attribute) is what
    ``--set text_encoder=char_cnn_rnn:RUN_DIR`` loads, frozen, into a generator.

    Args:
        vocabulary_size: the character tokenizer's vocabulary size.
        text_dim: size of the text encoder's output (the code generators get).
        embed_dim: size of the joint space.
        i_channels: image encoder channels at 36, 18, 9 and 9 px.
        num_classes: classes of the label fields; the first (identity by default) masks
            same-emoji pairs out of the negatives.
    """

    OPTIMIZERS = {"optimizer": "lr"}
    training_defaults = {"lr": 1e-3, "tokenizer": "char", "sequence_length": 64,
                         "aux_labels": "identity"}
    uses_labels = True
    is_generator = False
    preview = "retrieval"
    component_hint = "it is a text encoder; use it in a generator with --set text_encoder=char_cnn_rnn:RUN_DIR"
    progress_metrics = ("loss", "text_to_image_top1")
    noise_dim = 0

    def __init__(self, vocabulary_size, text_dim=128, embed_dim=128, i_channels=(16, 32, 64, 128),
                 num_classes=(), **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size, self.text_dim, self.embed_dim = vocabulary_size, text_dim, embed_dim
        self.i_channels, self.num_classes = tuple(i_channels), tuple(num_classes)
        # === Networks ===
        self.text_encoder = TextEncoder("char_cnn_rnn", vocabulary_size, text_dim, embedding_dim=64,
                                        name="text_encoder")
        self.text_head = layers.Dense(embed_dim, dtype="float32", name="text_head")
        self.image_encoder = ImageEmbedder(embed_dim, i_channels, name="image_encoder")
        self.logit_scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(2.659),
                                           name="logit_scale")  # log(1 / 0.07), as CLIP
        self.trackers = {n: keras.metrics.Mean(name=n) for n in ("loss", "text_to_image_top1")}

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "text_dim": self.text_dim, "embed_dim": self.embed_dim,
                "i_channels": list(self.i_channels), "num_classes": list(self.num_classes)}

    def build(self, input_shape=None):
        sequence_length = input_shape[1][1] if input_shape else 64
        self.embed_text(ops.ones((2, sequence_length), "int64"))
        self.embed_images(ops.zeros((2, IMAGE_SIZE, IMAGE_SIZE, CHANNELS)))
        self.built = True

    def build_all(self, sequence_length):
        if not self.built:
            self.build([(None, 0), (None, sequence_length)])
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    def networks(self):
        return {"text_encoder": self.text_encoder, "image_encoder": self.image_encoder}

    def sampling_layers(self):
        return []

    def embed_text(self, tokens, training=False):
        code = self.text_encoder(tokens, training=training)
        return ops.normalize(self.text_head(ops.cast(code, "float32")), axis=-1)

    def embed_images(self, images, training=False):
        return ops.normalize(self.image_encoder(images, training=training), axis=-1)

    def similarity(self, text_embeddings, image_embeddings):
        return ops.matmul(text_embeddings, ops.transpose(image_embeddings))

    def call(self, inputs, training=False):
        images, tokens = inputs
        return self.similarity(self.embed_text(tokens, training), self.embed_images(images, training))

    def pair_losses(self, similarities, labels):
        """Symmetric InfoNCE per example from a (B, B) caption x image similarity matrix;
        off-diagonal pairs of the same identity (first label field) are masked out."""
        group = labels[:, 0] if self.num_classes else -ops.ones(ops.shape(similarities)[:1], "int32")
        return losses.symmetric_info_nce(similarities, group, self.logit_scale)

    def train_step(self, data):
        images, tokens, labels = data["images"], data["tokens"], data["labels"]
        targets = ops.arange(ops.shape(tokens)[0])
        with tf.GradientTape() as tape:
            per_example, logits = self.pair_losses(self.call([images, tokens], training=True), labels)
            loss = tf.nn.compute_average_loss(per_example)
            scaled = self.optimizer.scale_loss(loss)
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables, strict=True))
        hit = ops.cast(ops.equal(ops.argmax(logits, axis=-1), ops.cast(targets, "int64")), "float32")
        self.trackers["loss"].update_state(ops.mean(per_example))
        self.trackers["text_to_image_top1"].update_state(ops.mean(hit))
        return {name: t.result() for name, t in self.trackers.items()}
