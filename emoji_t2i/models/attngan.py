"""``attngan``: seed 003's AttnGAN, for 72x72 RGBA emoji, on a frozen pretrained DAMSM.

    python -m emoji_t2i.train --model attngan --out runs/attngan       # on the shipped damsm-emoji72
    python -m emoji_t2i.train --model attngan --set damsm_run=runs/damsm  # on a DAMSM trained by --model damsm

StackGAN++'s generator tree in which every region of the 18 and 36 px feature maps attends
over the caption's words (the word context joins the map instead of a tiled sentence code),
one discriminator per scale, and the frozen DAMSM's word and sentence matching losses on the
72 px image.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.errors import UsageError
from emoji_t2i.models.damsm import damsm_losses
from emoji_t2i.models.multiscale_gan import MultiScaleGAN, TreeGenerator
from emoji_t2i.models.registry import register
from emoji_t2i.networks.attention import word_context
from emoji_t2i.networks.damsm import DamsmImageEncoder, DamsmTextEncoder

DAMSM_KEYS = ("text_encoder", "embed_dim", "word_dim", "widths", "gamma1", "gamma2", "gamma3")


@keras.saving.register_keras_serializable("emoji_t2i")
class AttentionGenerator(TreeGenerator):
    """The tree generator with AttnGAN's attention: at 18 and 36 px each region (a query of
    the map's channels) attends over the words, projected to those channels by a Dense (AttnGAN's
    1x1 ``conv_context``); the attended word context is concatenated with the map. Inputs:
    [noise, sentence code, words (B, T, E), mask (B, T)]."""

    def __init__(self, z_dim=64, condition_dim=64, channels=(192, 128, 64, 32), residual_blocks=1, **kwargs):
        super().__init__(z_dim, condition_dim, channels, residual_blocks, **kwargs)
        self.word_projection2 = layers.Dense(self.channels[1], use_bias=False, name="word_projection2")
        self.word_projection3 = layers.Dense(self.channels[2], use_bias=False, name="word_projection3")

    def side_input(self, stage, x, condition, extra):
        words, mask = extra
        b, h, w, c = ops.shape(x)
        keys = getattr(self, f"word_projection{stage}")(ops.cast(words, self.compute_dtype))
        context, _ = word_context(ops.reshape(x, (b, h * w, c)), keys, mask)
        return ops.reshape(context, (b, h, w, c))


@register("attngan")
@keras.saving.register_keras_serializable("emoji_t2i")
class AttnGAN(MultiScaleGAN):
    """Seed 003: AttnGAN (Xu et al. 2018) at 18 -> 36 -> 72 px on a frozen DAMSM.

    The DAMSM's text encoder gives the sentence code (Conditioning Augmentation, stage 1,
    the discriminators' conditional heads) and the word features (the attention stages);
    its image encoder scores G's 72 px output: ``damsm_weight`` x (word loss + sentence
    loss), AttnGAN's L_DAMSM (lambda = 5 on birds). Discriminators per scale: unconditional
    + conditional, as StackGAN++ (``MultiScaleGAN``). The DAMSM is never trained here, and it
    is not the evaluation matcher (see ``damsm``).

    Args:
        vocabulary_size: the DAMSM run's caption vocabulary (its vectorizer is reused).
        damsm_run: a trained ``damsm``: the shipped preset ``damsm-emoji72`` (the default), a
            preset folder or a run directory (read once, when the run starts).
        damsm_config: the DAMSM's architecture and gammas, pinned from ``damsm_run``.
        damsm_weight: weight of the DAMSM loss in G's loss.
        Plus ``MultiScaleGAN``'s (condition_dim, g_channels, residual_blocks, d_channels,
        kl_weight, color_weight) and the shared GAN arguments (see ``cgan``).
    """

    progress_metrics = ("d_loss", "g_loss", "damsm_word")
    extra_metrics = ("damsm_word", "damsm_sentence")

    def __init__(self, vocabulary_size, damsm_run="damsm-emoji72", damsm_config=None, damsm_weight=5.0, **kwargs):
        kwargs.pop("text_encoder", None)  # the DAMSM's, in damsm_config
        if not damsm_config:
            raise UsageError("attngan needs a pretrained DAMSM: --set damsm_run=RUN_DIR "
                             "(train one with python -m emoji_t2i.train --model damsm)")
        # === Config ===
        self.damsm_run, self.damsm_weight = str(damsm_run), damsm_weight
        self.damsm_config = {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in damsm_config.items()}
        self.embed_dim = int(self.damsm_config["embed_dim"])
        super().__init__(vocabulary_size, text_encoder="damsm", **kwargs)
        # === The frozen DAMSM ===
        c = self.damsm_config
        self.damsm_text = DamsmTextEncoder(vocabulary_size, c["text_encoder"], c["embed_dim"], c["word_dim"],
                                           name="damsm_text", trainable=False)
        self.damsm_image = DamsmImageEncoder(c["embed_dim"], c["widths"], name="damsm_image", trainable=False)

    def make_generator(self, name):
        return AttentionGenerator(self.z_dim, self.condition_dim, self.g_channels, self.residual_blocks, name=name)

    def get_config(self):
        return {**super().get_config(), "damsm_run": self.damsm_run, "damsm_config": dict(self.damsm_config),
                "damsm_weight": self.damsm_weight}

    def build(self, input_shape=None):
        self.damsm_image(ops.zeros((2, IMAGE_SIZE, IMAGE_SIZE, CHANNELS)))
        super().build(input_shape)  # builds the text encoder through condition()

    def condition(self, tokens):
        words, sentence, mask = self.damsm_text(ops.convert_to_tensor(tokens))
        return sentence, [words, mask]

    def sampling_layers(self):
        return [self.ema_generator, self.damsm_text]

    def frozen_components(self):
        return [self.damsm_text, self.damsm_image]

    # --- the DAMSM this one starts from -------------------------------------------------------
    ENCODER = ("damsm_run", "damsm", "damsm_config", DAMSM_KEYS)

    def initialize_from_runs(self, load_run):
        damsm = load_run(self.damsm_run, "damsm")[0]
        self.damsm_text.set_weights(damsm.text_encoder.get_weights())
        self.damsm_image.set_weights(damsm.image_encoder.get_weights())

    # --- seed 003's DAMSM loss ---------------------------------------------------------------
    def g_extra_loss(self, fakes, fake_features, sentence, extra):
        words, mask = extra
        regions, global_code = self.damsm_image(fakes[-1])
        c = self.damsm_config
        word, sent = damsm_losses(words, sentence, mask, regions, global_code,
                                  -ops.ones(ops.shape(sentence)[:1], "int32"), c["gamma1"], c["gamma2"], c["gamma3"])
        return self.damsm_weight * (word + sent), {"damsm_word": word, "damsm_sentence": sent}

