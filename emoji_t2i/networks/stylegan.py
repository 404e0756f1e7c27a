"""StyleGAN2's networks, sized for 72x72 RGBA on a CPU: mapping, synthesis, generator, discriminator.

The synthesis network starts from a learned 9x9 constant and doubles to 18, 36 and 72 px;
every 3x3 convolution is modulated by a style (an affine map of w) and demodulated, takes
per-pixel noise, and each resolution adds its RGBA image to the upsampled sum of the
earlier ones (the "skip" generator). One w per style input (``num_ws``) is what style
mixing, truncation, SeFa, blending and projection work on.

Differences from NVlabs' StyleGAN2, for speed here: upsampling is bilinear resize + conv
(not a transposed conv with an FIR filter) and the discriminator uses plain He-initialised
convolutions (only the generator uses equalised learning rates, which its mapping network's
0.01 learning-rate multiplier needs).
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

LRELU_GAIN = math.sqrt(2.0)


def _text_encoder(*args, **kwargs):
    # imported where a conditional network needs it: the text encoders' module imports
    # TensorFlow (hub encoders), and the unconditional networks train under JAX without it
    from emoji_t2i.text import make_text_encoder

    return make_text_encoder(*args, **kwargs)


def lrelu(x):
    return ops.leaky_relu(x, 0.2) * ops.cast(LRELU_GAIN, x.dtype)


@keras.saving.register_keras_serializable("emoji_t2i")
class EqualizedDense(layers.Layer):
    """Dense with an equalised learning rate: weights drawn N(0, 1/lr_multiplier) and scaled
    at run time by lr_multiplier/sqrt(fan_in), so Adam's step is the same for every layer
    and ``lr_multiplier`` slows a layer down (0.01 in the mapping network)."""

    def __init__(self, units, lr_multiplier=1.0, bias_init=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.lr_multiplier, self.bias_init = units, lr_multiplier, bias_init

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.scale = self.lr_multiplier / math.sqrt(fan_in)
        self.kernel = self.add_weight(shape=(fan_in, self.units), name="kernel",
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier))
        self.bias = self.add_weight(shape=(self.units,), name="bias",
                                    initializer=keras.initializers.Constant(self.bias_init / self.lr_multiplier))

    def call(self, x):
        dtype = self.compute_dtype
        kernel = ops.cast(self.kernel, dtype) * ops.cast(self.scale, dtype)
        return ops.matmul(x, kernel) + ops.cast(self.bias, dtype) * ops.cast(self.lr_multiplier, dtype)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "lr_multiplier": self.lr_multiplier,
                "bias_init": self.bias_init}


@keras.saving.register_keras_serializable("emoji_t2i")
class ModulatedConv2D(layers.Layer):
    """Style-modulated convolution (Karras et al. 2020), in the non-fused form: scale the
    input channels by the style, convolve with the shared kernel, then divide each output
    channel by its expected norm (demodulation). Equal to the per-sample kernel form and
    cheap on a CPU (no grouped convolution).

    Args:
        filters, kernel_size: the convolution.
        demodulate: False for the RGBA output layers.
        upsample: bilinear x2 before the convolution.
        noise_size: side of the per-pixel noise map (0: no noise input). The map held in the
            layer (``const_noise``) is the one sampling uses; training draws fresh noise.
    """

    def __init__(self, filters, kernel_size=3, demodulate=True, upsample=False, noise_size=0, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = filters, kernel_size
        self.demodulate, self.upsample, self.noise_size = demodulate, upsample, noise_size

    def build(self, x_shape, w_shape):
        channels = int(x_shape[-1])
        self.affine = EqualizedDense(channels, bias_init=1.0, name="affine")
        self.affine.build(w_shape)
        self.weight_gain = 1.0 / math.sqrt(channels * self.kernel_size ** 2)
        self.kernel = self.add_weight(shape=(self.kernel_size, self.kernel_size, channels, self.filters),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0), name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")
        if self.noise_size:
            self.noise_strength = self.add_weight(shape=(), initializer="zeros", name="noise_strength")
            self.const_noise = self.add_weight(shape=(self.noise_size, self.noise_size, 1), trainable=False,
                                               initializer=keras.initializers.RandomNormal(0.0, 1.0),
                                               name="const_noise")

    def styles(self, w):
        """(B, in channels): the style this layer reads from its w (what SeFa factorises)."""
        return ops.cast(self.affine(w), "float32")

    def call(self, x, w, noise=None):
        styles = self.styles(w)
        kernel = ops.cast(self.kernel, "float32") * self.weight_gain
        if self.upsample:
            size = ops.shape(x)[1] * 2
            x = ops.image.resize(x, (size, size), interpolation="bilinear")
        x = x * ops.cast(styles[:, None, None, :], x.dtype)
        y = ops.conv(x, ops.cast(kernel, x.dtype), padding="same")
        if self.demodulate:
            # sigma_j = sqrt(sum_i,k (w_ijk s_i)^2): the output's scale for unit-variance input
            sigma = ops.sqrt(ops.matmul(ops.square(styles), ops.sum(ops.square(kernel), axis=(0, 1))) + 1e-8)
            y = y * ops.cast(1.0 / sigma[:, None, None, :], y.dtype)
        if self.noise_size:
            if noise is None:  # sampling: the fixed map, as NVlabs' noise_mode="const"
                noise = ops.cast(self.const_noise, y.dtype)[None]
            y = y + ops.cast(noise, y.dtype) * ops.cast(self.noise_strength, y.dtype)
        return y + ops.cast(self.bias, y.dtype)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "demodulate": self.demodulate, "upsample": self.upsample, "noise_size": self.noise_size}


@keras.saving.register_keras_serializable("emoji_t2i")
class MappingNetwork(keras.Model):
    """z (unit-normalised) [+ text code] -> ``depth`` equalised Dense layers (learning rate
    x0.01) -> w. ``w_avg`` tracks the mean w during training: truncation pulls towards it.

    Args:
        vocabulary_size, text_encoder, text_dim: the text code when ``conditional``.
        z_dim, w_dim, depth: sizes.
        conditional: join the text code to z (the text-steerable variant).
        w_avg_beta: decay of the running mean of w.
    """

    def __init__(self, vocabulary_size, z_dim=64, w_dim=128, depth=4, conditional=False,
                 text_encoder="embedding_gru", text_dim=64, w_avg_beta=0.995, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size, self.z_dim, self.w_dim, self.depth = vocabulary_size, z_dim, w_dim, depth
        self.conditional, self.text_encoder_kind, self.text_dim = conditional, text_encoder, text_dim
        self.w_avg_beta = w_avg_beta
        # === Layers ===
        if conditional:
            self.text = _text_encoder(text_encoder, vocabulary_size, text_dim)
        for i in range(depth):  # named attributes, not a list: tf.train.Checkpoint sees them
            setattr(self, f"fc{i}", EqualizedDense(w_dim, lr_multiplier=0.01, name=f"fc{i}"))
        self.w_avg = self.add_weight(shape=(w_dim,), initializer="zeros", trainable=False, name="w_avg",
                                     autocast=False)

    def call(self, inputs, training=False):
        z, tokens = inputs
        z = ops.cast(z, "float32")
        x = z * ops.rsqrt(ops.mean(ops.square(z), axis=-1, keepdims=True) + 1e-8)
        if self.conditional:
            code = ops.cast(self.text(tokens), "float32")
            code = code * ops.rsqrt(ops.mean(ops.square(code), axis=-1, keepdims=True) + 1e-8)
            x = ops.concatenate([x, code], axis=-1)
        x = ops.cast(x, self.compute_dtype)
        for i in range(self.depth):
            x = lrelu(getattr(self, f"fc{i}")(x))
        w = ops.cast(x, "float32")
        if training:
            batch_mean = ops.stop_gradient(ops.mean(w, axis=0))
            self.w_avg.assign(self.w_avg_beta * self.w_avg + (1.0 - self.w_avg_beta) * batch_mean)
        return w

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "z_dim": self.z_dim,
                "w_dim": self.w_dim, "depth": self.depth, "conditional": self.conditional,
                "text_encoder": self.text_encoder_kind, "text_dim": self.text_dim,
                "w_avg_beta": self.w_avg_beta}


SIZES = (9, 18, 36, 72)


@keras.saving.register_keras_serializable("emoji_t2i")
class SynthesisNetwork(keras.Model):
    """ws (B, num_ws, w_dim) -> 72x72x4 in [-1, 1]: a 9x9 constant, one modulated conv at
    9 px, two (the first upsampling) at 18, 36 and 72 px, and an RGBA output per resolution
    summed through bilinear upsampling. ``layer_resolutions`` maps each w slot to the
    resolution its layer draws at (style mixing, blending and the figures use it).

    Args:
        channels: channels at 9, 18, 36 and 72 px.
        w_dim: size of w.
    """

    def __init__(self, channels=(128, 128, 64, 32), w_dim=128, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.channels, self.w_dim = tuple(channels), w_dim
        # === Layers ===
        self.const = self.add_weight(shape=(9, 9, channels[0]), initializer=keras.initializers.RandomNormal(0, 1),
                                     name="const")
        self.slots: list[tuple[str, int]] = [("conv9", 9), ("rgba9", 9)]
        self.conv9 = ModulatedConv2D(channels[0], noise_size=9, name="conv9")
        self.rgba9 = ModulatedConv2D(4, 1, demodulate=False, dtype="float32", name="rgba9")
        for size, c in zip(SIZES[1:], channels[1:], strict=True):
            setattr(self, f"up{size}", ModulatedConv2D(c, upsample=True, noise_size=size, name=f"up{size}"))
            setattr(self, f"conv{size}", ModulatedConv2D(c, noise_size=size, name=f"conv{size}"))
            setattr(self, f"rgba{size}", ModulatedConv2D(4, 1, demodulate=False, dtype="float32", name=f"rgba{size}"))
            self.slots += [(f"up{size}", size), (f"conv{size}", size), (f"rgba{size}", size)]

    @property
    def num_ws(self) -> int:
        return len(self.slots)

    @property
    def layer_resolutions(self) -> list[int]:
        return [size for _, size in self.slots]

    def style_layers(self) -> list[ModulatedConv2D]:
        return [getattr(self, name) for name, _ in self.slots]

    def build(self, ws_shape):
        self.call(ops.zeros((1, self.num_ws, self.w_dim)))

    def call(self, ws, noise=None, training=False):
        """``noise``: a dict of per-layer maps (training), or None for the layers' fixed maps."""
        ws = ops.cast(ws, self.compute_dtype)
        x = ops.tile(ops.cast(self.const, self.compute_dtype)[None], (ops.shape(ws)[0], 1, 1, 1))
        image = None
        for index, (name, size) in enumerate(self.slots):
            layer, w = getattr(self, name), ws[:, index]
            if name.startswith("rgba"):
                out = ops.cast(layer(x, w), "float32")
                if image is not None:
                    image = ops.image.resize(image, (size, size), interpolation="bilinear")
                image = out if image is None else image + out
            else:
                x = lrelu(layer(x, w, None if noise is None else noise[name]))
        return ops.tanh(image)

    def noise_shapes(self) -> dict[str, tuple[int, int, int]]:
        return {name: (size, size, 1) for name, size in self.slots if not name.startswith("rgba")}

    def get_config(self):
        return {**super().get_config(), "channels": list(self.channels), "w_dim": self.w_dim}


