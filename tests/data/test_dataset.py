import collections
import csv
from pathlib import Path

import numpy as np
import pytest

from emoji_t2i.data import SPLITS, DataError, load_dataset
from emoji_t2i.data.artifact import read_manifest
from emoji_t2i.data.dataset import embedded_dataset_dir
from emoji_t2i.data.styles import STYLE_NAMES, STYLES


def test_counts_shapes_and_ranges(embedded):
    assert 20000 < len(embedded) < 26000
    assert embedded.images.shape[1:] == (72, 72, 4)
    assert embedded.images.dtype == np.uint8
    styles = collections.Counter(embedded.metadata["style"].tolist())
    assert set(styles) == set(STYLE_NAMES) and min(styles.values()) > 500
    assert min(styles["google"], styles["twitter"]) > 3500
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
    thumbs = [i for i in toned if embedded.captions[i][0].startswith("thumbs up")]
    drawn = np.flatnonzero(embedded.metadata["unified"] == "1F44D-1F3FF")
    assert sorted(thumbs) == sorted(drawn.tolist()) and len(thumbs) >= 5  # one per style that draws it
    assert all("thumbs up: dark skin tone" in embedded.captions[i] for i in thumbs)


def test_heldout_split_is_by_identity(embedded):
    assert set(embedded.split.tolist()) == set(SPLITS)
    for style in STYLE_NAMES:  # no held-out identity in the training split of any style
        rows = embedded.metadata["style"] == style
        train = set(embedded.identity[rows & (embedded.split == "train")].tolist())
        held = set(embedded.identity[rows & (embedded.split == "heldout")].tolist())
        assert not train & held and held
    train = set(embedded.identity[embedded.split == "train"].tolist())
    held = set(embedded.identity[embedded.split == "heldout"].tolist())
    assert not train & held
    assert 0.03 < len(held) / len(train | held) < 0.07


def test_the_two_style_heldout_identities_stay_held_out(embedded):
    lines = (Path(__file__).parent / "heldout_identities_emoji72_v1.txt").read_text().splitlines()
    before = {line for line in lines if line and not line.startswith("#")}
    assert len(before) == 96
    now = set(embedded.identity[embedded.split == "heldout"].tolist())
    assert before <= now
    assert set(embedded.split[np.isin(embedded.identity, list(before))]) == {"heldout"}


def test_notice_names_every_style_in_the_artifact(embedded):
    notice = (embedded_dataset_dir().parent / "NOTICE").read_text()
    for style in set(embedded.metadata["style"].tolist()):
        package = next(s.package for s in STYLES if s.name == style)
        assert f"- {style}: " in notice and package in notice
    assert "CC BY-SA 4.0" in notice and "Share-alike" in notice  # OpenMoji's terms travel with it


def test_an_artifact_from_before_styles_still_loads(tmp_path, embedded):
    """PNG records under "png" and a "vendor" column: the format of the two-style artifact."""
    import tensorflow as tf

    from emoji_t2i.data.images import encode_png

    rows = [0, 1, 2]
    with open(tmp_path / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "split", "identity", "vendor", "unified", "category", "subcategory",
                         "skin_tone", "captions"])
        for r in rows:
            writer.writerow([embedded.ids[r], embedded.split[r], embedded.identity[r],
                             embedded.metadata["style"][r], embedded.metadata["unified"][r], "c", "s", "",
                             " | ".join(embedded.captions[r])])
    with tf.io.TFRecordWriter(str(tmp_path / "images-0000-of-0001.tfrecord")) as writer:
        for r in rows:
            feature = {"id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[embedded.ids[r].encode()])),
                       "png": tf.train.Feature(bytes_list=tf.train.BytesList(
                           value=[encode_png(embedded.images[r])]))}
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    old = load_dataset(tmp_path)
    assert old.metadata["style"].tolist() == embedded.metadata["style"][rows].tolist()
    assert np.array_equal(old.images, embedded.images[rows])


def test_an_artifact_is_decoded_once_per_process_until_it_changes(tmp_path, embedded):
    """The second load shares the first's read-only images; a rewritten artifact reads afresh."""
    from emoji_t2i.data.artifact import write_artifact

    def rows(indices):
        return [{"id": embedded.ids[r], "split": embedded.split[r], "identity": embedded.identity[r],
                 **{k: v[r] for k, v in embedded.metadata.items()}, "captions": list(embedded.captions[r])}
                for r in indices]

    write_artifact(tmp_path, rows([0, 1, 2]), embedded.images[[0, 1, 2]], {}, shards=2)
    first, second = load_dataset(tmp_path), load_dataset(tmp_path)
    assert second.images is first.images and np.array_equal(first.images, embedded.images[[0, 1, 2]])
    with pytest.raises(ValueError, match="read-only"):
        first.images[0, 0, 0, 0] = 1  # no caller changes another's images
    second.captions.append(("x",))
    assert len(load_dataset(tmp_path).captions) == 3  # its own lists
    write_artifact(tmp_path, rows([3, 4]), embedded.images[[3, 4]], {}, shards=2)
    rewritten = load_dataset(tmp_path)
    assert rewritten.ids.tolist() == embedded.ids[[3, 4]].tolist()
    assert np.array_equal(rewritten.images, embedded.images[[3, 4]])


def test_manifest_is_readable_and_matches(embedded):
    rows = read_manifest(embedded_dataset_dir())
    assert [r["id"] for r in rows] == embedded.ids.tolist()
    assert rows[0].keys() >= {"id", "style", "unified", "category", "subcategory", "captions"}


def test_unknown_path_is_one_clear_line(tmp_path):
    with pytest.raises(DataError, match="no such folder") as err:
        load_dataset(tmp_path / "nope")
    assert "\n" not in str(err.value)
