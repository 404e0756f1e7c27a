"""A style-conditioned diffusion model through the one sampling path: the pipeline takes
``style``, rejects styles a model lacks in one line, and the evaluation draws the protocol's
two styles image by image (tiny random-weight model, real minilm and its tokenizer)."""

import numpy as np
import pytest

from emoji_t2i.errors import UsageError
from emoji_t2i.evaluation.sources import PipelineSource
from emoji_t2i.pipelines import TextToImagePipeline
from tests.harness import tiny_model


@pytest.fixture(scope="module")
def style_pipe():
    from emoji_t2i.text.minilm import load_minilm

    tokenizer, _ = load_minilm()
    model = tiny_model("diffusion", compile=False, text_encoder="minilm", cross_attention=True,
                       styles=("google", "twitter"), num_steps=2)
    model.build_for_sampling(24)
    rng = np.random.default_rng(0)
    for w in model.ema_denoiser.weights:  # random weights everywhere: the style must reach the image
        w.assign(rng.normal(0, 0.1, w.shape).astype("float32"))
    return TextToImagePipeline(model, tokenizer, {"model": "diffusion"})


def test_the_pipeline_takes_a_style_and_names_the_choices(style_pipe):
    assert style_pipe.styles == ("google", "twitter") and style_pipe.options["style"] == "any"
    google = style_pipe.sample(["crying cat"], seed=0, style="google")
    twitter = style_pipe.sample(["crying cat"], seed=0, style="twitter")
    assert google.shape == (1, 72, 72, 4) and np.abs(google.astype(int) - twitter).max() > 0
    np.testing.assert_array_equal(style_pipe.sample(["crying cat"], seed=0, style="google"), google)
    with pytest.raises(UsageError, match="style 'comic': this model knows google, twitter"):
        style_pipe.sample(["crying cat"], style="comic")
    with pytest.raises(UsageError, match="style 'comic'"):  # what generate checks before its progress bar
        style_pipe.check_style({"style": "comic"})
    assert style_pipe.check_style({"style": "google"}) == {"style": "google"}


def test_mashup_and_emojify_draw_in_a_style(style_pipe):
    """The editing paths (the app's Mash-up and Your image tabs) take the style too."""
    twitter = style_pipe.mashup("crying cat", "rocket", mix=0.5, seed=1, style="twitter")
    google = style_pipe.mashup("crying cat", "rocket", mix=0.5, seed=1, style="google")
    assert np.abs(twitter.astype(int) - google).max() > 0
    np.testing.assert_array_equal(style_pipe.mashup("crying cat", "rocket", mix=0.5, seed=1, style="twitter"), twitter)
    photo = np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    a = style_pipe.emojify(photo, "person", seed=2, style="google")
    b = style_pipe.emojify(photo, "person", seed=2, style="twitter")
    assert a.shape == (1, 72, 72, 4) and np.abs(a.astype(int) - b).max() > 0
    with pytest.raises(UsageError, match="style 'comic': this model knows google, twitter"):
        style_pipe.mashup("crying cat", "rocket", style="comic")


def test_a_model_without_styles_rejects_one_and_ignores_any():
    model = tiny_model("diffusion", compile=False)
    model.build_for_sampling(16)
    from emoji_t2i.data.vectorizers import make_vectorizer

    pipe = TextToImagePipeline(model, make_vectorizer("word", ["crying cat"], 16), {"model": "diffusion"})
    assert "style" not in pipe.options and pipe.styles == ()
    with pytest.raises(UsageError, match="this diffusion model has no styles; leave style out"):
        pipe.sample(["crying cat"], style="google")
    np.testing.assert_array_equal(pipe.sample(["crying cat"], style="any"), pipe.sample(["crying cat"]))
    with pytest.raises(UsageError, match="this diffusion model has no styles"):
        pipe.mashup("crying cat", "crying cat", style="google")


def test_evaluation_draws_the_protocols_styles_image_by_image(style_pipe):
    source = PipelineSource(style_pipe, "tiny", styles=("google", "twitter", "noto_v1"))
    assert source.styles == ("google", "twitter") and "in styles google/twitter" in source.name
    images = source.generate(["crying cat", "rocket"], seed=3, n=2)  # prompt-major: cat, cat, rocket, rocket
    np.testing.assert_array_equal(images[[0, 2]], style_pipe.sample(["crying cat", "rocket"], seed=24, style="google"))
    np.testing.assert_array_equal(images[[1, 3]], style_pipe.sample(["crying cat", "rocket"], seed=25, style="twitter"))
    assert PipelineSource(style_pipe, "tiny", {"style": "google"}, styles=("google", "twitter")).styles == ()


@pytest.mark.slow  # exports minilm's 22 M weights (~40 s); run with -m slow
def test_the_savedmodel_samples_by_style_as_the_pipeline_does(style_pipe, tmp_path):
    import tensorflow as tf

    from emoji_t2i.export import export_pipeline

    served = tf.saved_model.load(str(export_pipeline(style_pipe, tmp_path / "export", editing=False)))
    prompts = tf.constant(["crying cat", "rocket"])
    twitter = served.sample_style(prompts, 0, tf.constant("twitter")).numpy()
    assert np.abs(twitter.astype(int) - style_pipe.sample(["crying cat", "rocket"], seed=0, style="twitter")).max() <= 1
    anything = served.serve(prompts, 0).numpy()  # serve(prompts, seed) keeps working: any style
    assert np.abs(anything.astype(int) - style_pipe.sample(["crying cat", "rocket"], seed=0)).max() <= 1
    with pytest.raises(tf.errors.InvalidArgumentError, match="unknown style"):
        served.sample_style(prompts, 0, tf.constant("comic"))
