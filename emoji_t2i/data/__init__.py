"""Data: build the embedded artifact, load it (or a user's folder), and feed models.

    from emoji_t2i.data import load_dataset, make_vectorizer, make_dataset
"""

from emoji_t2i.data.dataset import SPLITS, EmojiDataset, embedded_dataset_dir
from emoji_t2i.data.errors import DataError
from emoji_t2i.data.load import load_dataset

__all__ = ["SPLITS", "DataError", "EmojiDataset", "embedded_dataset_dir", "load_dataset"]
