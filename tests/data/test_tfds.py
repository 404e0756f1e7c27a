import numpy as np
import pytest
import tensorflow_datasets as tfds

import emoji_t2i.datasets  # noqa: F401  (registers emoji72)
from emoji_t2i.data.errors import DataError
from emoji_t2i.datasets import load_tfds_as_dataset


def assert_same_rows(ds, expected):
    """Every image, caption set and feature under its own id, in every split."""
    assert len(ds) == len(expected) and sorted(ds.ids.tolist()) == sorted(expected.ids.tolist())
    position = {image_id: k for k, image_id in enumerate(ds.ids)}
    order = np.array([position[image_id] for image_id in expected.ids])
    assert np.array_equal(ds.images[order], expected.images)
    assert [ds.captions[k] for k in order] == list(expected.captions)
    assert np.array_equal(ds.split[order], expected.split)
    for key, values in expected.metadata.items():
        assert np.array_equal(ds.metadata[key][order], values), key


def test_tfds_builds_one_style_offline_and_matches_the_artifact(tmp_path, embedded):
    """A config per style and ``all`` by default; the smallest style's build (650 drawings)
    reads back as the artifact's rows of that style. The whole build: the slow test below."""
    styles = sorted(set(embedded.metadata["style"].tolist()))
    assert tfds.builder("emoji72", data_dir=str(tmp_path)).builder_config.name == "all"
    assert sorted(c.name for c in tfds.builder("emoji72").BUILDER_CONFIGS) == sorted(["all", *styles])
    train = tfds.load("emoji72/fxemoji", split="train", data_dir=str(tmp_path))
    example = next(iter(train))
    assert example["image"].shape == (72, 72, 4) and example["captions"].shape[0] >= 1
    assert example["style"].numpy() == b"fxemoji"
    expected = embedded.take(np.flatnonzero(embedded.metadata["style"] == "fxemoji"))
    assert_same_rows(load_tfds_as_dataset("emoji72/fxemoji", data_dir=str(tmp_path)), expected)
    with pytest.raises(DataError, match="tfds:emoji72/nosuch: no such TFDS dataset or config; use tfds:emoji72 "
                                        "or one of tfds:emoji72/all, tfds:emoji72/google"):
        load_tfds_as_dataset("emoji72/nosuch", data_dir=str(tmp_path))


@pytest.mark.slow  # 40-64 s on 2 cores; the same generator as the one-style build above
def test_tfds_builds_every_style_offline_and_matches_the_artifact(tmp_path, embedded):
    assert_same_rows(load_tfds_as_dataset("emoji72", data_dir=str(tmp_path)), embedded)
