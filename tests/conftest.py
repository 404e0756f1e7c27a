"""Shared fixtures. TensorFlow is split into two logical CPUs before anything touches it, so
the distribution tests can run a MirroredStrategy on this 2-core, GPU-less machine.

``make test`` runs two pytest-xdist workers, a module per worker at a time, in the order
collected: the longest modules go first so that the workers end together (by default xdist
sends modules with many tests first, which left the longest one-test modules to the end)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The JAX processes the tests start (the JAX trainer, the cross-backend checks) spend most of
# their time compiling tiny networks; without XLA's backend optimisation that takes a quarter
# less (measured on three), and on these networks running unoptimised code costs little.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Grappler's graph rewrites pay off on real models; on these tiny ones they cost 7-10 % of a
# test's time (measured on two). Only this process skips them: the CLIs the tests start run as users do.
tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})

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


# the longest modules (a minute or more each on 2 cores), longest first; the rest follow in
# their usual order. test_diffusion_cli.py leads because it builds the diffusion run that
# test_state.py reads (tests/training/conftest.py); the other worker starts on the JAX trainer's
# objective, which needs no run, so that it does not wait for it.
RUN_FIRST = (
    "tests/training/test_diffusion_cli.py",
    "tests/training/test_train_jax.py",
    "tests/training/test_state.py",
    "tests/models/test_zoo.py",
    "tests/models/test_cgan.py",
    "tests/training/test_reliability.py",
    "tests/training/test_train_cli.py",
    "tests/app/test_app.py",
    "tests/training/test_vq_cli.py",
    "tests/evaluation/test_evaluate.py",
    "tests/app/test_browser.py",
    "tests/test_notebooks.py",
    "tests/data/test_tfds.py",
    "tests/test_install.py",
)


def pytest_collection_modifyitems(items):
    rank = {module: k for k, module in enumerate(RUN_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep order
