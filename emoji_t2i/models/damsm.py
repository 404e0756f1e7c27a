"""``damsm``: AttnGAN's Deep Attentional Multimodal Similarity Model, pretrained for seed 003.

    python -m emoji_t2i.train --model damsm --out runs/damsm

A text encoder (a BiLSTM over learned word embeddings, or ``--set text_encoder=minilm``) and
an image encoder (local features at 18x18 and a global code) trained so that each caption's
words find their regions (the word-level loss) and each caption its image (the sentence
loss). It is a component: its grid shows the real emoji each fixed prompt retrieves, each
epoch logs held-out retrieval, and ``benchmarks/damsm_attention.py`` draws where each word
looks. ``--model attngan`` loads it frozen.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import ops

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.models import losses
from emoji_t2i.models.base import ShapeFreeZooModel
from emoji_t2i.models.registry import register
from emoji_t2i.networks.attention import paired_region_attention, word_match_scores
from emoji_t2i.networks.damsm import DamsmImageEncoder, DamsmTextEncoder


def damsm_losses(words, sentence, mask, regions, global_code, group, gamma1=4.0, gamma2=5.0, gamma3=10.0):
    """Per-example (word loss, sentence loss): AttnGAN's symmetric softmax over the batch of
    gamma3 x the word-level relevance R(Q, D), and of gamma3 x the cosine of sentence and
    global image code. Pairs of one ``group`` (an emoji identity; -1: none) are not negatives."""
    scale = ops.convert_to_tensor(math.log(gamma3))
    word_scores = word_match_scores(words, regions, mask, gamma1, gamma2)
    word_loss, _ = losses.symmetric_info_nce(word_scores, group, scale)
    cosine = ops.matmul(ops.normalize(sentence, axis=-1), ops.transpose(ops.normalize(global_code, axis=-1)))
    sentence_loss, _ = losses.symmetric_info_nce(cosine, group, scale)
    return word_loss, sentence_loss


@register("damsm")
@keras.saving.register_keras_serializable("emoji_t2i")
class DAMSM(ShapeFreeZooModel):
    """DAMSM (Xu et al. 2018) for 72x72 RGBA emoji.

    Loss per example: the word-level loss plus the sentence-level loss, each symmetric (the
    caption picks its image among the batch's and the image its caption), with AttnGAN's
    gamma1 = 4 (attention sharpness over regions), gamma2 = 5 (how much the best-matched
    words dominate), gamma3 = 10 (the softmax temperature). Two drawings of one emoji (the
    vendors, skin tones) are not negatives of each other. No augmentation: AttnGAN's DAMSM
    had none beyond crops, and a word's region must stay where it is.

    It is separate from the evaluation matcher (a caption LSTM over the judges' classifier
    features, trained to classify and match): different architecture, objective and seed.

    Args:
        vocabulary_size: the caption vectorizer's vocabulary.
        text_encoder: "bilstm" (AttnGAN's) or "minilm" (frozen MiniLM token features).
        embed_dim: the joint space (word, sentence, region and global features).
        word_dim: the BiLSTM's word embedding size.
        widths: image encoder channels at 36, 18 and 9 px.
        gamma1, gamma2, gamma3: AttnGAN's attention and softmax scales (above).
        num_classes: classes of the label fields; the first (identity) masks same-emoji pairs.
    """

    OPTIMIZERS = {"optimizer": "lr"}
    training_defaults = {"lr": 1e-3, "beta_1": 0.9, "beta_2": 0.99, "aux_labels": "identity"}
    run_defaults = {"epochs": 10, "seed": 3}
    uses_labels = True
    is_generator = False
    preview = "retrieval"
    component_hint = "it is a text-image matching model (AttnGAN's DAMSM) that --model attngan loads"
    progress_metrics = ("word_loss", "sentence_loss")
    noise_dim = 0

    def __init__(self, vocabulary_size, text_encoder="bilstm", embed_dim=128, word_dim=128, widths=(32, 64, 128),
                 gamma1=4.0, gamma2=5.0, gamma3=10.0, num_classes=(), **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size, self.text_encoder_kind = vocabulary_size, text_encoder
        self.embed_dim, self.word_dim, self.widths = embed_dim, word_dim, tuple(widths)
        self.gamma1, self.gamma2, self.gamma3 = gamma1, gamma2, gamma3
        self.num_classes = tuple(num_classes)
        # === Networks ===
        self.text_encoder = DamsmTextEncoder(vocabulary_size, text_encoder, embed_dim, word_dim, name="text_encoder")
        self.image_encoder = DamsmImageEncoder(embed_dim, self.widths, name="image_encoder")
        self.trackers = {n: keras.metrics.Mean(name=n) for n in ("loss", "word_loss", "sentence_loss")}

    def networks(self):
        return {"text_encoder": self.text_encoder, "image_encoder": self.image_encoder}

    def sampling_layers(self):
        return [self.text_encoder, self.image_encoder]

    def build(self, input_shape=None):
        self.text_encoder(ops.ones((2, 4), "int32"))
        self.image_encoder(ops.zeros((2, IMAGE_SIZE, IMAGE_SIZE, CHANNELS)))
        self.built = True

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "text_encoder": self.text_encoder_kind, "embed_dim": self.embed_dim, "word_dim": self.word_dim,
                "widths": list(self.widths), "gamma1": self.gamma1, "gamma2": self.gamma2,
                "gamma3": self.gamma3, "num_classes": list(self.num_classes)}

    # --- retrieval (the training grid) and attention maps ---------------------------------
    def embed_text(self, tokens):
        return ops.normalize(self.text_encoder(tokens)[1], axis=-1)

    def embed_images(self, images, training=False):
        return ops.normalize(self.image_encoder(images, training=training)[1], axis=-1)

    def attention_maps(self, tokens, images):
        """(B, T, 18, 18): where each word of caption b looks in image b (rows sum to 1 over
        the regions), and the (B, T) mask of real words."""
        words, _, mask = self.text_encoder(tokens)
        regions, _ = self.image_encoder(images)
        alpha = paired_region_attention(words, regions, mask, self.gamma1)
        size = int(round(math.sqrt(regions.shape[1])))
        return ops.reshape(alpha, (-1, ops.shape(words)[1], size, size)), mask

    # --- training ------------------------------------------------------------------------------
    def pair_losses(self, data, training=True):
        words, sentence, mask = self.text_encoder(data["tokens"], training=training)
        regions, global_code = self.image_encoder(data["images"], training=training)
        labels = data["labels"]
        group = labels[:, 0] if self.num_classes else -ops.ones(ops.shape(labels)[:1], "int32")
        return damsm_losses(words, sentence, mask, regions, global_code, group,
                            self.gamma1, self.gamma2, self.gamma3)

    def train_step(self, data):
        variables = self._trained_variables()
        with tf.GradientTape() as tape:
            word_loss, sentence_loss = self.pair_losses(data)
            per_example = word_loss + sentence_loss
            loss = tf.nn.compute_average_loss(per_example)
            scaled = self.optimizer.scale_loss(loss)
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables, strict=True))
        for name, value in (("loss", per_example), ("word_loss", word_loss), ("sentence_loss", sentence_loss)):
            self.trackers[name].update_state(ops.mean(value))
        return {name: t.result() for name, t in self.trackers.items()}
