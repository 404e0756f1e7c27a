import collections

import numpy as np
import pytest

from emoji_t2i.data import SPLITS, DataError, load_dataset
from emoji_t2i.data.artifact import read_manifest
from emoji_t2i.data.dataset import embedded_dataset_dir


def test_counts_shapes_and_ranges(embedded):
    assert 7000 < len(embedded) < 8000
    assert embedded.images.shape[1:] == (72, 72, 4)
    assert embedded.images.dtype == np.uint8
    vendors = collections.Counter(embedded.metadata["vendor"].tolist())
    assert set(vendors) == {"google", "twitter"} and min(vendors.values()) > 3500
    # Real artwork: transparent backgrounds, opaque strokes, full colour range.
    alpha = embedded.images[..., 3]
    assert (alpha == 0).mean() > 0.1 and (alpha == 255).mean() > 0.2
    assert embedded.images[..., :3].max() == 255 and embedded.images[..., :3].min() == 0
    assert len(set(embedded.ids.tolist())) == len(embedded)


def test_every_image_has_two_captions_and_skin_tones_in_words(embedded):
    assert min(len(c) for c in embedded.captions) >= 2
    toned = np.flatnonzero(embedded.metadata["skin_tone"] == "dark skin tone")
    assert len(toned) > 100
    assert all(all(c.endswith("dark skin tone") for c in embedded.captions[i]) for i in toned)
    thumbs = [embedded.captions[i] for i in toned if embedded.captions[i][0].startswith("thumbs up")]
    assert len(thumbs) == 2  # google and twitter
    assert "thumbs up: dark skin tone" in thumbs[0]


def test_heldout_split_is_by_identity(embedded):
    assert set(embedded.split.tolist()) == set(SPLITS)
    train = set(embedded.identity[embedded.split == "train"].tolist())
    held = set(embedded.identity[embedded.split == "heldout"].tolist())
    assert not train & held
    assert 0.03 < len(held) / len(train | held) < 0.07


def test_manifest_is_readable_and_matches(embedded):
    rows = read_manifest(embedded_dataset_dir())
    assert [r["id"] for r in rows] == embedded.ids.tolist()
    assert rows[0].keys() >= {"id", "vendor", "unified", "category", "subcategory", "captions"}


def test_unknown_path_is_one_clear_line(tmp_path):
    with pytest.raises(DataError, match="no such folder") as err:
        load_dataset(tmp_path / "nope")
    assert "\n" not in str(err.value)
