"""ADA's differentiable augmentation (Karras et al. 2020), for RGBA emoji; weight-free.

Each augmentation is applied to an example with probability ``p`` (the adaptive strength,
held by the discriminator). The geometric ones (integer-free translation, isotropic scale,
rotation, anisotropic scale) compose into one affine map applied with bilinear sampling;
then brightness, contrast and saturation touch RGB only, and cutout makes a transparent
square. No flips and no 90-degree turns: arrows, hands and flags have a direction, and
with p < 1 every augmentation here keeps the identity the likeliest outcome, so it does
not leak into the generator (ADA's "non-leaking" condition).

``params`` (B, ADA_PARAMS) are uniforms in [0, 1) drawn by the input pipeline (resumable
and reproducible, like DiffAugment's); normal draws come from them by the inverse CDF.
Written in ``keras.ops``, so a JAX step augments as the TensorFlow one does.
"""

from __future__ import annotations

import math

from keras import ops

ADA_PARAMS = 18
GEOMETRY_PARAMS = 9  # the first nine of ADA's draws: translation, scale, rotation, anisotropy
GEOMETRY_LABELS = 6
_LN2 = math.log(2.0)


def _normal(u):
    """The standard normal's inverse CDF: sqrt(2) erfinv(2u - 1)."""
    return math.sqrt(2.0) * ops.erfinv(2.0 * ops.clip(u, 1e-6, 1.0 - 1e-6) - 1.0)


def _geometry(x, u, on):
    """The affine part of ADA on float32 ``x``; returns (transformed, labels (B, 6)): what was
    done, zero for the identity (EDM's augmentation labels)."""
    size = x.shape[1]
    # Geometry: the map from output to input coordinates, about the image centre.
    tx = on(0) * (u[:, 1] - 0.5) * 0.25 * size
    ty = on(0) * (u[:, 2] - 0.5) * 0.25 * size
    scale = ops.exp(on(3) * _normal(u[:, 4]) * 0.2 * _LN2)
    angle = on(5) * (u[:, 6] - 0.5) * 2.0 * math.pi
    aniso = ops.exp(on(7) * _normal(u[:, 8]) * 0.2 * _LN2)
    sx, sy = scale * aniso, scale / aniso
    cos, sin = ops.cos(angle), ops.sin(angle)
    c = (size - 1) / 2.0
    a0, a1 = cos * sx, -sin * sy
    b0, b1 = sin * sx, cos * sy
    a2 = c + tx - a0 * c - a1 * c
    b2 = c + ty - b0 * c - b1 * c
    zeros = ops.zeros_like(a0)
    transforms = ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    x = ops.image.affine_transform(x, transforms, interpolation="bilinear", fill_mode="constant",
                                   fill_value=-1.0, data_format="channels_last")
    labels = ops.stack([tx / size * 4.0, ty / size * 4.0, ops.log(scale) / (0.2 * _LN2), ops.sin(angle),
                        ops.cos(angle) - 1.0, ops.log(aniso) / (0.2 * _LN2)], axis=1)
    return x, labels


def geometric_augment(images, params, p):
    """Non-leaky geometric augmentation for a diffusion model (Karras et al. 2022, EDM): ADA's
    translation, scale, rotation and anisotropy (never flips), each with probability ``p``.
    ``params`` (B, GEOMETRY_PARAMS) uniforms. Returns (images, labels (B, GEOMETRY_LABELS)):
    the network is told what was done (labels), so it learns the augmented images as a
    separate distribution and samples un-augmented ones with the labels at zero."""
    x = ops.cast(images, "float32")
    u = ops.cast(params, "float32")
    p = ops.cast(p, "float32")
    x, labels = _geometry(x, u, lambda i: ops.cast(u[:, i] < p, "float32"))
    return ops.cast(x, images.dtype), labels


def ada_augment(images, params, p):
    """``images`` (B, H, W, 4) in [-1, 1] (transparent = -1), ``p`` a scalar in [0, 1]."""
    dtype = images.dtype
    x = ops.cast(images, "float32")
    u = ops.cast(params, "float32")
    p = ops.cast(p, "float32")
    on = lambda i: ops.cast(u[:, i] < p, "float32")  # noqa: E731  (per example: apply this one?)
    size = x.shape[1]
    x, _ = _geometry(x, u, on)
    # Colour, on RGB only.
    rgb, alpha = x[..., :3], x[..., 3:]
    rgb = rgb + (on(9) * _normal(u[:, 10]) * 0.2)[:, None, None, None]
    mean = ops.mean(rgb, axis=(1, 2, 3), keepdims=True)
    contrast = ops.exp(on(11) * _normal(u[:, 12]) * 0.5 * _LN2)
    rgb = (rgb - mean) * contrast[:, None, None, None] + mean
    luma = ops.mean(rgb, axis=-1, keepdims=True)
    saturation = ops.exp(on(13) * _normal(u[:, 14]) * _LN2)
    rgb = (rgb - luma) * saturation[:, None, None, None] + luma
    x = ops.concatenate([rgb, alpha], axis=-1)
    # Cutout: a transparent square half the image wide.
    grid = (ops.arange(size, dtype="float32") + 0.5) / size
    inside_y = ops.abs(grid[None, :] - u[:, 16, None]) < 0.25
    inside_x = ops.abs(grid[None, :] - u[:, 17, None]) < 0.25
    cut = inside_y[:, :, None] & inside_x[:, None, :] & (u[:, 15] < p)[:, None, None]
    x = ops.where(cut[..., None], -1.0, x)
    return ops.cast(x, dtype)


def adjust_probability(p, sign_mean, images_seen, target=0.6, speed_images=20_000):
    """ADA's controller: r_t = E[sign(D(real))] above ``target`` means D is overfitting, so
    p rises (else falls) by images_seen / speed_images, clipped to [0, 1]."""
    step = ops.sign(ops.cast(sign_mean, "float32") - target) * ops.cast(images_seen, "float32") / speed_images
    return ops.clip(ops.cast(p, "float32") + step, 0.0, 1.0)
