import numpy as np
import tensorflow_datasets as tfds

import emoji_t2i.datasets  # noqa: F401  (registers emoji72)
from emoji_t2i.datasets import load_tfds_as_dataset


def test_tfds_builds_offline_and_matches_the_artifact(tmp_path, embedded):
    train = tfds.load("emoji72", split="train", data_dir=str(tmp_path))
    example = next(iter(train))
    assert example["image"].shape == (72, 72, 4)
    assert example["captions"].shape[0] >= 2
    ds = load_tfds_as_dataset("emoji72", data_dir=str(tmp_path))
    assert len(ds) == len(embedded)
    assert sorted(ds.ids.tolist()) == sorted(embedded.ids.tolist())
    row = int(list(ds.ids).index(embedded.ids[0]))
    position = {image_id: k for k, image_id in enumerate(ds.ids)}
    order = np.array([position[image_id] for image_id in embedded.ids])
    assert np.array_equal(ds.images[order], embedded.images)  # every image, under its own id
    assert ds.split[row] == embedded.split[0]
    assert ds.metadata["style"][row] == embedded.metadata["style"][0]
    assert set(ds.metadata["style"].tolist()) == set(embedded.metadata["style"].tolist())
