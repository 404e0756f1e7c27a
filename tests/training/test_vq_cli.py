"""The DALL·E-like pair through the command line: a ``vq`` tokenizer run, then a
``vq_transformer`` on it: train, resume, generate with options, and the run standing alone
(its SavedModel, checked in a TensorFlow-only process: under -m slow). The prior trains with a learned word
encoder here to keep the suite fast; its minilm prefix is tested in tests/models."""

import contextlib
import json

import numpy as np
import pytest
from PIL import Image

from emoji_t2i.generate import main as generate_main
from emoji_t2i.pipelines import TextToImagePipeline
from emoji_t2i.train import main as train_main
from tests.training.conftest import export_and_check_in_fresh_process

TINY_VQ = ["--set", "widths=8,8,8", "--set", "downsample=8", "--set", "code_dim=4", "--set", "num_codes=16"]
TINY_PRIOR = ["--set", "width=16", "--set", "depth=1", "--set", "heads=2", "--set", "num_steps=2",
              "--set", "text_encoder=embedding", "--set", "text_dim=16"]


@pytest.fixture(scope="module")
def tokenizer_run(tmp_path_factory, emoji_folder):
    run = tmp_path_factory.mktemp("vq") / "vq"
    common = ["--data", str(emoji_folder), "--steps-per-epoch", "2", "--batch-size", "8"]
    assert train_main(["--model", "vq", "--epochs", "1", "--out", str(run), *common, *TINY_VQ]) == 0
    assert train_main(["--resume", "--out", str(run), "--epochs", "2"]) == 0
    return run


def test_tokenizer_run_logs_reconstruction_quality_and_is_no_generator(tokenizer_run, capsys):
    header, *rows = (tokenizer_run / "history.csv").read_text().splitlines()
    assert {"psnr", "usage", "heldout_psnr", "heldout_usage"} <= set(header.split(",")) and len(rows) == 2
    assert (tokenizer_run / "samples" / "epoch_0002.png").is_file()
    assert (tokenizer_run / "preset" / "model.weights.h5").is_file()
    assert generate_main(["--run", str(tokenizer_run), "cat"]) == 2
    assert "generates nothing from text: it is an image tokenizer" in capsys.readouterr().err


def test_transformer_needs_a_tokenizer_run_and_reads_minilm_word_pieces(tokenizer_run, emoji_folder, tmp_path,
                                                                         capsys):
    args = ["--model", "vq_transformer", "--data", str(emoji_folder), "--batch-size", "8", "--out", str(tmp_path / "t")]
    assert train_main(args) == 2
    assert "--set image_tokenizer=RUN_DIR" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()
    assert train_main([*args, "--set", f"image_tokenizer={tokenizer_run}", "--dry-run"]) == 0
    config = json.loads(capsys.readouterr().out.split("\ntrain images")[0])
    assert config["training"]["tokenizer"] == "wordpiece"  # minilm's, not the tokenizer run's words
    assert config["hparams"]["tokenizer_config"]["num_codes"] == 16


@contextlib.contextmanager
def _tokenizer_moved_away(tokenizer_run, tmp_path):
    """The tokenizer run out of reach: what the prior needs of it must travel with the prior."""
    tokenizer_run.rename(tmp_path / "moved-away")
    try:
        yield
    finally:
        (tmp_path / "moved-away").rename(tokenizer_run)


def _trained_prior(tokenizer_run, emoji_folder, run):
    common = ["--data", str(emoji_folder), "--steps-per-epoch", "2", "--batch-size", "8"]
    assert train_main(["--model", "vq_transformer", "--epochs", "1", "--out", str(run), *common, *TINY_PRIOR,
                       "--set", f"image_tokenizer={tokenizer_run}"]) == 0
    return run


def test_transformer_trains_resumes_generates_and_stands_alone(tokenizer_run, emoji_folder, tmp_path, capsys):
    run = _trained_prior(tokenizer_run, emoji_folder, tmp_path / "prior")
    assert train_main(["--resume", "--out", str(run), "--epochs", "2"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["hparams"]["tokenizer_config"]["downsample"] == 8
    capsys.readouterr()
    assert generate_main(["--run", str(run), "crying cat", "-n", "2", "--seed", "1", "--num-steps", "3",
                          "--temperature", "0.5", "--top-k", "4", "-o", str(tmp_path / "g.png")]) == 0
    assert generate_main(["--run", str(run), "cat", "--sampler", "ddim"]) == 2
    assert "takes no --sampler (it takes --num-steps" in capsys.readouterr().err
    pipe = TextToImagePipeline.from_run(run)
    a = pipe.sample(["crying cat", "rocket"], seed=4, num_steps=3)
    np.testing.assert_array_equal(a, pipe.sample(["crying cat", "rocket"], seed=4, num_steps=3))
    assert (a != pipe.sample(["crying cat", "rocket"], seed=5, num_steps=3)).any()
    assert pipe.options["negative_prompt"] == ""  # guided, so it can guide away from a prompt
    assert generate_main(["--run", str(run), "crying cat", "--seed", "4", "--num-steps", "3", "--negative-prompt",
                          "rocket", "--out-dir", str(tmp_path / "away")]) == 0
    away = np.asarray(Image.open(tmp_path / "away" / "crying_cat-seed4-0.png"))
    np.testing.assert_array_equal(away, pipe.sample("crying cat", seed=4, num_steps=3, negative_prompt="rocket")[0])
    assert (away != a[0]).any()
    with _tokenizer_moved_away(tokenizer_run, tmp_path):  # the prior's checkpoints hold the tokenizer
        np.testing.assert_array_equal(TextToImagePipeline.from_run(run).sample(["crying cat", "rocket"], seed=4,
                                                                                num_steps=3), a)


@pytest.mark.slow  # ~25 s; the export path of every zoo model: test_zoo_cli.py (vae), test_diffusion_cli.py
def test_transformer_exports_a_savedmodel_that_stands_alone(tokenizer_run, emoji_folder, tmp_path):
    run = _trained_prior(tokenizer_run, emoji_folder, tmp_path / "prior")
    away = TextToImagePipeline.from_run(run).sample(["crying cat"], seed=3, negative_prompt="rocket")
    np.save(tmp_path / "away.npy", away)
    negative = f"""
got = m.sample_negative(tf.constant(["crying cat"]), 3, "rocket").numpy()
assert np.abs(got.astype(int) - np.load({str(tmp_path / 'away.npy')!r})).max() <= 1
none = m.sample_negative(tf.constant(["crying cat"]), 3, "").numpy()  # empty: no negative prompt
np.testing.assert_array_equal(none, m.serve(tf.constant(["crying cat"]), 3).numpy())
"""
    with _tokenizer_moved_away(tokenizer_run, tmp_path):  # the SavedModel holds the tokenizer's decoder
        export_and_check_in_fresh_process(run, tmp_path, negative)
