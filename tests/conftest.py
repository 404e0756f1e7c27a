"""Shared fixtures. TensorFlow is split into two logical CPUs before anything touches it, so
the distribution tests can run a MirroredStrategy on this 2-core, GPU-less machine."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)


@pytest.fixture(scope="session")
def embedded():
    from emoji_t2i.data import load_dataset

    return load_dataset()


@pytest.fixture(scope="session")
def tiny(embedded):
    """64 training images (a few categories), small enough for one-second train steps."""
    train = np.flatnonzero(embedded.split == "train")
    rows = np.random.default_rng(0).choice(train, size=64, replace=False)
    return embedded.take(np.sort(rows))


@pytest.fixture(scope="session")
def tiny_vectorizer(embedded):
    from emoji_t2i.data.vectorizers import make_vectorizer

    train = embedded.subset("train")
    return make_vectorizer("word", [c for caps in train.captions for c in caps])


@pytest.fixture(scope="session")
def hub_encoder_dir(tmp_path_factory):
    """minilm as a user's downloaded sentence encoder would be saved: a tf.Module whose
    ``__call__`` takes a string batch."""
    from emoji_t2i.text.minilm import load_minilm

    tokenizer, minilm = load_minilm(24)

    class SentenceEncoder(tf.Module):
        def __init__(self):
            super().__init__()
            self.tokenizer, self.minilm = tokenizer, minilm

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, text):
            return tf.cast(self.minilm(self.tokenizer(text))["pooled"], tf.float32)

    path = tmp_path_factory.mktemp("hub") / "sentence_encoder"
    tf.saved_model.save(SentenceEncoder(), str(path))
    return path
