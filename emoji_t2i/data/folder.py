"""A user's own data: a folder of images plus ``captions.csv``: a ``file`` column, an optional
``style`` column (which set or artist drew the image; ``--set style=`` filters on it) and one or
more caption columns."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from emoji_t2i.data.dataset import METADATA_FIELDS, EmojiDataset
from emoji_t2i.data.emoji_names import spell_out_emoji
from emoji_t2i.data.errors import DataError
from emoji_t2i.data.images import load_rgba72

CAPTIONS_FILE = "captions.csv"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
HELDOUT_FRACTION = 0.05
SPLIT_SEED = 72


def _read_rows(folder: Path) -> list[tuple[str, list[str]]]:
    path = folder / CAPTIONS_FILE
    if not path.exists():
        raise DataError(
            f"{path}: missing; add a CSV with a 'file' column and one or more caption columns"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not UTF-8 text (byte {e.object[e.start]:#04x}); save the file "
                        "as UTF-8") from None
    with io.StringIO(text, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        names = [h.strip().lower() for h in header or []]
        if "file" not in names:
            raise DataError(f"{path}: no 'file' column in the header; add one naming each image")
        file_col = names.index("file")
        style_col = names.index("style") if "style" in names else -1
        rows = []
        for line_no, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            name = cells[file_col].strip() if file_col < len(cells) else ""
            style = cells[style_col].strip() if 0 <= style_col < len(cells) else ""
            captions = [c.strip() for i, c in enumerate(cells) if i not in (file_col, style_col) and c.strip()]
            rows.append((line_no, name, style, captions))
    return rows


def _spelled(captions: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Emoji in captions read as their names, as the pipeline reads them in prompts: a model
    trained on "🐱 in a box" is asked for "cat face in a box" whichever way the user writes it."""
    flat = iter(spell_out_emoji([c for caps in captions for c in caps]))
    return [tuple(next(flat) for _ in caps) for caps in captions]


def load_folder(folder: Path, *, skip_bad: bool = False) -> EmojiDataset:
    """Load, validate and resize every image the captions file names.

    Each problem raises one DataError naming the file and the fix; with ``skip_bad`` it is a
    warning instead, the row is dropped and the count is reported at the end.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder; pass a folder holding images and captions.csv")
    if not any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir()):
        raise DataError(f"{folder}: no images (png, jpg, gif, bmp, webp, tiff); add some")
    images, captions, ids, styles, problems = [], [], [], [], []

    def bad(message):
        if not skip_bad:
            raise DataError(message + " (or pass --skip-bad to drop such rows)")
        problems.append(message)
        warnings.warn(message, stacklevel=3)

    for line_no, name, style, caps in _read_rows(folder):
        where = f"{folder / CAPTIONS_FILE}:{line_no}"
        if not name:
            bad(f"{where}: empty 'file' cell; name the image")
            continue
        if not caps:
            bad(f"{where}: {name} has an empty caption; write at least one caption")
            continue
        path = folder / name
        if not path.is_file():
            bad(f"{where}: {name} does not exist in {folder}; fix the name or add the file")
            continue
        try:
            images.append(load_rgba72(path))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
            bad(f"{path}: not a readable image ({type(e).__name__}); replace or remove it")
            continue
        captions.append(tuple(caps))
        ids.append(name)
        styles.append(style)
    if problems:
        warnings.warn(f"skipped {len(problems)} bad rows in {folder}", stacklevel=2)
    if not images:
        raise DataError(f"{folder}: no usable images listed in {CAPTIONS_FILE}; fix the rows above")
    captions = _spelled(captions)
    identity = np.array([c[0].lower() for c in captions])
    rng = np.random.default_rng(SPLIT_SEED)
    unique = sorted(set(identity.tolist()))
    held = set(rng.choice(unique, size=int(len(unique) * HELDOUT_FRACTION), replace=False).tolist())
    n = len(images)
    return EmojiDataset(
        images=np.stack(images),
        captions=captions,
        identity=identity,
        split=np.array(["heldout" if i in held else "train" for i in identity]),
        ids=np.array(ids),
        metadata={**{k: np.array([""] * n) for k in METADATA_FIELDS}, "style": np.array(styles, dtype=str)},
        source=str(folder),
    )
