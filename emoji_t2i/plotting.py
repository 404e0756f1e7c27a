"""Captioned image grids (PIL only, no display needed): contact sheets and sample grids."""

from __future__ import annotations

import textwrap
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from emoji_t2i.errors import UsageError

# images in one grid PNG: a sheet of every embedded emoji would be 277,000 pixels tall, past
# what image viewers open and past Pillow's own decompression-bomb limit
MAX_GRID = 1024


def check_grid_size(count: int, what: str, fix: str) -> None:
    """A one-line UsageError, before any work, when a grid would hold more than MAX_GRID images."""
    if count > MAX_GRID:
        raise UsageError(f"{what}: {count} images are too many for one grid PNG (at most {MAX_GRID}); {fix}")


@lru_cache(maxsize=4)
def caption_font(size: int = 10) -> ImageFont.ImageFont:
    """DejaVu Sans, which matplotlib carries: at 10 px Pillow's built-in font leaves a space no
    wider than the gaps between letters ("thumbs up sign" read as "thumbsupsign")."""
    try:
        import matplotlib

        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), size)
    except (ImportError, OSError):
        return ImageFont.load_default(size=size)


def _checkerboard(size: int, cell: int = 8) -> Image.Image:
    """Transparency shows as a light checkerboard, as image editors show it."""
    yy, xx = np.mgrid[:size, :size] // cell
    board = np.where((yy + xx) % 2 == 0, 255, 228).astype(np.uint8)
    return Image.fromarray(np.stack([board] * 3 + [np.full_like(board, 255)], -1), "RGBA")


def image_grid(
    images: np.ndarray,
    captions: list[str] | None = None,
    columns: int = 8,
    scale: int = 1,
    caption_lines: int = 2,
    title: str | None = None,
) -> Image.Image:
    """Tile RGBA uint8 images (N, H, W, 4) over a checkerboard, each with a wrapped caption."""
    images = np.asarray(images)
    n, h, w = images.shape[:3]
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    cw, ch = w * scale, h * scale
    font = caption_font(10)
    text_h = 12 * caption_lines if captions else 0
    title_h = 18 if title else 0
    pad = 4
    sheet = Image.new("RGB", (columns * (cw + pad) + pad, title_h + rows * (ch + text_h + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, 3), title, fill="black", font=caption_font(12))
    board = _checkerboard(cw)
    for i in range(n):
        r, c = divmod(i, columns)
        x, y = pad + c * (cw + pad), title_h + pad + r * (ch + text_h + pad)
        tile = Image.fromarray(images[i], "RGBA").resize((cw, ch), Image.NEAREST)
        sheet.paste(Image.alpha_composite(board.resize((cw, ch)), tile).convert("RGB"), (x, y))
        if captions and captions[i]:
            span = caption_span(captions, i, columns)
            lines = caption_lines_for(captions[i], max(6, (span * (cw + pad) - pad) // 6), caption_lines)
            for k, line in enumerate(lines):
                draw.text((x, y + ch + 1 + 11 * k), line, fill="black", font=font)
    return sheet


def caption_span(captions: list[str], i: int, columns: int) -> int:
    """Tiles caption ``i`` may use: its own and the uncaptioned ones after it in its row (a
    row of samples of one prompt is captioned once, under its first tile)."""
    span = 1
    while (i + span) % columns and i + span < len(captions) and not captions[i + span]:
        span += 1
    return span


def caption_lines_for(caption: str, chars: int, max_lines: int) -> list[str]:
    """``caption`` wrapped at ``chars``; a caption longer than ``max_lines`` ends in an
    ellipsis, so a cut prompt never reads as a shorter one."""
    lines = textwrap.wrap(caption, chars)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    kept[-1] = kept[-1][: max(1, chars - 1)].rstrip() + "\u2026"
    return kept


def save_grid(path: str | Path, images, captions=None, pnginfo=None, **kwargs) -> Path:
    """``image_grid`` written to ``path``; ``pnginfo``: text chunks for a PNG (what made it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image_grid(images, captions, **kwargs).save(path, **({"pnginfo": pnginfo} if pnginfo is not None else {}))
    return path
