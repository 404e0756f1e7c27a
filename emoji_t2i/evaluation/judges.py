"""The two in-domain networks every metric is read through, and their shipped weights.

No ImageNet Inception can be downloaded here, and one would be the wrong judge of 72x72
emoji anyway, so the project trains its own on the TRAINING split only
(``python -m emoji_t2i.evaluation.train_judges``) and ships them in ``judges/``:

- ``EmojiClassifier``: RGBA image -> subcategory and identity logits; its pooled features
  serve FID, KID, memorisation and diversity, its subcategory posterior serves IS.
- ``TextImageMatcher``: a DAMSM-style joint space (caption encoder + projection of the
  classifier's features, trained contrastively) for R-precision and text-image similarity.
- The composition caption side: the matcher's caption encoder fine-tuned on single emoji and
  pasted composites of pairs the composition prompts never ask for, its image side frozen
  (``composition_matcher.weights.h5``). Composition prompts are read through it: trained on
  single emoji alone, the caption side knows "top hat" only as a whole emoji, and pasted
  composites of the asked pairs scored 0.06-0.09 against chance 0.02 (0.23-0.30 through it).
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.data.images import to_unit_range
from emoji_t2i.data.vectorizers import load_vectorizer
from emoji_t2i.errors import MissingFile

JUDGES_DIR = Path(__file__).resolve().parent / "judges"
COMPOSITION_WEIGHTS = "composition_matcher.weights.h5"


def premultiply(images):
    """[-1, 1] straight RGBA -> [0, 1] premultiplied: invisible colour cannot sway a judge."""
    unit = (ops.cast(images, "float32") + 1.0) / 2.0
    return ops.concatenate([unit[..., :3] * unit[..., 3:], unit[..., 3:]], axis=-1)


@keras.saving.register_keras_serializable("emoji_t2i")
class EmojiClassifier(keras.Model):
    """A small convolutional classifier of 72x72x4 emoji, the zoo's Inception network.

    Input images are in [-1, 1] (the models' output range) and are premultiplied by alpha
    first. Six 3x3 convolutions (four of them stride 2) with BatchNorm and ReLU reduce the
    image to 5x5, global average pooling gives the ``feature_dim`` features used by FID/KID,
    and two linear heads predict the subcategory (for IS and held-out accuracy) and the
    training identity (a harder task that makes the features fine-grained). Random shifts,
    zooms and rotations augment training only.

    Args:
        num_subcategories: classes of the subcategory head.
        num_identities: classes of the identity head (training identities).
        widths: channels of the four stages.
        dropout: before the heads, in training.
    """

    def __init__(self, num_subcategories, num_identities, widths=(32, 64, 128, 256),
                 dropout=0.3, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.num_subcategories = num_subcategories
        self.num_identities = num_identities
        self.widths = tuple(widths)
        self.dropout = dropout
        # === Layers ===
        self.augment = keras.Sequential([
            layers.RandomTranslation(0.08, 0.08, fill_mode="constant"),
            layers.RandomZoom((-0.15, 0.15), fill_mode="constant"),
            layers.RandomRotation(0.03, fill_mode="constant"),
        ], name="augment")
        convs = [(widths[0], 2)]
        for width in widths[1:]:
            convs += [(width, 2), (width, 1)] if width != widths[-1] else [(width, 2)]
        trunk = []
        for width, stride in convs:
            trunk += [layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False),
                      layers.BatchNormalization(), layers.ReLU()]
        self.trunk = keras.Sequential([*trunk, layers.GlobalAveragePooling2D()], name="trunk")
        self.head_dropout = layers.Dropout(dropout)
        self.subcategory_head = layers.Dense(num_subcategories, name="subcategory")
        self.identity_head = layers.Dense(num_identities, name="identity")

    @property
    def feature_dim(self) -> int:
        return self.widths[-1]

    def build(self, input_shape):
        self.trunk.build(input_shape)
        for head in (self.subcategory_head, self.identity_head):
            head.build((None, self.feature_dim))
        self.built = True

    def features(self, images, training=False):
        x = premultiply(images)
        if training:
            x = self.augment(x, training=True)
        return self.trunk(x, training=training)

    def call(self, images, training=False):
        h = self.head_dropout(self.features(images, training), training=training)
        return {"subcategory": self.subcategory_head(h), "identity": self.identity_head(h)}

    def get_config(self):
        return {**super().get_config(), "num_subcategories": self.num_subcategories,
                "num_identities": self.num_identities, "widths": list(self.widths),
                "dropout": self.dropout}


@keras.saving.register_keras_serializable("emoji_t2i")
class TextImageMatcher(keras.Model):
    """DAMSM-style matcher: captions and images in one cosine space.

    The caption side is a word embedding and a bidirectional GRU (AttnGAN's DAMSM text
    encoder, without its word-level attention); the image side is a linear projection of the
    frozen ``EmojiClassifier`` features, as DAMSM projects a fixed Inception's. Training is a
    symmetric InfoNCE over the batch with a learned temperature.

    Args:
        vocabulary_size: of the word vectorizer.
        feature_dim: the classifier's feature size.
        embed_dim: joint space size.
        word_dim, rnn_units: the caption encoder's sizes.
    """

    def __init__(self, vocabulary_size, feature_dim, embed_dim=128, word_dim=96, rnn_units=128,
                 **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.feature_dim = feature_dim
        self.embed_dim = embed_dim
        self.word_dim = word_dim
        self.rnn_units = rnn_units
        # === Layers ===
        self.words = layers.Embedding(vocabulary_size, word_dim, mask_zero=True)
        self.rnn = layers.Bidirectional(layers.GRU(rnn_units))
        self.text_projection = layers.Dense(embed_dim, name="text_projection")
        self.image_projection = keras.Sequential(
            [layers.Dense(embed_dim * 2, activation="relu"), layers.Dense(embed_dim)],
            name="image_projection")
        self.logit_scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(2.3),
                                           name="logit_scale")

    def build(self, input_shapes):
        features_shape, tokens_shape = input_shapes
        self.words.build(tokens_shape)
        self.rnn.build((*tokens_shape, self.word_dim))
        self.text_projection.build((None, 2 * self.rnn_units))
        self.image_projection.build(features_shape)
        self.built = True

    def embed_text(self, tokens, training=False):
        return _l2(self.text_projection(self.rnn(self.words(tokens), training=training)))

    def embed_image_features(self, features, training=False):
        return _l2(self.image_projection(features, training=training))

    def call(self, inputs, training=False):
        features, tokens = inputs
        return ops.matmul(self.embed_text(tokens, training),
                          ops.transpose(self.embed_image_features(features, training)))

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "feature_dim": self.feature_dim, "embed_dim": self.embed_dim,
                "word_dim": self.word_dim, "rnn_units": self.rnn_units}


class _TextSide(keras.Model):
    """The matcher's caption path as a model of its own, so that ``predict`` compiles it: run
    eagerly, its masked GRU steps through each caption word by word in Python (20,000
    captions: 10.2 s eagerly, 1.7 s compiled, compile included)."""

    def __init__(self, matcher, **kwargs):
        super().__init__(name="text_side", **kwargs)
        self.matcher = matcher

    def call(self, tokens):
        return self.matcher.embed_text(tokens)


def _l2(x):
    return x / ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True) + 1e-12)


class Judges:
    """The shipped classifier + matcher (and the composition caption side, where trained),
    with batched numpy helpers for the metrics."""

    def __init__(self, classifier, matcher, vectorizer, info: dict, composition_matcher=None):
        self.classifier, self.matcher, self.vectorizer, self.info = classifier, matcher, vectorizer, info
        self._text_side = _TextSide(matcher) if matcher is not None else None
        # same image side as the matcher (frozen in its training), so image embeddings are shared
        self.composition_matcher = composition_matcher
        self._composition_text_side = _TextSide(composition_matcher) if composition_matcher is not None else None

    @classmethod
    def load(cls, directory: str | Path = JUDGES_DIR) -> Judges:
        directory = Path(directory)
        info_path = directory / "judges.json"
        if not info_path.exists():
            raise MissingFile(f"{info_path}: no evaluation networks; train them with "
                                    "python -m emoji_t2i.evaluation.train_judges")
        info = json.loads(info_path.read_text())
        classifier = EmojiClassifier(**info["classifier"])
        classifier(np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, CHANNELS), np.float32))
        classifier.load_weights(directory / "classifier.weights.h5")
        vectorizer = load_vectorizer(directory / "matcher_vectorizer.json")
        matcher = TextImageMatcher(**info["matcher"])
        matcher([np.zeros((1, classifier.feature_dim), np.float32), vectorizer([""])])
        matcher.load_weights(directory / "matcher.weights.h5")
        composition = None
        if "composition_matcher" in info:  # judges trained before it read composition prompts as the matcher does
            composition = TextImageMatcher(**info["matcher"])
            composition([np.zeros((1, classifier.feature_dim), np.float32), vectorizer([""])])
            composition.load_weights(directory / COMPOSITION_WEIGHTS)
        return cls(classifier, matcher, vectorizer, info, composition)

    def image_outputs(self, images_uint8, batch: int = 256):
        """(features, subcategory posteriors) of uint8 RGBA images."""
        feats, probs = [], []
        for start in range(0, len(images_uint8), batch):
            x = to_unit_range(np.asarray(images_uint8[start:start + batch], np.float32))
            f = self.classifier.features(x)
            feats.append(np.asarray(f))
            logits = self.classifier.subcategory_head(f)
            probs.append(np.asarray(ops.softmax(logits, axis=-1)))
        return np.concatenate(feats), np.concatenate(probs)

    def image_embeddings(self, features):
        return np.asarray(self.matcher.embed_image_features(np.asarray(features, np.float32)))

    def text_embeddings(self, captions, batch: int = 1024, composition: bool = False):
        """Caption embeddings; ``composition``: through the composition caption side (the
        matcher's own where these judges have none), for the composition prompts and their
        distractors. Either pairs with ``image_embeddings``."""
        side = self._composition_text_side if composition and self._composition_text_side else self._text_side
        if not len(captions):
            return np.zeros((0, self.matcher.embed_dim), np.float32)
        return np.asarray(side.predict(self.vectorizer(list(captions)), batch_size=batch, verbose=0))

    @property
    def composition_reader(self) -> str:
        """Which caption side reads the composition prompts (reports and probes record it)."""
        return "composition caption side" if self._composition_text_side else "matcher"
