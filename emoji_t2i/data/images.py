"""Image conversions: anything PIL opens -> 72x72 RGBA uint8, resized on premultiplied alpha."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from emoji_t2i import IMAGE_SIZE


def to_rgba(image: Image.Image) -> Image.Image:
    """RGB gets an opaque alpha; greyscale, palette (with or without transparency) convert too."""
    if image.mode == "RGBA":
        return image
    if image.mode == "P" and "transparency" in image.info:
        return image.convert("PA").convert("RGBA")
    return image.convert("RGBA")


def resize_premultiplied(rgba: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Lanczos-resize an RGBA uint8 array to ``size`` x ``size`` without dark fringes.

    Colour under fully transparent pixels is usually black; resizing straight RGBA mixes that
    black into the visible edge. Premultiplying first makes transparent pixels weigh nothing.
    Non-square images are fitted inside the square and centred on a transparent canvas.
    """
    h, w = rgba.shape[:2]
    if (h, w) == (size, size):
        return rgba.copy()
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    x = rgba.astype(np.float32) / 255.0
    alpha = x[..., 3:4]
    premult = np.concatenate([x[..., :3] * alpha, alpha], axis=-1)
    channels = [
        np.asarray(Image.fromarray(premult[..., c], mode="F").resize((nw, nh), Image.LANCZOS))
        for c in range(4)
    ]
    out = np.clip(np.stack(channels, axis=-1), 0.0, 1.0)
    a = out[..., 3:4]
    rgb = np.where(a > 1e-6, out[..., :3] / np.maximum(a, 1e-6), 0.0)
    resized = np.concatenate([np.clip(rgb, 0.0, 1.0), a], axis=-1)
    canvas = np.zeros((size, size, 4), np.float32)
    top, left = (size - nh) // 2, (size - nw) // 2
    canvas[top : top + nh, left : left + nw] = resized
    return np.round(canvas * 255.0).astype(np.uint8)


def premultiplied_unit(rgba_uint8) -> np.ndarray:
    """uint8 RGBA (..., 4) -> float32 premultiplied RGBA in [0, 1], in numpy (blends and
    distances between images; the models' own ``premultiply`` works on [-1, 1] tensors)."""
    x = np.asarray(rgba_uint8, np.float32) / 255.0
    return np.concatenate([x[..., :3] * x[..., 3:], x[..., 3:]], -1)


def center_crop(rgba: np.ndarray) -> np.ndarray:
    """The largest centred square of an (H, W, C) array: a photo fills the emoji's frame
    instead of being letterboxed into it."""
    h, w = rgba.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return rgba[top : top + side, left : left + side]


def load_rgba72(source, size: int = IMAGE_SIZE) -> np.ndarray:
    """Open a path or bytes with PIL and return a (size, size, 4) uint8 array."""
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    with Image.open(source) as image:
        image.load()
        return resize_premultiplied(np.asarray(to_rgba(image)), size)


def encode_png(rgba: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def to_unit_range(images_uint8):
    """uint8 [0, 255] -> float32 [-1, 1] (works on numpy arrays and tensors)."""
    return images_uint8 / 127.5 - 1.0


def to_uint8_tensor(images):
    """float [-1, 1] tensor -> uint8 tensor, inside a graph (the SavedModel endpoints)."""
    import tensorflow as tf

    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def to_uint8(images) -> np.ndarray:
    """float [-1, 1] -> uint8 [0, 255]."""
    return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(
        np.uint8
    )


def premultiply(images):
    """Straight RGBA in [-1, 1] -> premultiplied RGBA in [-1, 1]: a fully transparent pixel
    is (-1, -1, -1, -1) whatever colour the file stored under it."""
    from keras import ops

    unit = (ops.cast(images, "float32") + 1.0) * 0.5
    return ops.concatenate([unit[..., :3] * unit[..., 3:], unit[..., 3:]], axis=-1) * 2.0 - 1.0


def unpremultiply(images):
    """Inverse of ``premultiply`` (clipped): colour is divided back out where alpha > 0."""
    from keras import ops

    unit = ops.clip((ops.cast(images, "float32") + 1.0) * 0.5, 0.0, 1.0)
    alpha = unit[..., 3:]
    rgb = ops.where(alpha > 1.0 / 512.0, ops.clip(unit[..., :3] / ops.maximum(alpha, 1e-6), 0.0, 1.0), 0.0)
    return ops.concatenate([rgb, alpha], axis=-1) * 2.0 - 1.0
