"""``vq_transformer``: the diary's days 8-10 done properly: a text-conditioned transformer
over the ``vq`` tokenizer's image tokens (DALL·E's two stages; MaskGIT's decoding).

    python -m emoji_t2i.train --model vq --out runs/vq
    python -m emoji_t2i.train --model vq_transformer --set image_tokenizer=runs/vq --out runs/vqt
    python -m emoji_t2i.generate --run runs/vqt "crying cat" --num-steps 12 --temperature 1
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from emoji_t2i.errors import UsageError
from emoji_t2i.models.base import ShapeFreeZooModel
from emoji_t2i.models.registry import register
from emoji_t2i.models.vq import VQImageTokenizer
from emoji_t2i.networks.lr_schedules import WarmupCosine
from emoji_t2i.networks.optimizers import AdamW
from emoji_t2i.networks.transformer import MaskedTokenTransformer, TextPrefix
from emoji_t2i.schedulers import MaskGITSampler
from emoji_t2i.text import make_text_encoder

TOKENIZER_KEYS = ("widths", "downsample", "code_dim", "num_codes")


@register("vq_transformer")
@keras.saving.register_keras_serializable("emoji_t2i")
class VQTransformer(ShapeFreeZooModel):
    """Masked image-token transformer conditioned on text, on a frozen ``vq`` tokenizer.

    Training (MaskGIT): an emoji's token grid (from the frozen tokenizer), a share
    cos(pi/2 u), u ~ U(0, 1), of its tokens replaced by [MASK], cross-entropy on the masked
    positions (label smoothing 0.1). The caption enters as a prefix: minilm's token features
    (the diary's "BERT output in place of the word embedding", here with a learned projection
    and a padding mask) or one pooled code of a learned encoder. Captions are dropped for
    ``condition_dropout`` of the examples (classifier-free guidance).

    Sampling: MaskGIT decoding in ``num_steps`` batched calls (conditional and unconditional
    together), ``temperature`` and ``top_k`` on the token distribution, then the tokenizer's
    decoder. Randomness is keyed by the starting noise, so a seed reproduces everywhere.

    Args:
        vocabulary_size: the caption tokenizer's vocabulary size.
        image_tokenizer: run directory of a trained ``vq`` model (read once, when training
            starts: its weights are copied in and its architecture is recorded in
            ``tokenizer_config``, so the run stands alone afterwards).
        tokenizer_config: the tokenizer's ``widths``, ``downsample``, ``code_dim`` and
            ``num_codes`` (filled from ``image_tokenizer``).
        text_encoder: ``minilm`` (frozen, token features) or a learned zoo kind.
        text_dim: a learned encoder's output size.
        width, depth, heads, dropout: the transformer's size.
        condition_dropout: share of training captions replaced by the null prefix.
        num_steps, guidance_scale, temperature, top_k: sampling defaults.
    """

    OPTIMIZERS = {"optimizer": "lr"}
    progress_metrics = ("loss", "accuracy")
    run_defaults = {"epochs": 6}
    training_defaults = {"lr": 5e-4, "beta_1": 0.9, "beta_2": 0.99, "weight_decay": 0.01,
                         "warmup_steps": 200, "aux_labels": ""}

    def __init__(self, vocabulary_size, image_tokenizer="", tokenizer_config=None, text_encoder="minilm",
                 text_dim=128, width=128, depth=4, heads=4, dropout=0.1, condition_dropout=0.15,
                 num_steps=12, guidance_scale=3.0, temperature=1.0, top_k=0, **kwargs):
        super().__init__(**kwargs)
        if not tokenizer_config:
            raise UsageError("vq_transformer needs a trained image tokenizer: --set image_tokenizer=RUN_DIR "
                             "(train one with python -m emoji_t2i.train --model vq)")
        # === Config ===
        self.vocabulary_size, self.image_tokenizer = vocabulary_size, str(image_tokenizer)
        self.tokenizer_config = {k: (list(v) if isinstance(v, (list, tuple)) else v)
                                 for k, v in dict(tokenizer_config).items() if k in TOKENIZER_KEYS}
        self.text_encoder_kind, self.text_dim = text_encoder, text_dim
        self.width, self.depth, self.heads, self.dropout = width, depth, heads, dropout
        self.condition_dropout, self.num_steps, self.guidance_scale = condition_dropout, num_steps, guidance_scale
        self.temperature, self.top_k = temperature, top_k
        # === Networks ===
        self.tokenizer = VQImageTokenizer(0, **self.tokenizer_config, name="image_tokenizer")
        self.tokenizer.trainable = False
        self.num_codes, self.grid = self.tokenizer.num_codes, self.tokenizer.grid_size
        self.length = self.grid * self.grid
        if text_encoder == "minilm":
            from emoji_t2i.text.minilm import shared_minilm

            self.text_encoder = shared_minilm()
        else:
            self.text_encoder = make_text_encoder(text_encoder, vocabulary_size, text_dim, name="text_encoder")
        self.text_prefix = TextPrefix(width, name="text_prefix")
        self.transformer = MaskedTokenTransformer(self.num_codes, self.length, width, depth, heads,
                                                  dropout=dropout, name="transformer")
        self.sampler = MaskGITSampler(mask_id=self.num_codes)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in ("loss", "accuracy")}

    # --- what the engine asks of a zoo model ------------------------------------------------
    noise_shape = (2,)  # keys the decoding's stateless randomness

    def random_draws(self):
        return {"keep": ("uniform", ()), "mask_time": ("uniform", ()), "mask_scores": ("uniform", (self.length,))}

    @classmethod
    def source_runs(cls, hparams):
        tokenizer = [hparams["image_tokenizer"]] if hparams.get("image_tokenizer") else []
        return [*super().source_runs(hparams), *tokenizer]

    @classmethod
    def text_source_runs(cls, hparams):
        return super().source_runs(hparams)  # the tokenizer run's caption vectorizer is not ours

    @classmethod
    def pin_sources(cls, hparams, read_config):
        hparams = super().pin_sources(hparams, read_config)
        if not hparams.get("image_tokenizer"):
            raise UsageError("vq_transformer needs a trained image tokenizer: --set image_tokenizer=RUN_DIR "
                             "(train one with python -m emoji_t2i.train --model vq)")
        source = read_config(hparams["image_tokenizer"])
        if source.get("model") != "vq":
            raise UsageError(f"image_tokenizer {hparams['image_tokenizer']}: a {source.get('model')!r} run, "
                             "not a vq one")
        return {**hparams, "tokenizer_config": {k: source["hparams"][k] for k in TOKENIZER_KEYS}}

    def initialize_from_runs(self, load_run):
        super().initialize_from_runs(load_run)
        vq = load_run(self.image_tokenizer, "vq")[0]
        for mine, theirs in zip(self.tokenizer.sampling_layers(), vq.sampling_layers(), strict=True):
            mine.set_weights(theirs.get_weights())

    def frozen_components(self):
        return self.tokenizer.sampling_layers()

    def networks(self):
        nets = {"transformer": self.transformer, "text_prefix": self.text_prefix}
        if self.text_encoder_kind != "minilm":
            nets["text_encoder"] = self.text_encoder
        return nets

    def sampling_layers(self):
        return [self.transformer, self.text_prefix, self.text_encoder, *self.tokenizer.sampling_layers()]

    def make_optimizers(self, training: dict, total_steps: int) -> dict:
        return {"optimizer": AdamW(
            self.learning_rate(training, total_steps), weight_decay=float(training["weight_decay"]),
            beta_1=float(training["beta_1"]), beta_2=float(training["beta_2"]), clipnorm=1.0)}

    def apply_learning_rates(self, training: dict, total_steps: int) -> None:
        self.optimizer.learning_rate = self.learning_rate(training, total_steps)

    @staticmethod
    def learning_rate(training, total_steps):
        # A short run (the zoo's 222 steps) would otherwise spend nearly all of it warming up.
        warmup = min(int(training["warmup_steps"]), max(1, total_steps // 10))
        return WarmupCosine(float(training["lr"]), warmup, total_steps)

    def build(self, input_shape=None):
        self.tokenizer.build()
        tokens = ops.ones((2, 8), "int32")
        self.logits(ops.zeros((2, self.length), "int32"), self.prefix(tokens, ops.ones((2,))))
        self.built = True

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "image_tokenizer": self.image_tokenizer, "tokenizer_config": self.tokenizer_config,
                "text_encoder": self.text_encoder_kind, "text_dim": self.text_dim, "width": self.width,
                "depth": self.depth, "heads": self.heads, "dropout": self.dropout,
                "condition_dropout": self.condition_dropout, "num_steps": self.num_steps,
                "guidance_scale": self.guidance_scale, "temperature": self.temperature, "top_k": self.top_k}

    # --- the network -----------------------------------------------------------------------------
    def prefix(self, tokens, keep, training=False):
        if self.text_encoder_kind == "minilm":
            out = self.text_encoder(tokens)
            features, mask = ops.stop_gradient(ops.cast(out["sequence"], "float32")), out["mask"]
        else:
            features = ops.cast(self.text_encoder(tokens, training=training), "float32")
            mask = ops.ones_like(features[:, :1])
        return self.text_prefix(features, mask, keep)

    def logits(self, ids, prefix, training=False):
        return self.transformer((ids, *prefix), training=training)

    # --- sampling ------------------------------------------------------------------------------
    takes_negative_prompt = True

    def negative_condition(self, tokens, style=None):
        """What ``sample(negative=...)`` takes for tokenised negative prompts: their tokens (the
        prefix is computed with the prompts')."""
        return tokens

    def sample(self, tokens, noise, num_steps=None, guidance_scale=None, temperature=None, top_k=None,
               callback=None, negative=None, negative_keep=1.0):
        """Images in [-1, 1] (B, 72, 72, 4): MaskGIT decoding, then the tokenizer's decoder.

        ``negative`` (tokens shaped as ``tokens``): a negative prompt, read in the null
        prefix's place, so that guidance, uncond + s (cond - uncond), pushes the token
        distribution away from it at no extra cost. ``negative_keep`` 0 (a tensor may choose)
        reads those rows as the null prefix after all: a SavedModel's one graph, whose empty
        negative prompt is none."""
        num_steps = self.num_steps if num_steps is None else num_steps
        guidance = tf.cast(self.guidance_scale if guidance_scale is None else guidance_scale, tf.float32)
        batch = tf.shape(tokens)[0]
        null_keep = 0.0 if negative is None else tf.cast(negative_keep, tf.float32)
        both = tf.concat([tokens, tokens if negative is None else tf.cast(negative, tokens.dtype)], 0)
        keep = tf.concat([tf.ones([batch]), tf.fill([batch], null_keep)], 0)
        prefix, mask = self.prefix(both, keep)

        def logits_fn(ids):
            out = self.logits(tf.concat([ids, ids], 0), (prefix, mask))
            if callback is not None and tf.executing_eagerly():
                callback()
            cond, uncond = out[:batch], out[batch:]
            return uncond + guidance * (cond - uncond)

        seed = tf.bitcast(tf.cast(tf.reshape(noise, [-1, 2])[0], tf.float32), tf.int32)
        ids = self.sampler.sample(logits_fn, batch, self.length, num_steps, seed,
                                  self.temperature if temperature is None else temperature,
                                  self.top_k if top_k is None else top_k)
        return self.tokenizer.decode(tf.reshape(ids, [batch, self.grid, self.grid]))

    def generate(self, tokens, noise):
        if "_sample_graph" not in self.__dict__:
            self.__dict__["_sample_graph"] = tf.function(self.sample)
        return self.__dict__["_sample_graph"](tokens, noise)

    # --- training ------------------------------------------------------------------------------
    def masked_inputs(self, ids, mask_time, mask_scores):
        """MaskGIT's training corruption: ceil(cos(pi/2 u) L) positions (at least one) with the
        lowest scores become [MASK]. Returns (inputs, masked as float)."""
        count = tf.maximum(1, tf.cast(tf.math.ceil(tf.cos(mask_time * 3.14159265 / 2) * self.length), tf.int32))
        ranks = tf.argsort(tf.argsort(mask_scores, axis=-1), axis=-1)
        masked = ranks < count[:, None]
        return tf.where(masked, self.num_codes, ids), tf.cast(masked, tf.float32)

    def token_loss(self, data, training=True):
        ids = tf.reshape(tf.cast(self.tokenizer.encode(data["images"]), tf.int32), [-1, self.length])
        inputs, masked = self.masked_inputs(ids, data["mask_time"], data["mask_scores"])
        keep = tf.cast(data["keep"] >= self.condition_dropout, tf.float32)
        logits = self.logits(inputs, self.prefix(data["tokens"], keep, training), training)
        targets = tf.one_hot(ids, self.num_codes) * 0.9 + 0.1 / self.num_codes
        ce = tf.nn.softmax_cross_entropy_with_logits(targets, logits)
        per_example = tf.reduce_sum(ce * masked, 1) / tf.reduce_sum(masked, 1)
        hits = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), ids), tf.float32)
        return per_example, tf.reduce_sum(hits * masked, 1) / tf.reduce_sum(masked, 1)

    def train_step(self, data):
        variables = self._trained_variables()
        with tf.GradientTape() as tape:
            per_example, accuracy = self.token_loss(data)
            loss = tf.nn.compute_average_loss(per_example)
            scaled = self.optimizer.scale_loss(loss)
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables, strict=True))
        self.trackers["loss"].update_state(ops.mean(per_example))
        self.trackers["accuracy"].update_state(ops.mean(accuracy))
        return {name: t.result() for name, t in self.trackers.items()}
