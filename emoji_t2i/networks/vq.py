"""The image tokenizer's networks: a convolutional encoder to a grid of vectors, an EMA
vector quantiser, and the decoder back to 72x72 RGBA (premultiplied, in [-1, 1]).

``downsample=4`` gives 18x18 = 324 codes per emoji, ``8`` gives 9x9 = 81. Both start with a
space-to-depth stem (72x72x4 -> 36x36x16), as the diffusion U-Net does: no convolution runs
at 72 px, where a 2-core CPU would spend most of its time.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from emoji_t2i import CHANNELS
from emoji_t2i.errors import UsageError
from emoji_t2i.networks.unet import _groups, depth_to_space, space_to_depth


@keras.saving.register_keras_serializable("emoji_t2i")
class ResBlock(layers.Layer):
    """GroupNorm-SiLU-conv twice, plus the input."""

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.norm1 = layers.GroupNormalization(_groups(channels), epsilon=1e-5, name="norm1")
        self.conv1 = layers.Conv2D(channels, 3, padding="same", name="conv1")
        self.norm2 = layers.GroupNormalization(_groups(channels), epsilon=1e-5, name="norm2")
        self.conv2 = layers.Conv2D(channels, 3, padding="same", name="conv2")

    def call(self, x):
        h = self.conv1(ops.silu(self.norm1(x)))
        return x + self.conv2(ops.silu(self.norm2(h)))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


def _levels(downsample):
    if downsample not in (4, 8):
        raise UsageError(f"vq: downsample must be 4 (18x18 codes) or 8 (9x9 codes), not {downsample!r}")
    return {4: 2, 8: 3}[downsample]  # resolutions after the stem: 36, 18 (, 9)


@keras.saving.register_keras_serializable("emoji_t2i")
class VQEncoder(keras.Model):
    """(B, 72, 72, 4) -> (B, 72/f, 72/f, code_dim)."""

    def __init__(self, widths=(48, 96, 128), downsample=4, code_dim=32, **kwargs):
        super().__init__(**kwargs)
        self.widths, self.downsample, self.code_dim = tuple(widths), downsample, code_dim
        levels = _levels(downsample)
        self.stem = layers.Conv2D(self.widths[0], 3, padding="same", name="stem")
        # Named attributes, not a list: tf.train.Checkpoint misses list items.
        self.order = []
        for i in range(levels):
            self._add(f"res{i}", ResBlock(self.widths[i], name=f"res{i}"))
            if i + 1 < levels:
                self._add(f"down{i}", layers.Conv2D(self.widths[i + 1], 3, strides=2, padding="same",
                                                    name=f"down{i}"))
        self.norm = layers.GroupNormalization(_groups(self.widths[levels - 1]), epsilon=1e-5, name="norm")
        self.to_code = layers.Conv2D(code_dim, 1, dtype="float32", name="to_code")

    def _add(self, name, layer):
        setattr(self, name, layer)
        self.order.append(name)

    def call(self, images):
        x = self.stem(space_to_depth(images))
        for name in self.order:
            x = getattr(self, name)(x)
        return self.to_code(ops.silu(self.norm(x)))

    def get_config(self):
        return {**super().get_config(), "widths": list(self.widths), "downsample": self.downsample,
                "code_dim": self.code_dim}


@keras.saving.register_keras_serializable("emoji_t2i")
class VQDecoder(keras.Model):
    """(B, 72/f, 72/f, code_dim) -> (B, 72, 72, 4) in [-1, 1] (tanh; float32)."""

    def __init__(self, widths=(48, 96, 128), downsample=4, **kwargs):
        super().__init__(**kwargs)
        self.widths, self.downsample = tuple(widths), downsample
        levels = _levels(downsample)
        self.stem = layers.Conv2D(self.widths[levels - 1], 3, padding="same", name="stem")
        self.order = []
        for i in reversed(range(levels)):
            self._add(f"res{i}", ResBlock(self.widths[i], name=f"res{i}"))
            if i > 0:
                self._add(f"up{i}", layers.Conv2D(self.widths[i - 1], 3, padding="same", name=f"up{i}"))
        self.norm = layers.GroupNormalization(_groups(self.widths[0]), epsilon=1e-5, name="norm")
        self.to_pixels = layers.Conv2D(4 * CHANNELS, 3, padding="same", dtype="float32", name="to_pixels")

    def _add(self, name, layer):
        setattr(self, name, layer)
        self.order.append(name)

    def call(self, codes):
        x = self.stem(codes)
        for name in self.order:
            if name.startswith("up"):  # nearest-neighbour 2x, then the conv
                x = ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)
            x = getattr(self, name)(x)
        return ops.tanh(depth_to_space(self.to_pixels(ops.silu(self.norm(x)))))

    def get_config(self):
        return {**super().get_config(), "widths": list(self.widths), "downsample": self.downsample}


@keras.saving.register_keras_serializable("emoji_t2i")
class VectorQuantizer(layers.Layer):
    """Nearest-codebook quantisation with an EMA codebook (VQ-VAE, van den Oord et al. 2017,
    appendix; Razavi et al. 2019) and dead-code restarts.

    ``call(z)`` -> (straight-through quantised z, code ids, per-example commitment loss): the
    gradient of the output reaches ``z`` unchanged. ``update(z, ids)`` (training only) moves
    each used code towards the mean of the vectors assigned to it; a code no vector used
    stays exactly where it is, and a code whose EMA usage falls below ``dead_threshold``
    vectors per batch is restarted at a random vector of the batch.
    """

    def __init__(self, num_codes=512, code_dim=32, decay=0.99, dead_threshold=0.5, **kwargs):
        super().__init__(dtype="float32", **kwargs)
        self.num_codes, self.code_dim, self.decay = num_codes, code_dim, decay
        self.dead_threshold = dead_threshold

    def build(self, input_shape=None):
        init = keras.initializers.RandomNormal(stddev=1.0)
        self.codebook = self.add_weight(shape=(self.num_codes, self.code_dim), initializer=init,
                                        trainable=False, name="codebook")
        # Zero usage: every code no vector of the first batch picks restarts at one of them.
        self.ema_count = self.add_weight(shape=(self.num_codes,), initializer="zeros", trainable=False,
                                         name="ema_count")
        self.ema_sum = self.add_weight(shape=(self.num_codes, self.code_dim), initializer="zeros",
                                       trainable=False, name="ema_sum")
        self.restarts = self.add_weight(shape=(), initializer="zeros", dtype="int64", trainable=False,
                                        name="restarts")
        self.ema_sum.assign(self.codebook.value)  # so that sum / count is the initial codebook

    def nearest(self, z):
        flat = ops.reshape(ops.cast(z, "float32"), (-1, self.code_dim))
        distances = (ops.sum(flat ** 2, axis=1, keepdims=True) - 2.0 * ops.matmul(flat, ops.transpose(self.codebook))
                     + ops.sum(self.codebook ** 2, axis=1)[None, :])
        return ops.reshape(ops.argmin(distances, axis=1), ops.shape(z)[:-1])

    def lookup(self, ids):
        return ops.take(self.codebook, ops.cast(ids, "int32"), axis=0)

    def call(self, z):
        z = ops.cast(z, "float32")
        ids = self.nearest(z)
        quantised = self.lookup(ids)
        commitment = ops.mean(ops.square(z - ops.stop_gradient(quantised)), axis=(1, 2, 3))
        return z + ops.stop_gradient(quantised - z), ids, commitment

    def update(self, z, ids):
        flat = tf.reshape(tf.cast(z, tf.float32), [-1, self.code_dim])
        onehot = tf.one_hot(tf.reshape(ids, [-1]), self.num_codes, dtype=tf.float32)
        count = tf.reduce_sum(onehot, 0)
        used = count > 0
        d = self.decay
        self.ema_count.assign(d * self.ema_count + (1 - d) * count)
        self.ema_sum.assign(d * self.ema_sum + (1 - d) * tf.matmul(onehot, flat, transpose_a=True))
        means = self.ema_sum / tf.maximum(self.ema_count, 1e-5)[:, None]
        codebook = tf.where(used[:, None], means, self.codebook)
        # Dead codes restart at vectors of this batch (chosen by a counter, so deterministic).
        dead = self.ema_count < self.dead_threshold
        key = tf.stack([self.restarts.value, tf.constant(17, tf.int64)])
        picks = tf.random.stateless_uniform([self.num_codes], seed=key, maxval=tf.shape(flat)[0], dtype=tf.int32)
        fresh = tf.gather(flat, picks)
        self.codebook.assign(tf.where(dead[:, None], fresh, codebook))
        self.ema_sum.assign(tf.where(dead[:, None], fresh, self.ema_sum))
        self.ema_count.assign(tf.where(dead, tf.ones_like(self.ema_count), self.ema_count))
        self.restarts.assign_add(tf.reduce_sum(tf.cast(dead, tf.int64)))
        return count

    def get_config(self):
        return {**super().get_config(), "num_codes": self.num_codes, "code_dim": self.code_dim,
                "decay": self.decay, "dead_threshold": self.dead_threshold}
