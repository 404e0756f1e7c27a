"""``emoji72``: the embedded dataset as a TFDS builder that prepares offline.

    import emoji_t2i.datasets, tensorflow_datasets as tfds
    ds = tfds.load("emoji72", split="train")            # every style ("emoji72/all")
    openmoji = tfds.load("emoji72/openmoji", split="train")  # one style

It reads the committed artifact (no download), so it works with no network.
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.data.artifact import read_artifact
from emoji_t2i.data.dataset import METADATA_FIELDS, SPLITS, EmojiDataset, embedded_dataset_dir
from emoji_t2i.data.errors import DataError
from emoji_t2i.data.styles import STYLES

_TEXT_FIELDS = ("id", "identity", *METADATA_FIELDS)


class Emoji72Config(tfds.core.BuilderConfig):
    """Every style (``style=None``) or one."""

    def __init__(self, *, style: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.style = style


class Emoji72(tfds.core.GeneratorBasedBuilder):
    """Emoji of eight styles at 72x72 RGBA with captions and a ``style`` feature; split held
    out by emoji identity (the same identities in every style). Configs: ``all`` (the
    default) and one per style (``emoji72/google``, ...)."""

    VERSION = tfds.core.Version("2.1.0")
    RELEASE_NOTES = {"1.0.0": "emoji-datasource 16.0.0 (google, twitter), CLDR keywords from openmoji 17.0.0",
                     "2.0.0": "eight styles (Fluent flat and colour, OpenMoji, EmojiOne 2, Noto v1, "
                              "Firefox OS added); the 'vendor' feature is now 'style'",
                     "2.1.0": "configs: 'all' (the default, the 2.0.0 data) and one per style"}
    BUILDER_CONFIGS = [Emoji72Config(name="all", description="every style"),
                       *(Emoji72Config(name=style.name, style=style.name, description=style.title)
                         for style in STYLES)]

    def _info(self) -> tfds.core.DatasetInfo:
        features = {"image": tfds.features.Image(shape=(IMAGE_SIZE, IMAGE_SIZE, CHANNELS)),
                    "captions": tfds.features.Sequence(tfds.features.Text())}
        features.update({name: tfds.features.Text() for name in _TEXT_FIELDS})
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(features),
            homepage="https://github.com/iamcal/emoji-data",
        )

    def _split_generators(self, dl_manager):
        data = read_artifact(embedded_dataset_dir())
        if self.builder_config.style is not None:
            data = data.take(np.flatnonzero(data.metadata["style"] == self.builder_config.style))
        return {split: self._generate_examples(data.subset(split)) for split in SPLITS}

    def _generate_examples(self, data: EmojiDataset):
        for i, png in enumerate(_png_bytes(data.images)):
            example = {"image": png, "captions": list(data.captions[i]),
                       "id": str(data.ids[i]), "identity": str(data.identity[i])}
            example.update({k: str(data.metadata[k][i]) for k in METADATA_FIELDS})
            yield str(data.ids[i]), example


def _png_bytes(images: np.ndarray):
    """Each image's PNG bytes, encoded in one parallel tf.data pass, in order. Given arrays, the
    Image feature encodes one image per TensorFlow call: 20 s of a 44 s build here. zlib's
    fastest level: the 22k images in 8.3-11.3 s rather than 13.0-20.6 s at the default (three
    runs each on 2 cores), 9 % larger."""
    import tensorflow as tf

    def encode(image):
        return tf.io.encode_png(image, compression=1)

    ds = tf.data.Dataset.from_tensor_slices(images).map(encode, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.as_numpy_iterator()


def load_tfds_as_dataset(name: str = "emoji72", data_dir: str | None = None) -> EmojiDataset:
    """Every split of a TFDS dataset (built first if need be) gathered into one EmojiDataset
    (``--data tfds:emoji72``)."""
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except ValueError as e:  # tfds' DatasetNotFoundError and unknown configs alike
        known = ", ".join(f"tfds:emoji72/{config.name}" for config in Emoji72.BUILDER_CONFIGS)
        raise DataError(f"tfds:{name}: no such TFDS dataset or config; use tfds:emoji72 or one of {known}") from e
    builder.download_and_prepare()  # as tfds.load does: builds once, then reads
    parts = []
    for split in SPLITS:
        rows = list(builder.as_dataset(split=split).as_numpy_iterator())
        parts.append((split, rows))
    rows = [(split, r) for split, split_rows in parts for r in split_rows]

    def text(key):
        return np.array([r[key].decode() for _, r in rows])

    return EmojiDataset(
        images=np.stack([r["image"] for _, r in rows]),
        captions=[tuple(c.decode() for c in r["captions"]) for _, r in rows],
        identity=text("identity"),
        split=np.array([s for s, _ in rows]),
        ids=text("id"),
        metadata={k: text(k) for k in METADATA_FIELDS},
        source=f"tfds:{name}",
    )
