"""TFDS builders. Importing this package registers ``emoji72`` with tensorflow-datasets."""

from emoji_t2i.datasets.emoji72 import Emoji72

__all__ = ["Emoji72"]
