"""The committed dataset artifact: PNG bytes in TFRecord shards plus a readable manifest.

Layout of an artifact folder::

    manifest.csv                  one row per image: id, split, identity, metadata, captions
    images-0000-of-0004.tfrecord  {"id": bytes, "png": bytes} records
    spec.json                     what built it (package versions, seed, counts, checksums)

Captions are joined with " | " in the manifest so that it stays one row per image.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.data.dataset import METADATA_FIELDS, EmojiDataset
from emoji_t2i.data.errors import DataError

MANIFEST = "manifest.csv"
SPEC = "spec.json"
CAPTION_SEPARATOR = " | "
COLUMNS = ("id", "split", "identity", *METADATA_FIELDS, "captions")


def _shard_name(index: int, count: int) -> str:
    return f"images-{index:04d}-of-{count:04d}.tfrecord"


def write_artifact(out_dir: Path, rows: list[dict], pngs: list[bytes], spec: dict, shards=4):
    """Write manifest, shards and spec. ``rows`` carry COLUMNS, captions as a list."""
    import tensorflow as tf

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("images-*.tfrecord"):
        stale.unlink()
    with open(out_dir / MANIFEST, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            if any("|" in c for c in row["captions"]):
                raise DataError(f"caption of {row['id']} contains '|'; remove it from the source")
            writer.writerow({**row, "captions": CAPTION_SEPARATOR.join(row["captions"])})
    checksums = {}
    for s in range(shards):
        name = _shard_name(s, shards)
        with tf.io.TFRecordWriter(str(out_dir / name)) as writer:
            for row, png in list(zip(rows, pngs, strict=True))[s::shards]:
                feature = {
                    "id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[row["id"].encode()])),
                    "png": tf.train.Feature(bytes_list=tf.train.BytesList(value=[png])),
                }
                writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
        checksums[name] = hashlib.sha256((out_dir / name).read_bytes()).hexdigest()
    spec = {**spec, "shards": checksums, "images": len(rows)}
    (out_dir / SPEC).write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n")


def read_manifest(art_dir: Path) -> list[dict]:
    path = Path(art_dir) / MANIFEST
    if not path.exists():
        raise DataError(f"{path}: missing; rebuild with `python -m emoji_t2i.data build`")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["captions"] = tuple(c for c in row["captions"].split(CAPTION_SEPARATOR) if c)
    return rows


def read_images(art_dir: Path) -> dict[str, np.ndarray]:
    """id -> decoded (72, 72, 4) uint8, in one parallel tf.data pass over the shards."""
    import tensorflow as tf

    files = sorted(str(p) for p in Path(art_dir).glob("images-*.tfrecord"))
    if not files:
        raise DataError(f"{art_dir}: no images-*.tfrecord shards; rebuild the artifact")
    schema = {"id": tf.io.FixedLenFeature([], tf.string), "png": tf.io.FixedLenFeature([], tf.string)}

    def parse(record):
        example = tf.io.parse_single_example(record, schema)
        return example["id"], tf.io.decode_png(example["png"], channels=4)

    ds = tf.data.TFRecordDataset(files).map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    out = {}
    for ids, images in ds.batch(1024).as_numpy_iterator():
        out.update(zip((i.decode() for i in ids), images, strict=True))
    return out


def read_artifact(art_dir: Path) -> EmojiDataset:
    art_dir = Path(art_dir)
    rows = read_manifest(art_dir)
    decoded = read_images(art_dir)
    missing = [r["id"] for r in rows if r["id"] not in decoded]
    if missing:
        raise DataError(f"{art_dir}: {len(missing)} manifest ids have no image (first {missing[0]}); "
                        "rebuild the artifact")
    empty = np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, CHANNELS), np.uint8)
    images = np.stack([decoded[r["id"]] for r in rows]) if rows else empty
    return EmojiDataset(
        images=images,
        captions=[r["captions"] for r in rows],
        identity=np.array([r["identity"] for r in rows]),
        split=np.array([r["split"] for r in rows]),
        ids=np.array([r["id"] for r in rows]),
        metadata={k: np.array([r[k] for r in rows]) for k in METADATA_FIELDS},
        source=str(art_dir),
    )
