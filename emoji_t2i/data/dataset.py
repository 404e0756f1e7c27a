"""The in-memory dataset every model trains on (``load.load_dataset`` fills it)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from emoji_t2i.data.errors import DataError

SPLITS = ("train", "heldout")
METADATA_FIELDS = ("style", "unified", "category", "subcategory", "skin_tone")


def embedded_dataset_dir() -> Path:
    """The committed artifact: ``data/emoji72`` at the repository root."""
    return Path(__file__).resolve().parents[2] / "data" / "emoji72"


@dataclasses.dataclass
class EmojiDataset:
    """Decoded images with their captions, identity and metadata, all aligned by row.

    ``identity`` groups rows that show the same emoji (every style and skin tone of it);
    the held-out split is drawn by identity so that evaluation prompts name emoji no model
    saw. ``metadata`` holds string columns (style, unified, category, subcategory,
    skin_tone); a user's folder fills them with "".
    """

    images: np.ndarray  # (N, 72, 72, 4) uint8
    captions: list[tuple[str, ...]]
    identity: np.ndarray  # (N,) str
    split: np.ndarray  # (N,) str, one of SPLITS
    ids: np.ndarray  # (N,) str
    metadata: dict[str, np.ndarray]
    source: str = ""

    def __post_init__(self):
        n = len(self.images)
        lengths = {len(self.captions), len(self.identity), len(self.split), len(self.ids)}
        lengths |= {len(v) for v in self.metadata.values()}
        if lengths != {n}:
            raise DataError(f"dataset columns have different lengths {sorted(lengths)}; rebuild it")

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, split: str) -> EmojiDataset:
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        return self.take(np.flatnonzero(self.split == split))

    def take(self, rows) -> EmojiDataset:
        rows = np.asarray(rows, np.int64)
        return EmojiDataset(
            images=self.images[rows],
            captions=[self.captions[i] for i in rows],
            identity=self.identity[rows],
            split=self.split[rows],
            ids=self.ids[rows],
            metadata={k: v[rows] for k, v in self.metadata.items()},
            source=self.source,
        )

    def label_vocabulary(self, field: str) -> list[str]:
        """Sorted distinct non-empty values of a metadata field or of ``identity``."""
        column = self.identity if field == "identity" else self.metadata[field]
        return sorted({str(v) for v in column if str(v)})
