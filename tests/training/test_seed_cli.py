"""Seeds 001 and 003 through the command line: the encoders they pretrain (an emoji CLIP, a
DAMSM), then the generators on them frozen (stackganpp on a copy of the shipped CLIP preset,
attngan on a DAMSM run): train, resume, generate, export, and the run standing alone once the
encoder is gone."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.generate import main as generate_main
from emoji_t2i.pipelines import TextToImagePipeline
from emoji_t2i.train import main as train_main
from tests.training.conftest import export_and_check_in_fresh_process

COMMON = ["--steps-per-epoch", "2", "--batch-size", "8"]
TINY_STACKGANPP = ["--set", "noise_dim=8", "--set", "condition_dim=4", "--set", "residual_blocks=0",
                   "--set", "g_channels=16,8,8,8", "--set", "d_channels=8,8,8,16"]


@pytest.fixture(scope="module")
def clip_run(tmp_path_factory, emoji_folder):
    run = tmp_path_factory.mktemp("clip") / "clip"
    assert train_main(["--model", "clip", "--data", str(emoji_folder), "--epochs", "1", *COMMON,
                       "--set", "widths=8,8,8", "--set", "embed_dim=16", "--out", str(run)]) == 0
    return run


def test_clip_trains_with_a_retrieval_grid(clip_run):
    assert json.loads((clip_run / "config.json").read_text())["training"]["tokenizer"] == "wordpiece"  # minilm's
    header = (clip_run / "history.csv").read_text().splitlines()[0].split(",")
    assert {"loss", "text_to_image_top1", "heldout_top1", "heldout_chance"} <= set(header)
    assert (clip_run / "samples" / "epoch_0001.png").is_file() and (clip_run / "preset" / "config.json").is_file()


def train_on_encoder(model, encoder_key, encoder, wrong, emoji_folder, tmp_path, tiny, capsys):
    """Refused on an encoder of the wrong kind; then 1 epoch on ``encoder``, resumed to 2."""
    run = tmp_path / model
    args = ["--model", model, "--data", str(emoji_folder), "--epochs", "1", "--out", str(run), *COMMON, *tiny]
    assert train_main([*args, "--set", f"{encoder_key}={wrong}"]) == 2
    assert "model, not a" in capsys.readouterr().err and not run.exists()
    assert train_main([*args, "--set", f"{encoder_key}={encoder}"]) == 0
    assert train_main(["--resume", "--out", str(run), "--epochs", "2"]) == 0
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-2")
    assert (run / "samples" / "epoch_0002.png").is_file()
    return run


def check_encoder_loaded_frozen(run, encoder_run, pairs):
    """After training, the run's frozen copies hold the encoder run's weights exactly."""
    from emoji_t2i.pipelines.sources import load_source_model

    mine, source = load_source_model(run)[0], load_source_model(encoder_run)[0]
    for frozen, name in zip(mine.frozen_components(), pairs, strict=True):
        for a, b in zip(frozen.get_weights(), getattr(source, name).get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


def check_generates_and_stands_alone(run, encoder_run, tmp_path):
    assert generate_main(["--run", str(run), "crying cat", "-n", "2", "-o", str(tmp_path / "g.png")]) == 0
    expected = TextToImagePipeline.from_run(run).sample(["crying cat", "rocket"], seed=1)
    encoder_run.rename(tmp_path / "moved-away")  # its weights are in the run's checkpoints
    try:
        np.testing.assert_array_equal(TextToImagePipeline.from_run(run).sample(["crying cat", "rocket"], seed=1),
                                      expected)
        export_and_check_in_fresh_process(run, tmp_path)
    finally:
        (tmp_path / "moved-away").rename(encoder_run)


@pytest.mark.slow  # tests/models/test_zoo.py trains its step; test_zoo_cli.py covers train/resume/generate/export
def test_stackganpp_trains_on_the_shipped_clip_preset_resumes_generates_exports(emoji_folder, tmp_path, capsys):
    from emoji_t2i.pipelines.presets import SHIPPED_DIR

    clip = tmp_path / "clip-preset"  # a copy of the shipped preset, so that it can be moved away
    shutil.copytree(SHIPPED_DIR / "clip-emoji72", clip)
    run = train_on_encoder("stackganpp", "clip_run", clip, "damsm-emoji72", emoji_folder, tmp_path,
                           TINY_STACKGANPP, capsys)
    config = json.loads((run / "config.json").read_text())
    assert config["hparams"]["clip_config"] == {"embed_dim": 256, "widths": [32, 64, 128]}
    assert "text_encoder" not in config["hparams"]
    assert {"clip_loss", "align_loss"} <= set((run / "history.csv").read_text().splitlines()[0].split(","))
    check_encoder_loaded_frozen(run, clip, ["text_projection", "image_encoder"])
    check_generates_and_stands_alone(run, clip, tmp_path)


TINY_DAMSM = ["--set", "embed_dim=8", "--set", "word_dim=8", "--set", "widths=8,8,8"]
TINY_ATTNGAN = ["--set", "noise_dim=8", "--set", "condition_dim=4", "--set", "residual_blocks=0",
                "--set", "g_channels=16,8,8,8", "--set", "d_channels=8,8,8,16"]


@pytest.fixture(scope="module")
def damsm_run(tmp_path_factory, emoji_folder):
    run = tmp_path_factory.mktemp("damsm") / "damsm"
    assert train_main(["--model", "damsm", "--data", str(emoji_folder), "--epochs", "1", *COMMON, *TINY_DAMSM,
                       "--out", str(run)]) == 0
    return run


def test_damsm_logs_both_losses_and_held_out_retrieval_generates_nothing_exports_embeddings(damsm_run, tmp_path,
                                                                                           capsys):
    from emoji_t2i.export import main as export_main
    from emoji_t2i.pipelines import load_preset, load_run_model

    header = (damsm_run / "history.csv").read_text().splitlines()[0].split(",")
    assert {"word_loss", "sentence_loss", "heldout_top1", "heldout_chance"} <= set(header)
    assert (damsm_run / "samples" / "epoch_0001.png").is_file()
    assert generate_main(["--run", str(damsm_run), "cat"]) == 2
    assert "AttnGAN's DAMSM" in capsys.readouterr().err
    assert export_main(["--run", str(damsm_run), "--out", str(tmp_path / "saved")]) == 0
    assert export_main(["--run", str(damsm_run), "--format", "preset", "--out", str(tmp_path / "preset")]) == 0
    model, tokenizer, _ = load_run_model(damsm_run)
    exported = tf.saved_model.load(str(tmp_path / "saved"))
    prompts = ["crying cat", "red heart"]
    want = np.asarray(model.embed_text(tokenizer(prompts)))
    np.testing.assert_allclose(exported.embed_text(tf.constant(prompts)).numpy(), want, atol=1e-5)
    np.testing.assert_allclose(np.asarray(load_preset(tmp_path / "preset")[0].embed_text(tokenizer(prompts))), want,
                               atol=1e-6)
    images = np.random.default_rng(0).integers(0, 256, (2, 72, 72, 4)).astype(np.uint8)
    np.testing.assert_allclose(exported.embed_images(tf.constant(images)).numpy(),
                               np.asarray(model.embed_images(images / 127.5 - 1.0)), atol=1e-5)


@pytest.mark.slow  # tests/models/test_zoo.py trains its step; test_zoo_cli.py covers train/resume/generate/export
def test_attngan_trains_on_a_damsm_run_resumes_generates_exports(damsm_run, emoji_folder, tmp_path, capsys):
    run = train_on_encoder("attngan", "damsm_run", damsm_run, "clip-emoji72", emoji_folder, tmp_path, TINY_ATTNGAN,
                           capsys)
    config = json.loads((run / "config.json").read_text())
    assert config["hparams"]["damsm_config"]["embed_dim"] == 8
    assert (run / "tokenizer.json").read_text() == (damsm_run / "tokenizer.json").read_text()  # the DAMSM's words
    assert {"damsm_word", "damsm_sentence"} <= set((run / "history.csv").read_text().splitlines()[0].split(","))
    check_encoder_loaded_frozen(run, damsm_run, ["text_encoder", "image_encoder"])
    check_generates_and_stands_alone(run, damsm_run, tmp_path)
