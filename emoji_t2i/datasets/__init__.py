"""TFDS builders. Importing this package registers ``emoji72`` with tensorflow-datasets.

The builder lives in ``emoji_t2i.data.tfds_builder`` (data imports nothing above it);
this package is the conventional import path for TFDS users.
"""

from emoji_t2i.data.tfds_builder import Emoji72, load_tfds_as_dataset

__all__ = ["Emoji72", "load_tfds_as_dataset"]