@keras.saving.register_keras_serializable("emoji_t2i")
class StyleDiscriminator(keras.Model):
    """Residual discriminator 72 -> 36 -> 18 -> 9, minibatch standard deviation, a 3x3 conv
    and two Dense layers to a float32 logit (``real_head``); with ``conditional`` a
    projection term <text code, features> (Miyato & Koyama 2018) is added.

    ``features(images)`` also returns the intermediate maps that projection's in-domain
    feature loss compares. ``augment_probability`` is ADA's p: it lives here, with the
    network it protects, so checkpoints and presets carry it.
    """

    def __init__(self, vocabulary_size, channels=(32, 64, 128, 128), conditional=False,
                 text_encoder="embedding_gru", text_dim=64, mbstd_group=4, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size, self.channels, self.conditional = vocabulary_size, tuple(channels), conditional
        self.text_encoder_kind, self.text_dim, self.mbstd_group = text_encoder, text_dim, mbstd_group
        # === Layers ===
        he = keras.initializers.HeNormal()
        self.from_rgba = layers.Conv2D(channels[0], 1, kernel_initializer=he, name="from_rgba")
        for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:], strict=True)):
            setattr(self, f"block{i}_conv1", layers.Conv2D(c_in, 3, padding="same", kernel_initializer=he,
                                                           name=f"block{i}_conv1"))
            setattr(self, f"block{i}_conv2", layers.Conv2D(c_out, 3, strides=2, padding="same",
                                                           kernel_initializer=he, name=f"block{i}_conv2"))
            setattr(self, f"block{i}_skip", layers.Conv2D(c_out, 1, use_bias=False,
                                                          kernel_initializer=he, name=f"block{i}_skip"))
        self.final_conv = layers.Conv2D(channels[-1], 3, padding="same", kernel_initializer=he, name="final_conv")
        self.final_dense = layers.Dense(channels[-1], kernel_initializer=he, name="final_dense")
        self.real_head = layers.Dense(1, dtype="float32", name="real_head")
        if conditional:
            self.text = _text_encoder(text_encoder, vocabulary_size, text_dim, normalize=False)
            self.text_projection = layers.Dense(channels[-1], dtype="float32", name="text_projection")
        self.augment_probability = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                                   name="augment_probability", autocast=False)

    def build(self, input_shape):
        images_shape, tokens_shape = input_shape
        self.call([ops.zeros((2, *images_shape[1:])), ops.ones((2, tokens_shape[1]), "int64")])

    def features(self, images, training=False):
        """(pooled features (B, C) float32, [maps at 72, 36, 18, 9 px])."""
        x = lrelu(self.from_rgba(ops.cast(images, self.compute_dtype)))
        maps = [x]
        for i in range(len(self.channels) - 1):
            h = lrelu(getattr(self, f"block{i}_conv1")(x))
            h = lrelu(getattr(self, f"block{i}_conv2")(h))
            # skip: 2x2 average then 1x1 conv (the gradient of a
            # strided 1x1 conv corrupted memory in TF 2.21's oneDNN kernels: a crash)
            skip = getattr(self, f"block{i}_skip")(ops.average_pool(x, 2, 2, padding="same"))
            x = (h + skip) * ops.cast(1.0 / math.sqrt(2.0), h.dtype)
            maps.append(x)
        x = self.minibatch_stddev(x)
        x = lrelu(self.final_conv(x))
        x = ops.reshape(ops.mean(x, axis=(1, 2)), (-1, self.channels[-1]))
        return ops.cast(lrelu(self.final_dense(x)), "float32"), maps

    def minibatch_stddev(self, x):
        """One extra channel: the std of each feature over a group of ``mbstd_group`` samples,
        averaged, so D sees the batch's variety (a collapsed G is easy to spot)."""
        batch, height, width = ops.shape(x)[0], x.shape[1], x.shape[2]
        group = math.gcd(self.mbstd_group, int(x.shape[0])) if x.shape[0] is not None else self.mbstd_group
        y = ops.reshape(ops.cast(x, "float32"), (group, -1, height, width, x.shape[3]))
        y = y - ops.mean(y, axis=0, keepdims=True)
        y = ops.sqrt(ops.mean(ops.square(y), axis=0) + 1e-8)
        y = ops.tile(ops.mean(y, axis=(1, 2, 3)), (group,))  # sample i reads group column i % (B/group)
        y = ops.broadcast_to(y[:, None, None, None], (batch, height, width, 1))
        return ops.concatenate([x, ops.cast(y, x.dtype)], axis=-1)

    def score(self, features, tokens):
        logit = self.real_head(features)
        if self.conditional:
            code = self.text_projection(ops.cast(self.text(tokens), "float32"))
            logit = logit + ops.sum(code * features, axis=-1, keepdims=True)
        return logit

    def call(self, inputs, training=False):
        images, tokens = inputs
        return self.score(self.features(images, training)[0], tokens)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "channels": list(self.channels),
                "conditional": self.conditional, "text_encoder": self.text_encoder_kind,
                "text_dim": self.text_dim, "mbstd_group": self.mbstd_group}


