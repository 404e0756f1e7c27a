"""``vq``: the image tokenizer of the DALL·E-like pair (diary days 8-10), a VQ-VAE.

    python -m emoji_t2i.train --model vq --out runs/vq
    python -m emoji_t2i.train --model vq_transformer --set image_tokenizer=runs/vq

It turns each emoji into a grid of codebook ids (18x18 by default) and back; the
``vq_transformer`` prior models those ids given a caption.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.data.images import premultiply, unpremultiply
from emoji_t2i.models.base import ShapeFreeZooModel
from emoji_t2i.models.registry import register
from emoji_t2i.networks.vq import VectorQuantizer, VQDecoder, VQEncoder


@register("vq")
@keras.saving.register_keras_serializable("emoji_t2i")
class VQImageTokenizer(ShapeFreeZooModel):
    """VQ-VAE on premultiplied RGBA: encoder -> EMA vector quantiser -> decoder.

    Loss: mean squared reconstruction error (premultiplied, so transparent pixels carry no
    colour to reproduce) + ``commitment`` x the encoder's distance to its codes. The codebook
    is not trained by gradients: it is an EMA of the encoder outputs assigned to each code,
    with dead codes restarted at batch vectors (``networks/vq.py``), so most codes stay used.
    Logged: ``psnr`` (dB, on [0, 1] pixels) and ``usage`` (share of the codebook a batch uses);
    the preview grid shows held-out emoji over their reconstructions.

    Args:
        vocabulary_size: unused (the zoo's constructor contract); an image tokenizer reads
            no text.
        widths: channels at 36, 18 (and 9) px.
        downsample: 4 (18x18 = 324 codes per emoji) or 8 (9x9 = 81).
        code_dim: size of each code vector.
        num_codes: codebook size (the prior's image vocabulary).
        commitment: weight of the commitment loss (VQ-VAE: 0.25).
        decay: EMA decay of the codebook.
    """

    OPTIMIZERS = {"optimizer": "lr"}
    training_defaults = {"lr": 1e-3, "beta_1": 0.9, "beta_2": 0.99, "aux_labels": ""}
    is_generator = False
    preview = "reconstructions"
    component_hint = "it is an image tokenizer; use it with --model vq_transformer --set image_tokenizer=RUN_DIR"
    progress_metrics = ("loss", "psnr", "usage")
    noise_dim = 0

    def __init__(self, vocabulary_size, widths=(48, 96, 128), downsample=4, code_dim=32, num_codes=512,
                 commitment=0.25, decay=0.99, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size, self.widths, self.downsample = vocabulary_size, tuple(widths), downsample
        self.code_dim, self.num_codes, self.commitment, self.decay = code_dim, num_codes, commitment, decay
        # === Networks ===
        self.encoder = VQEncoder(self.widths, downsample, code_dim, name="encoder")
        self.quantizer = VectorQuantizer(num_codes, code_dim, decay, name="quantizer")
        self.decoder = VQDecoder(self.widths, downsample, name="decoder")
        self.trackers = {n: keras.metrics.Mean(name=n) for n in ("loss", "psnr", "usage")}

    @property
    def grid_size(self) -> int:
        return IMAGE_SIZE // self.downsample

    def random_draws(self):
        return {}

    def networks(self):
        return {"encoder": self.encoder, "decoder": self.decoder}

    def sampling_layers(self):
        return [self.encoder, self.quantizer, self.decoder]

    def build(self, input_shape=None):
        self.quantizer.build()
        self.reconstruct(ops.zeros((2, IMAGE_SIZE, IMAGE_SIZE, CHANNELS)))
        self.built = True

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "widths": list(self.widths),
                "downsample": self.downsample, "code_dim": self.code_dim, "num_codes": self.num_codes,
                "commitment": self.commitment, "decay": self.decay}

    # --- the tokenizer -------------------------------------------------------------------------
    def encode(self, images):
        """Straight RGBA in [-1, 1] (B, 72, 72, 4) -> code ids (B, g, g) int."""
        return self.quantizer.nearest(self.encoder(premultiply(images)))

    def decode(self, ids):
        """Code ids (B, g, g) -> straight RGBA in [-1, 1], float32 (B, 72, 72, 4)."""
        return unpremultiply(self.decoder(self.quantizer.lookup(ids)))

    def reconstruct(self, images):
        return self.decode(self.encode(images))

    def call(self, images, training=False):
        return self.reconstruct(images)

    # --- training ------------------------------------------------------------------------------
    def losses_of(self, images, training=True):
        target = premultiply(images)
        z = self.encoder(target, training=training)
        quantised, ids, commitment = self.quantizer(z)
        out = ops.cast(self.decoder(quantised, training=training), "float32")
        error = ops.mean(ops.square(out - target), axis=(1, 2, 3))
        return error, commitment, z, ids

    def train_step(self, data):
        variables = self._trained_variables()
        with tf.GradientTape() as tape:
            error, commitment, z, ids = self.losses_of(data["images"])
            per_example = error + self.commitment * commitment
            loss = tf.nn.compute_average_loss(per_example)
            scaled = self.optimizer.scale_loss(loss)
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables, strict=True))
        counts = self.quantizer.update(z, ids)
        self.trackers["loss"].update_state(ops.mean(per_example))
        # error is on [-1, 1]; on [0, 1] pixels it is a quarter of that.
        self.trackers["psnr"].update_state(ops.mean(-10.0 * ops.log10(error / 4.0 + 1e-10)))
        self.trackers["usage"].update_state(ops.mean(ops.cast(counts > 0, "float32")))
        return {name: t.result() for name, t in self.trackers.items()}
