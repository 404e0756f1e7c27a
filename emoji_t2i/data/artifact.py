"""The committed dataset artifact: PNG bytes in TFRecord shards plus a readable manifest.

Layout of an artifact folder::

    manifest.csv                  one row per image: id, split, identity, metadata, captions
    images-0000-of-0008.tfrecord  {"id": bytes, "image": bytes} records (lossless WebP)
    spec.json                     what built it (package versions, seed, counts, checksums)
    NOTICE                        the licence of every style in it

Captions are joined with " | " in the manifest so that it stays one row per image. Lossless
WebP (method 4: method 6 is 2 % smaller and 20x slower) is 40 % smaller than optimised PNG
here; the encoder may change the colour under fully transparent pixels, so the reader sets it
to zero (it carries no information).
Artifacts written before styles existed (PNG records under "png", a "vendor" column) still
load: the column is read as "style".
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.data.dataset import METADATA_FIELDS, EmojiDataset
from emoji_t2i.data.errors import DataError

MANIFEST = "manifest.csv"
SPEC = "spec.json"
CAPTION_SEPARATOR = " | "
COLUMNS = ("id", "split", "identity", *METADATA_FIELDS, "captions")
IMAGE_FORMAT = "webp"
SHARDS = 8


def _shard_name(index: int, count: int) -> str:
    return f"images-{index:04d}-of-{count:04d}.tfrecord"


def encode_webp(rgba: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="WEBP", lossless=True, quality=100, method=4)
    return buffer.getvalue()


def write_artifact(out_dir: Path, rows: list[dict], images, spec: dict, shards=SHARDS):
    """Write manifest, shards and spec. ``rows`` carry COLUMNS (captions as a list);
    ``images`` are (72, 72, 4) uint8 arrays or their ``encode_webp`` bytes, one per row."""
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
            for row, image in list(zip(rows, images, strict=True))[s::shards]:
                encoded = image if isinstance(image, bytes) else encode_webp(image)
                feature = {
                    "id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[row["id"].encode()])),
                    "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded])),
                }
                writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
        checksums[name] = hashlib.sha256((out_dir / name).read_bytes()).hexdigest()
    spec = {**spec, "image_format": IMAGE_FORMAT, "shards": checksums, "images": len(rows)}
    (out_dir / SPEC).write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n")


def read_manifest(art_dir: Path) -> list[dict]:
    path = Path(art_dir) / MANIFEST
    if not path.exists():
        raise DataError(f"{path}: missing; rebuild with `python -m emoji_t2i.data build`")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["captions"] = tuple(c for c in row["captions"].split(CAPTION_SEPARATOR) if c)
        if "style" not in row:
            row["style"] = row.pop("vendor", "")
    return rows


def read_images(art_dir: Path) -> tuple[list[str], np.ndarray]:
    """(ids, decoded (N, 72, 72, 4) uint8) in record order, in one parallel tf.data pass."""
    import tensorflow as tf

    files = sorted(str(p) for p in Path(art_dir).glob("images-*.tfrecord"))
    if not files:
        raise DataError(f"{art_dir}: no images-*.tfrecord shards; rebuild the artifact")
    spec_path = Path(art_dir) / SPEC
    spec = json.loads(spec_path.read_text()) if spec_path.exists() else {}
    key = "image" if spec.get("image_format", "png") == "webp" else "png"
    schema = {"id": tf.io.FixedLenFeature([], tf.string), key: tf.io.FixedLenFeature([], tf.string)}

    def decode(example):
        if key == "png":
            return example["id"], tf.io.decode_png(example[key], channels=CHANNELS)
        image = tf.io.decode_webp(example[key])[0]
        # libwebp stores an image with no transparent pixel as RGB: its alpha is 255
        image = tf.pad(image, [[0, 0], [0, 0], [0, CHANNELS - tf.shape(image)[-1]]], constant_values=255)
        return example["id"], tf.ensure_shape(image, [IMAGE_SIZE, IMAGE_SIZE, CHANNELS])

    # parsing in batches and decoding unordered: about twice as fast here as one record at a time
    ds = tf.data.TFRecordDataset(files, num_parallel_reads=len(files)).batch(256)
    ds = ds.map(lambda records: tf.io.parse_example(records, schema)).unbatch()
    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False).batch(4096)
    ids, images = [], []
    for batch_ids, batch_images in ds.as_numpy_iterator():
        ids += [i.decode() for i in batch_ids]
        images.append(batch_images)
    images = np.concatenate(images) if images else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, CHANNELS), np.uint8)
    if key != "png":  # the encoder may have kept any colour under alpha 0; it means nothing
        pixels = images.view(np.uint32)  # a pixel per word: a masked RGB multiply took 1.4 s here
        pixels[images[..., 3:] == 0] = 0
    return ids, images


def _fingerprint(art_dir: Path) -> tuple:
    """What the artifact's files are now: a rebuilt artifact reads afresh."""
    files = [art_dir / MANIFEST, *sorted(art_dir.glob("images-*.tfrecord"))]
    return (str(art_dir.resolve()),) + tuple((f.name, *_size_and_time(f)) for f in files)


def _size_and_time(path: Path) -> tuple:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return (-1, -1)
    return (stat.st_size, stat.st_mtime_ns)


# one decoded copy per process: training, the probe, evaluation and the app each load the
# embedded data, and decoding its 21k images takes seconds; the copy is read-only so that
# no caller can change another's images
_DECODED: dict[tuple, tuple[list[dict], np.ndarray]] = {}


def read_artifact(art_dir: Path) -> EmojiDataset:
    art_dir = Path(art_dir)
    key = _fingerprint(art_dir)
    if key not in _DECODED:
        _DECODED.clear()  # one artifact at a time: each is hundreds of MB decoded
        _DECODED[key] = _decode(art_dir)
    rows, images = _DECODED[key]
    return EmojiDataset(
        images=images,
        captions=[r["captions"] for r in rows],
        identity=np.array([r["identity"] for r in rows]),
        split=np.array([r["split"] for r in rows]),
        ids=np.array([r["id"] for r in rows]),
        metadata={k: np.array([r[k] for r in rows]) for k in METADATA_FIELDS},
        source=str(art_dir),
    )


def _decode(art_dir: Path) -> tuple[list[dict], np.ndarray]:
    rows = read_manifest(art_dir)
    ids, decoded = read_images(art_dir)
    position = {image_id: k for k, image_id in enumerate(ids)}
    missing = [r["id"] for r in rows if r["id"] not in position]
    if missing:
        raise DataError(f"{art_dir}: {len(missing)} manifest ids have no image (first {missing[0]}); "
                        "rebuild the artifact")
    images = decoded[np.array([position[r["id"]] for r in rows], np.int64)]
    images.setflags(write=False)
    return rows, images