@keras.saving.register_keras_serializable("emoji_t2i")
class StyleGenerator(keras.Model):
    """Mapping + synthesis. ``call([z, tokens])`` broadcasts one w to every layer (with
    ``truncation_psi`` towards the running mean w); ``mapping`` and ``synthesis`` are there
    for style mixing, editing, blending and projection, which work on ws directly."""

    def __init__(self, vocabulary_size, z_dim=64, w_dim=128, mapping_depth=4, channels=(128, 128, 64, 32),
                 conditional=False, text_encoder="embedding_gru", text_dim=64, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocabulary_size, self.z_dim, self.w_dim, self.mapping_depth = vocabulary_size, z_dim, w_dim, mapping_depth
        self.channels, self.conditional = tuple(channels), conditional
        self.text_encoder_kind, self.text_dim = text_encoder, text_dim
        # === Layers ===
        self.mapping = MappingNetwork(vocabulary_size, z_dim, w_dim, mapping_depth, conditional, text_encoder,
                                      text_dim, name="mapping")
        self.synthesis = SynthesisNetwork(channels, w_dim, name="synthesis")

    @property
    def to_rgba(self):
        return self.synthesis.rgba72  # the float32 layer that writes the image

    @property
    def num_ws(self) -> int:
        return self.synthesis.num_ws

    def build(self, input_shape):
        z_shape, tokens_shape = input_shape
        self.call([ops.zeros((1, self.z_dim)), ops.ones((1, tokens_shape[1]), "int64")])

    def truncate(self, w, psi):
        w_avg = ops.convert_to_tensor(self.mapping.w_avg)
        return w_avg + psi * (w - w_avg)

    def broadcast(self, w):
        return ops.tile(w[:, None, :], (1, self.num_ws, 1))

    def call(self, inputs, truncation_psi=1.0, training=False):
        z, tokens = inputs
        w = self.truncate(self.mapping([z, tokens], training=training), truncation_psi)
        return self.synthesis(self.broadcast(w))

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "z_dim": self.z_dim,
                "w_dim": self.w_dim, "mapping_depth": self.mapping_depth, "channels": list(self.channels),
                "conditional": self.conditional, "text_encoder": self.text_encoder_kind, "text_dim": self.text_dim}
