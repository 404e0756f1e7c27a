"""The one function that loads a dataset, whatever its source: the committed artifact, a
user's folder, or the TFDS build. It sits above the readers so that none of them imports it."""

from __future__ import annotations

from pathlib import Path

from emoji_t2i.data import artifact, folder
from emoji_t2i.data.dataset import EmojiDataset, embedded_dataset_dir
from emoji_t2i.data.errors import DataError


def load_dataset(spec: str | Path | None = None, *, skip_bad: bool = False) -> EmojiDataset:
    """Load a dataset by spec: None/"embedded", a folder with captions.csv, or "tfds:emoji72"."""
    if spec is None or str(spec) == "embedded":
        return artifact.read_artifact(embedded_dataset_dir())
    spec = str(spec)
    if spec.startswith("tfds:"):
        from emoji_t2i.data.tfds_builder import load_tfds_as_dataset  # tensorflow_datasets is slow to import

        return load_tfds_as_dataset(spec[len("tfds:") :])
    path = Path(spec)
    if not path.exists():
        raise DataError(
            f"--data {spec}: no such folder; pass a folder with captions.csv, 'embedded' or "
            "'tfds:emoji72'"
        )
    if (path / artifact.MANIFEST).exists():
        return artifact.read_artifact(path)
    return folder.load_folder(path, skip_bad=skip_bad)
