"""What the pipeline's editing methods (``mashup``, ``emojify``, ``inpaint``) share: checked
mix and strength values, the spherical interpolation of sentence embeddings, a photo made into
a 72x72 RGBA frame, and the mask of what to redraw."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from emoji_t2i import IMAGE_SIZE
from emoji_t2i.data.images import center_crop, premultiplied_unit, resize_premultiplied
from emoji_t2i.errors import UsageError
from emoji_t2i.pipelines.editing_options import INPAINT_FEATHER, INPAINT_REGIONS

SDEDIT_MASHUP_STRENGTH = 0.6


def check_fractions(values, name: str) -> list[float]:
    """A number or a list of numbers in [0, 1] -> a list of floats, or a one-line UsageError."""
    items = list(values) if isinstance(values, list | tuple | np.ndarray) else [values]
    if not items:
        raise UsageError(f"{name}: give at least one value from 0 to 1")
    for value in items:
        if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not (
                math.isfinite(value) and 0.0 <= value <= 1.0):
            raise UsageError(f"{name} {value!r}: use a number from 0 to 1")
    return [float(v) for v in items]


def slerp(a, b, fraction: float):
    """Spherical interpolation between rows of ``a`` and ``b`` (unit sentence embeddings stay
    on the sphere, where the model saw them; a straight line would shrink them midway)."""
    a, b = tf.cast(a, tf.float32), tf.cast(b, tf.float32)
    unit_a, unit_b = tf.math.l2_normalize(a, -1), tf.math.l2_normalize(b, -1)
    cos = tf.clip_by_value(tf.reduce_sum(unit_a * unit_b, -1, keepdims=True), -1.0, 1.0)
    angle = tf.acos(cos)
    sin = tf.sin(angle)
    near = sin < 1e-4  # (anti)parallel: the straight line is as good and finite
    safe = tf.where(near, tf.ones_like(sin), sin)
    wa = tf.where(near, 1.0 - fraction, tf.sin((1.0 - fraction) * angle) / safe)
    wb = tf.where(near, tf.cast(fraction, tf.float32) * tf.ones_like(sin), tf.sin(fraction * angle) / safe)
    return wa * a + wb * b


def prepare_photo(image, disc: bool = True) -> np.ndarray:
    """(H, W, 3 or 4) uint8 (or greyscale (H, W)) -> centre-cropped, resized (72, 72, 4) uint8.

    An image with no transparency is cut to a soft disc (``disc``): emoji are drawn on
    transparency, and a full opaque square kept SDEdit's results photos up to strength 0.8
    (docs/app.md), while the disc's silhouette reads to the model as an emoji's round face."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise UsageError(f"an image of dtype {array.dtype}: give uint8 pixels (np.asarray(PIL.Image.open(path)))")
    if array.ndim == 2:
        array = array[..., None].repeat(3, -1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4) or min(array.shape[:2]) < 1:
        raise UsageError(f"an image of shape {array.shape}: give (height, width, 3 or 4) pixels")
    if array.shape[-1] == 3:
        array = np.concatenate([array, np.full((*array.shape[:2], 1), 255, np.uint8)], -1)
    frame = resize_premultiplied(center_crop(array), IMAGE_SIZE)
    if disc and frame[..., 3].min() == 255:
        frame[..., 3] = np.round(_disc(IMAGE_SIZE) * 255.0).astype(np.uint8)
    return frame


def _disc(size: int, margin: float = 2.5, softness: float = 2.0) -> np.ndarray:
    """(size, size) alpha of a disc filling the frame less ``margin`` px, its edge anti-aliased."""
    yy, xx = np.mgrid[:size, :size]
    centre = (size - 1) / 2
    radius = np.hypot(yy - centre, xx - centre)
    return np.clip((size / 2 - margin - radius) / softness, 0.0, 1.0)


def blend_premultiplied(first, second, fraction: float) -> np.ndarray:
    """uint8 RGBA images mixed as (1 - fraction) first + fraction second on premultiplied
    colour, so a transparent pixel lends no colour to the other image's edge."""
    mixed = (1.0 - fraction) * premultiplied_unit(first) + fraction * premultiplied_unit(second)
    alpha = mixed[..., 3:]
    rgb = np.where(alpha > 1e-6, mixed[..., :3] / np.maximum(alpha, 1e-6), 0.0)
    return np.round(np.clip(np.concatenate([rgb, alpha], -1), 0, 1) * 255.0).astype(np.uint8)


def redraw_mask(mask) -> np.ndarray:
    """What to redraw, (72, 72, 1) float32 in [0, 1] (1: redraw, 0: keep): a region's name
    (``INPAINT_REGIONS``: a band with feathered edges), or an array of any size, (H, W) or
    (H, W, 1), bool, uint8 (255: redraw) or float in [0, 1], centre-cropped and resized as
    images are."""
    if isinstance(mask, str):
        if mask not in INPAINT_REGIONS:
            raise UsageError(f"region {mask!r}: use one of {', '.join(INPAINT_REGIONS)}, or a mask image")
        axis, first, end = INPAINT_REGIONS[mask]
        index = np.arange(IMAGE_SIZE, dtype=np.float32)
        ramp = np.clip(np.minimum(index - first + 1, end - index) / INPAINT_FEATHER, 0.0, 1.0)
        band = ramp[:, None] if axis == "rows" else ramp[None, :]
        return np.broadcast_to(band, (IMAGE_SIZE, IMAGE_SIZE))[..., None].astype(np.float32)
    array = np.asarray(mask)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2 or min(array.shape) < 1:
        raise UsageError(f"a mask of shape {array.shape}: give (height, width) values, 1 (or 255) where to redraw")
    if array.dtype == np.uint8:
        array = array / 255.0
    elif array.dtype == bool:
        array = array.astype(np.float32)
    elif not (np.issubdtype(array.dtype, np.floating) and np.isfinite(array).all()
              and array.min() >= 0.0 and array.max() <= 1.0):
        raise UsageError(f"a mask of {array.dtype} values: give bool, uint8 (255: redraw) or floats from 0 to 1")
    frame = tf.image.resize(center_crop(array.astype(np.float32)[..., None]), (IMAGE_SIZE, IMAGE_SIZE),
                            antialias=True).numpy()
    if frame.max() < 0.5 / 255.0:
        raise UsageError("the mask marks nothing to redraw: make it white (or 1) where the emoji should change")
    return np.clip(frame, 0.0, 1.0).astype(np.float32)
