"""emoji_t2i: a TensorFlow 2 / Keras 3 model zoo that turns short text into 72x72 RGBA emoji.

Imports point one way: ``data`` -> ``text`` -> ``networks`` / ``schedulers`` -> ``models`` ->
``pipelines`` -> ``evaluation`` -> ``training`` -> the CLIs (``generate``, ``export``, ...;
tests/test_architecture.py holds the rule). Importing the package is cheap; TensorFlow is
imported by the modules that need it.
"""

__version__ = "0.1.0"

IMAGE_SIZE = 72
CHANNELS = 4
