"""``stackganpp``: seed 001's CLIP-conditioned StackGAN++, for 72x72 RGBA emoji.

    python -m emoji_t2i.train --model stackganpp --out runs/stackganpp    # on the shipped clip-emoji72
    python -m emoji_t2i.train --model stackganpp --set clip_run=runs/clip  # on a CLIP trained by --model clip

One generator tree draws each emoji at 18, 36 and 72 px; three discriminators (one per
scale) each judge with an unconditional, a conditional and a CLIP-aligned head; the frozen
emoji CLIP gives the condition (its text embedding of the caption) and a contrastive loss
between its image embedding of the 72 px output and that text embedding.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.errors import UsageError
from emoji_t2i.models import losses
from emoji_t2i.models.clip import ClipImageEncoder, TextProjection
from emoji_t2i.models.multiscale_gan import MultiScaleGAN
from emoji_t2i.models.registry import register

ALIGN_LOGIT_SCALE = math.log(10.0)  # the aligned heads' InfoNCE temperature 0.1


def info_nce(a, b, logit_scale):
    """Symmetric InfoNCE per example between two batches of unit vectors (pairs on the diagonal)."""
    return losses.symmetric_info_nce(ops.matmul(a, ops.transpose(b)), -ops.ones(ops.shape(a)[:1], "int32"),
                                     logit_scale)[0]


@register("stackganpp")
@keras.saving.register_keras_serializable("emoji_t2i")
class StackGANpp(MultiScaleGAN):
    """Seed 001: StackGAN++ conditioned on an emoji CLIP, at 18 -> 36 -> 72 px.

    The condition is the frozen emoji CLIP's text embedding of the caption (frozen MiniLM,
    then the CLIP's trained projection; seed 001 used OpenAI's CLIP, which cannot be
    downloaded here, so ``--model clip`` trains one in the domain first). Conditioning
    Augmentation samples the generator's condition around it.

    Losses, per scale s (hinge, DiffAugment on real and fake):
    - D: unconditional + conditional (matching-aware: a real image with another caption is
      fake) + ``align_weight`` x InfoNCE between the aligned head's embedding of the REAL
      images and their captions' CLIP text embeddings;
    - G: the same adversarial terms for its image at s, ``align_weight`` x the aligned head's
      InfoNCE for its images, plus, at 72 px, ``clip_weight`` x InfoNCE between the frozen
      CLIP's image embedding of G's output and the text embedding (seed 001's contrastive
      loss, at the CLIP's learned temperature), ``kl_weight`` x the CA KL and, optionally,
      ``color_weight`` x StackGAN++'s colour consistency between neighbouring scales.
    The CLIP, like the judges that score the zoo, is never trained here; it differs from
    them (see ``clip``).

    Args:
        vocabulary_size: the WordPiece vocabulary (minilm's).
        clip_run: a trained ``clip``: the shipped preset ``clip-emoji72`` (the default), a
            preset folder or a run directory (read once, when the run starts).
        clip_config: the CLIP's architecture (``embed_dim``, ``widths``), pinned from
            ``clip_run`` when the run starts so the run stands alone.
        noise_dim: size of z. condition_dim: size of the CA condition.
        g_channels: generator channels at 9, 18, 36 and 72 px.
        residual_blocks: residual blocks in each joining stage.
        d_channels: discriminator channels at 72, 36, 18 and 9 px (a smaller scale's D uses
            the last ones).
        kl_weight, clip_weight, align_weight, color_weight: loss weights (above).
        Plus the shared GAN arguments (``loss``, ``matching_weight``, ``augment``,
        ``ema_decay``): see ``cgan``.
    """

    training_defaults = {**MultiScaleGAN.training_defaults, "tokenizer": "wordpiece",
                         "sequence_length": 24}  # minilm reads word pieces
    aligned = True
    progress_metrics = ("d_loss", "g_loss", "clip_loss")
    extra_metrics = ("clip_loss", "align_loss")

    def __init__(self, vocabulary_size, clip_run="clip-emoji72", clip_config=None, clip_weight=1.0, align_weight=0.5,
                 **kwargs):
        if kwargs.pop("text_encoder", "minilm") != "minilm":
            raise UsageError("stackganpp reads the emoji CLIP's text embedding (of minilm); "
                             "it takes no --set text_encoder")
        if not clip_config:
            raise UsageError("stackganpp needs a trained emoji CLIP: --set clip_run=RUN_DIR "
                             "(train one with python -m emoji_t2i.train --model clip)")
        # === Config ===
        self.clip_run, self.clip_config = str(clip_run), {
            "embed_dim": int(clip_config["embed_dim"]), "widths": [int(w) for w in clip_config["widths"]]}
        self.clip_weight, self.align_weight = clip_weight, align_weight
        self.embed_dim = self.clip_config["embed_dim"]
        # === The frozen emoji CLIP ===
        from emoji_t2i.text.minilm import shared_minilm

        super().__init__(vocabulary_size, text_encoder="minilm", **kwargs)
        self.minilm = shared_minilm()
        self.clip_text = TextProjection(self.embed_dim, name="clip_text", trainable=False)
        self.clip_image = ClipImageEncoder(self.embed_dim, self.clip_config["widths"], name="clip_image",
                                           trainable=False)

    def get_config(self):
        return {**super().get_config(), "clip_run": self.clip_run, "clip_config": dict(self.clip_config),
                "clip_weight": self.clip_weight, "align_weight": self.align_weight}

    def build(self, input_shape=None):
        self.clip_text.build((None, self.minilm.output_dim))
        self.clip_image(ops.zeros((2, IMAGE_SIZE, IMAGE_SIZE, CHANNELS)))
        super().build(input_shape)

    # --- the frozen CLIP ---------------------------------------------------------------------
    def embed_text(self, tokens):
        """WordPiece ids, or cached minilm features, -> unit CLIP text embeddings (B, E)."""
        tokens = ops.convert_to_tensor(tokens)
        pooled = tokens if tokens.dtype.is_floating else self.minilm(tokens)["pooled"]
        return ops.normalize(self.clip_text(pooled), axis=-1)

    def condition(self, tokens):
        # Unit vectors have entries ~1/sqrt(E): scaled to unit variance, or CA's mu would be
        # drowned by its sigma (~1 at the start) and G would ignore the text (seen at epoch 1).
        return self.embed_text(tokens) * math.sqrt(self.embed_dim), []

    def sampling_layers(self):
        return [self.ema_generator, self.clip_text, self.minilm]

    def frozen_components(self):
        return [self.clip_text, self.clip_image]

    # --- the CLIP this one starts from ---------------------------------------------------------
    ENCODER = ("clip_run", "clip", "clip_config", ("embed_dim", "widths"))

    def initialize_from_runs(self, load_run):
        clip = load_run(self.clip_run, "clip")[0]
        self.clip_text.set_weights(clip.text_projection.get_weights())
        self.clip_image.set_weights(clip.image_encoder.get_weights())

    # --- seed 001's losses -------------------------------------------------------------------
    def d_scale_loss(self, d, real_features, sentence):
        return self.align_weight * info_nce(d.aligned(real_features), ops.normalize(sentence, axis=-1),
                                            ALIGN_LOGIT_SCALE)

    def g_extra_loss(self, fakes, fake_features, sentence, extra):
        sentence = ops.normalize(sentence, axis=-1)
        align = sum(info_nce(d.aligned(f), sentence, ALIGN_LOGIT_SCALE)
                    for d, f in zip(self.discriminator.scales(), fake_features, strict=True))
        clip = info_nce(ops.normalize(self.clip_image(fakes[-1]), axis=-1), sentence,
                        ops.stop_gradient(self.clip_text.logit_scale))
        return self.align_weight * align + self.clip_weight * clip, {"clip_loss": clip, "align_loss": align}
