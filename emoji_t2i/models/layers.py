"""Layers the zoo's networks share: conditional GroupNorm, spectral norm, DiffAugment."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from emoji_t2i.errors import UsageError


@keras.saving.register_keras_serializable("emoji_t2i")
class ConditionalGroupNorm(layers.Layer):
    """GroupNorm whose scale and shift are predicted from a condition vector.

    The condition (noise ⊕ text code) reaches every generator block, not only the input,
    which the first CGAN attempt here lacked. It normalises each sample on its own, unlike
    BigGAN's conditional BatchNorm: with BatchNorm the samples come from moving statistics
    that lag the fast-changing generator (and belong to the live G, not its EMA copy); on
    this dataset that made epoch-2 samples ~6% opaque where the same weights in training
    mode gave ~54%. Per-sample statistics mean training, sampling, the EMA copy and every
    replica of a distributed step all see the same function.

    Args:
        channels: channels of the normalised input.
        groups: channel groups (at most ``channels``; must divide it).
        epsilon: added to the variance.
    """

    def __init__(self, channels, groups=8, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.channels = channels
        self.groups = min(groups, channels)
        self.epsilon = epsilon
        if channels % self.groups:
            raise UsageError(f"ConditionalGroupNorm: groups={self.groups} must divide channels={channels}")
        # === Layers ===
        # Zero-initialised: the layer starts as a plain GroupNorm (scale 1, shift 0).
        self.gamma = layers.Dense(channels, kernel_initializer="zeros", name="gamma")
        self.beta = layers.Dense(channels, kernel_initializer="zeros", name="beta")

    def build(self, x_shape, condition_shape):
        self.gamma.build(condition_shape)
        self.beta.build(condition_shape)

    def call(self, x, condition, training=False):
        x32 = ops.cast(x, "float32")
        shape = ops.shape(x32)
        grouped = ops.reshape(x32, (shape[0], shape[1], shape[2], self.groups, self.channels // self.groups))
        mean, var = ops.moments(grouped, axes=(1, 2, 4), keepdims=True)
        normed = ops.reshape((grouped - mean) * ops.rsqrt(var + self.epsilon), shape)
        scale = 1.0 + ops.cast(self.gamma(condition), "float32")[:, None, None, :]
        shift = ops.cast(self.beta(condition), "float32")[:, None, None, :]
        return ops.cast(normed * scale + shift, x.dtype)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "groups": self.groups,
                "epsilon": self.epsilon}


@keras.saving.register_keras_serializable("emoji_t2i")
class SpectralConv2D(layers.Conv2D):
    """Conv2D with its kernel divided by its largest singular value (one power iteration).

    Keeps the discriminator Lipschitz-bounded (Miyato et al. 2018). The power-iteration
    vector is only updated by the first replica, so it works under MirroredStrategy.
    """

    def build(self, input_shape):
        super().build(input_shape)
        self.u = self.add_weight(shape=(1, self.filters), initializer="random_normal",
                                 trainable=False, name="sn_u",
                                 aggregation="only_first_replica", autocast=False)

    # Conv2D saves only kernel and bias; the power-iteration vector must travel too.
    def save_own_variables(self, store):
        for i, variable in enumerate(self.weights):
            store[str(i)] = variable

    def load_own_variables(self, store):
        self._check_load_own_variables(store)
        for i, variable in enumerate(self.weights):
            variable.assign(store[str(i)])

    def convolution_op(self, inputs, kernel):
        w = ops.reshape(ops.cast(self.kernel, "float32"), (-1, self.filters))
        u = self.u
        v = ops.normalize(ops.matmul(u, ops.transpose(w)), axis=-1)
        u_new = ops.normalize(ops.matmul(v, w), axis=-1)
        sigma = ops.sum(ops.matmul(v, w) * u_new)
        if self.trainable:
            self.u.assign(ops.stop_gradient(u_new))
        return super().convolution_op(inputs, ops.cast(kernel / ops.cast(sigma, kernel.dtype), kernel.dtype))


def diff_augment(images, params):
    """DiffAugment (Zhao et al. 2020): colour, translation and cutout, differentiable.

    Applied to real AND fake images before the discriminator, so D cannot memorise the
    ~4 images each emoji has, while G still gets gradients through the augmentation.
    ``params`` (B, 7) are uniforms in [0, 1) drawn by the input pipeline, which keeps the
    randomness reproducible, resumable and identical under distribution.
    Images are in [-1, 1], RGBA; colour ops touch RGB only; padding is transparent.
    """
    dtype = images.dtype
    x = ops.cast(images, "float32")
    p = ops.cast(params, "float32")
    rgb, alpha = x[..., :3], x[..., 3:]
    rgb = rgb + (p[:, 0, None, None, None] - 0.5)  # brightness
    mean = ops.mean(rgb, axis=-1, keepdims=True)
    rgb = (rgb - mean) * (p[:, 1, None, None, None] * 2.0) + mean  # saturation
    mean = ops.mean(rgb, axis=(1, 2, 3), keepdims=True)
    rgb = (rgb - mean) * (p[:, 2, None, None, None] + 0.5) + mean  # contrast
    x = ops.concatenate([rgb, alpha], axis=-1)
    size = ops.shape(x)[1]
    shift = size // 8
    dy = ops.cast(ops.floor(p[:, 3] * (2 * shift + 1)), "int32") - shift
    dx = ops.cast(ops.floor(p[:, 4] * (2 * shift + 1)), "int32") - shift
    grid = ops.arange(size, dtype="int32")
    rows = grid[None, :] - dy[:, None]  # (B, H) source row per output row
    cols = grid[None, :] - dx[:, None]
    valid = ((rows >= 0) & (rows < size))[:, :, None] & ((cols >= 0) & (cols < size))[:, None, :]
    x = tf.gather(x, ops.clip(rows, 0, size - 1), axis=1, batch_dims=1)
    x = tf.gather(x, ops.clip(cols, 0, size - 1), axis=2, batch_dims=1)
    x = ops.where(valid[..., None], x, -1.0)
    half = size // 2  # cutout: a transparent square half the image wide
    cy = ops.cast(p[:, 5] * ops.cast(size, "float32"), "int32")
    cx = ops.cast(p[:, 6] * ops.cast(size, "float32"), "int32")
    inside_y = ops.abs(grid[None, :] - cy[:, None]) < half // 2
    inside_x = ops.abs(grid[None, :] - cx[:, None]) < half // 2
    cut = inside_y[:, :, None] & inside_x[:, None, :]
    x = ops.where(cut[..., None], -1.0, x)
    return ops.cast(x, dtype)


AUGMENT_PARAMS = 7
