"""Emoji in prompts are read as their names, by the same graph in the pipeline and a SavedModel."""

import numpy as np
import pytest

from emoji_t2i.data.artifact import read_manifest
from emoji_t2i.data.dataset import embedded_dataset_dir
from emoji_t2i.data.emoji_names import emoji_characters, names_from_manifest, read_emoji_names, spell_out_emoji
from emoji_t2i.data.emoji_spelling import EmojiSpeller
from emoji_t2i.pipelines import TextToImagePipeline
from emoji_t2i.pipelines.checks import prompt_list
from tests.harness import tiny_model


def test_the_packaged_names_are_the_embedded_manifests():
    """`data build` rewrites the table with the dataset; a dataset changed without it fails here."""
    names = read_emoji_names()
    assert names == names_from_manifest(read_manifest(embedded_dataset_dir()))
    assert len(names) > 3700 and names["1F419"] == "octopus"


def test_every_emoji_of_the_dataset_spells_as_its_own_name():
    """Longest match first: a family, a flag, a skin tone or a keycap is one emoji, never its parts."""
    names = read_emoji_names()
    spelled = spell_out_emoji([emoji_characters(code) for code in names])
    wrong = [(code, got) for (code, name), got in zip(names.items(), spelled, strict=True) if got != name]
    assert not wrong, wrong[:5]


def test_prompts_with_emoji_and_without():
    prompts = ["🐙 wearing a 🎩", "thumbs up:  👍🏿", "❤ and ❤️", "🇯🇵🇰🇷", "🐱\u200d🐙",
               "crying  cat ", "웃는 고양이", "café\ufe0f", ""]
    assert spell_out_emoji(prompts) == [
        "octopus wearing a top hat",
        "thumbs up: thumbs up sign: dark skin tone",
        "heavy black heart and heavy black heart",  # with or without the emoji presentation selector
        "japan flag south korea flag",
        "cat face octopus",  # a sequence the table lacks: the emoji it is made of
        "crying  cat ",  # no emoji: byte for byte as given, spaces and all
        "웃는 고양이",
        "café\ufe0f",
        "",
    ]


def test_a_table_that_would_rewrite_words_is_refused():
    with pytest.raises(ValueError, match="plain ASCII"):
        EmojiSpeller({"#": "hash"})
    import tensorflow as tf

    assert EmojiSpeller({"\u2603": "snowman"})(tf.constant(["a \u2603!"])).numpy().tolist() == [b"a snowman !"]


@pytest.fixture(scope="module")
def pipe():
    from emoji_t2i.data.vectorizers import make_vectorizer

    model = tiny_model("diffusion", compile=False, num_steps=2)
    model.build_for_sampling(16)
    rng = np.random.default_rng(0)
    for w in model.ema_denoiser.weights:  # random weights everywhere: the words must reach the image
        w.assign(rng.normal(0, 0.1, w.shape).astype("float32"))
    return TextToImagePipeline(model, make_vectorizer("word", ["octopus", "top hat", "crying cat"], 16),
                               {"model": "diffusion"})


def test_the_pipeline_draws_an_emoji_as_its_name(pipe):
    assert prompt_list("🐙 wearing a 🎩") == ["octopus wearing a top hat"]
    named = pipe.sample(["octopus wearing a top hat", "crying cat"], seed=2)
    np.testing.assert_array_equal(pipe.sample(["🐙 wearing a 🎩", "crying cat"], seed=2), named)
    assert np.abs(named[0].astype(int) - pipe.sample(["crying cat"], seed=2)[0]).max() > 0
    np.testing.assert_array_equal(pipe.sample_many([("🐙 wearing a 🎩", 1, 2)])[0],  # a batch of one, as here
                                  pipe.sample(["octopus wearing a top hat"], seed=2))
    np.testing.assert_array_equal(pipe.mashup("🐙", "😿", mix=0.5, seed=1),
                                  pipe.mashup("octopus", "crying cat face", mix=0.5, seed=1))


def test_the_savedmodel_reads_emoji_and_negative_prompts_as_the_pipeline_does(pipe, tmp_path):
    import tensorflow as tf

    from emoji_t2i.export import export_pipeline

    served = tf.saved_model.load(str(export_pipeline(pipe, tmp_path / "export", editing=False)))
    assert not hasattr(served, "emojify") and not hasattr(served, "inpaint")  # left out: not traced
    prompts = tf.constant(["🐙 wearing a 🎩", "crying cat"])
    got = served.serve(prompts, 2).numpy()
    want = pipe.sample(["octopus wearing a top hat", "crying cat"], seed=2)
    assert np.abs(got.astype(int) - want).max() <= 1  # graph and eager may round a .5 apart
    assert np.abs(got[0].astype(int) - got[1]).max() > 1
    away = served.sample_negative(prompts, 2, tf.constant("🎩")).numpy()  # one graph: the null caption's
    want = pipe.sample(["octopus wearing a top hat", "crying cat"], seed=2, negative_prompt="top hat")
    assert np.abs(away.astype(int) - want).max() <= 1 and np.abs(away.astype(int) - got).max() > 1
    none = served.sample_negative(prompts, 2, tf.constant(" ")).numpy()  # rows read as the null caption again
    np.testing.assert_array_equal(none, got)


def test_spelling_runs_whatever_keras_backend():
    """TensorFlow ops, called as a tf.function: under Keras's JAX backend too (a run's other backend)."""
    import os
    import subprocess
    import sys

    script = "from emoji_t2i.data.emoji_names import spell_out_emoji; print(spell_out_emoji(['\\U0001F419 hat']))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.stdout.strip() == "['octopus hat']", result.stderr[-1000:]
