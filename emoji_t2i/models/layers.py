"""Layers the zoo's networks share: conditional BatchNorm, spectral norm, DiffAugment."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops


@keras.saving.register_keras_serializable("emoji_t2i")
class ConditionalBatchNorm(layers.Layer):
    """BatchNorm whose scale and shift are predicted from a condition vector (BigGAN).

    It puts the text into every generator block rather than only the input, which the
    first CGAN attempt here lacked. Batch statistics are averaged across replicas under
    ``tf.distribute`` so a mirrored step equals the single-device step.
    """

    def __init__(self, channels, momentum=0.99, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.channels = channels
        self.momentum = momentum
        self.epsilon = epsilon
        # === Layers ===
        # Zero-initialised: the layer starts as a plain BatchNorm (scale 1, shift 0).
        self.gamma = layers.Dense(channels, kernel_initializer="zeros", name="gamma")
        self.beta = layers.Dense(channels, kernel_initializer="zeros", name="beta")

    def build(self, x_shape, condition_shape):
        channels = self.channels
        self.moving_mean = self.add_weight(shape=(channels,), initializer="zeros", trainable=False,
                                           name="moving_mean", aggregation="mean", autocast=False)
        self.moving_var = self.add_weight(shape=(channels,), initializer="ones", trainable=False,
                                          name="moving_var", aggregation="mean", autocast=False)

    def call(self, x, condition, training=False):
        x32 = ops.cast(x, "float32")
        if training:
            mean = ops.mean(x32, axis=(0, 1, 2))
            mean_sq = ops.mean(ops.square(x32), axis=(0, 1, 2))
            ctx = tf.distribute.get_replica_context()
            if ctx is not None and ctx.num_replicas_in_sync > 1:
                mean, mean_sq = ctx.all_reduce("mean", [mean, mean_sq])
            var = ops.maximum(mean_sq - ops.square(mean), 0.0)
            self.moving_mean.assign(self.momentum * self.moving_mean + (1 - self.momentum) * mean)
            self.moving_var.assign(self.momentum * self.moving_var + (1 - self.momentum) * var)
        else:
            mean, var = self.moving_mean, self.moving_var
        normed = (x32 - mean) * ops.rsqrt(var + self.epsilon)
        scale = 1.0 + ops.cast(self.gamma(condition), "float32")[:, None, None, :]
        shift = ops.cast(self.beta(condition), "float32")[:, None, None, :]
        return ops.cast(normed * scale + shift, x.dtype)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "momentum": self.momentum,
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
