"""Emoji drawn as SVG: read the packages that carry them and rasterise to 72x72 RGBA.

Two layouts occur on the npm registry:

- iconify JSON (``@iconify-json/*``): ``icons.json`` holds every icon's SVG *body* (the
  elements inside ``<svg>``), the viewBox size set-wide in ``width``/``height`` or per icon,
  and ``aliases`` (another name, optionally flipped or rotated); ``chars.json`` maps code
  points to names where the set provides it, otherwise names follow CLDR ("flag-for-japan",
  "thumbs-up-light-skin-tone") and are joined through ``name_key``.
- a folder of ``<HEXCODE>.svg`` files (OpenMoji).

Rasterising renders at 4x the target size with resvg and downsamples on premultiplied alpha,
as the PNG sets are resized: thin strokes survive as antialiased lines instead of aliasing.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from emoji_t2i import IMAGE_SIZE
from emoji_t2i.data.errors import DataError
from emoji_t2i.data.images import load_rgba72

RENDER_SCALE = 4
_SVG_NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def name_key(text: str) -> str:
    """CLDR-style name -> a join key: accents and punctuation dropped, words by '-'.

    ``"flag: Åland Islands"`` and iconify's ``"flag-for-aland-islands"`` both give
    ``"flag-aland-islands"``; ``"woman’s hat"`` gives ``"womans-hat"``.
    """
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    key = re.sub(r"[^a-z0-9]+", "-", text.replace("'", "")).strip("-")
    return re.sub(r"^flag-for-(flag-)?", "flag-", key)


def squashed_key(text: str) -> str:
    """Letters and digits only: Firefox OS names run words together ("crescentmoon")."""
    return re.sub(r"[^a-z0-9]", "", name_key(text))


def _transform(flip_h: bool, flip_v: bool, rotate: int, left, top, width, height) -> str:
    """The SVG transform that iconify's alias attributes (hFlip, vFlip, rotate) describe."""
    cx, cy = left + width / 2, top + height / 2
    steps = []
    if rotate:
        steps.append(f"rotate({90 * rotate} {cx} {cy})")
    if flip_h or flip_v:
        steps.append(f"translate({cx} {cy}) scale({-1 if flip_h else 1} {-1 if flip_v else 1}) "
                     f"translate({-cx} {-cy})")
    return " ".join(steps)


def iconify_svgs(icons_json: dict) -> dict[str, str]:
    """name -> a complete SVG document, for every icon and alias of an iconify ``icons.json``."""
    icons, aliases = icons_json.get("icons"), icons_json.get("aliases", {})
    if not isinstance(icons, dict):
        raise DataError("icons.json has no 'icons' object; is this an @iconify-json package?")
    default = {k: icons_json.get(k, d) for k, d in (("left", 0), ("top", 0), ("width", 16), ("height", 16))}

    def resolve(name, depth=0):
        if name in icons:
            return {**default, **icons[name]}
        alias = aliases.get(name)
        if alias is None or depth > 8:
            return None
        parent = resolve(alias["parent"], depth + 1)
        if parent is None:
            return None
        merged = {**parent, **{k: v for k, v in alias.items() if k != "parent"}}
        # flips compose by parity and rotations add (iconify's merge rules)
        merged["hFlip"] = bool(parent.get("hFlip")) != bool(alias.get("hFlip"))
        merged["vFlip"] = bool(parent.get("vFlip")) != bool(alias.get("vFlip"))
        merged["rotate"] = (parent.get("rotate", 0) + alias.get("rotate", 0)) % 4
        return merged

    out = {}
    for name in [*icons, *aliases]:
        icon = resolve(name)
        if icon is None:
            continue
        box = [icon["left"], icon["top"], icon["width"], icon["height"]]
        body = icon["body"]
        transform = _transform(icon.get("hFlip", False), icon.get("vFlip", False),
                               icon.get("rotate", 0), *box)
        if transform:
            body = f'<g transform="{transform}">{body}</g>'
        out[name] = f'<svg {_SVG_NS} viewBox="{" ".join(str(v) for v in box)}">{body}</svg>'
    return out


def _render_size(svg: str, size: int) -> tuple[int, int]:
    match = re.search(r'viewBox="\s*([-\d.eE]+)[\s,]+([-\d.eE]+)[\s,]+([-\d.eE]+)[\s,]+([-\d.eE]+)', svg)
    if not match:
        return size, size
    width, height = float(match.group(3)), float(match.group(4))
    scale = size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def rasterise(svg: str, size: int = IMAGE_SIZE) -> np.ndarray:
    """An SVG document -> (size, size, 4) uint8 RGBA, rendered at 4x and downsampled."""
    import resvg_py

    width, height = _render_size(svg, size * RENDER_SCALE)
    try:
        png = resvg_py.svg_to_bytes(svg_string=svg, width=width, height=height)
    except ValueError as e:
        raise DataError(f"resvg could not render an SVG ({e}); check the package version") from e
    return load_rgba72(bytes(png), size)
