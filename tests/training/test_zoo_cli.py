"""Every zoo model through the command line: train, resume, generate, export."""

import json

import pytest
import tensorflow as tf
from PIL import Image

from emoji_t2i.generate import main as generate_main
from emoji_t2i.models import get_model_class, list_models
from emoji_t2i.train import main as train_main
from tests.harness import TINY
from tests.training.conftest import export_and_check_in_fresh_process


def tiny_sets(name):
    """The harness's tiny hyper-parameters as --set flags (num_classes comes from the data)."""
    sets = []
    for key, value in TINY[name].items():
        if key != "num_classes":
            text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
            sets += ["--set", f"{key}={text}"]
    return sets


GENERATORS = [m for m in list_models() if getattr(get_model_class(m), "is_generator", True)]


# cgan: test_train_cli; diffusion (with its minilm encoder): test_diffusion_cli; vq_transformer: test_vq_cli;
# the seeds' models on their pretrained encoders: test_seed_cli
OWN_CLI_TESTS = ("cgan", "diffusion", "vq_transformer", "stackganpp", "attngan")


# One of these runs in make test (vae: the engine without a GAN step); the others repeat the same
# command-line path, and each model's step, save and load are in the harness (tests/models).
QUICK_CLI = ("vae",)


@pytest.mark.parametrize("name", [m if m in QUICK_CLI else pytest.param(m, marks=pytest.mark.slow)
                                  for m in GENERATORS if m not in OWN_CLI_TESTS])
def test_train_resume_generate_export(name, emoji_folder, tmp_path):
    run = tmp_path / name
    common = ["--data", str(emoji_folder), "--steps-per-epoch", "2", "--batch-size", "8"]
    assert train_main(["--model", name, "--epochs", "1", "--out", str(run), *common, *tiny_sets(name)]) == 0
    assert json.loads((run / "config.json").read_text())["model"] == name
    assert train_main(["--resume", "--out", str(run), "--epochs", "2"]) == 0
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-2")
    assert len((run / "history.csv").read_text().splitlines()) == 3
    assert (run / "samples" / "epoch_0002.png").is_file()
    assert generate_main(["--run", str(run), "crying cat", "-n", "2", "-o", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").size[0] >= 2 * 72
    export_and_check_in_fresh_process(run, tmp_path)


@pytest.mark.slow  # the frozen-encoder path is covered by test_char_cnn_rnn_pretrains_then_serves_frozen_in_a_generator
def test_stackgan_stage2_starts_from_a_frozen_stage1(emoji_folder, tmp_path):
    import numpy as np

    from emoji_t2i.pipelines import TextToImagePipeline

    common = ["--model", "stackgan", "--data", str(emoji_folder), "--epochs", "1",
              "--steps-per-epoch", "2", "--batch-size", "8", *tiny_sets("stackgan")]
    stage1 = tmp_path / "stage1"
    assert train_main([*common, "--out", str(stage1)]) == 0
    stage2 = tmp_path / "stage2"
    assert train_main([*common, "--out", str(stage2), "--set", "stage=2"]) == 2  # no stage1_run
    assert train_main([*common, "--out", str(stage2), "--set", "stage=2",
                       "--set", f"stage1_run={stage1}"]) == 0
    first = TextToImagePipeline.from_run(stage1).model.ema_generator
    second = TextToImagePipeline.from_run(stage2).model
    for a, b in zip(first.get_weights(), second.ema_generator.stage1.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # Stage I was loaded and stayed frozen
    assert (stage2 / "tokenizer.json").read_text() == (stage1 / "tokenizer.json").read_text()
    # The run is self-contained: with its Stage I run gone it still loads, samples and exports.
    expected = TextToImagePipeline.from_run(stage2).sample(["crying cat"], seed=1)
    stage1.rename(tmp_path / "moved-away")
    np.testing.assert_array_equal(TextToImagePipeline.from_run(stage2).sample(["crying cat"], seed=1), expected)
    export_and_check_in_fresh_process(stage2, tmp_path)


def test_char_cnn_rnn_pretrains_then_serves_frozen_in_a_generator(emoji_folder, tmp_path, capsys):
    import numpy as np

    from emoji_t2i.pipelines.text_to_image import TextToImagePipeline, load_run_model

    encoder_run = tmp_path / "encoder"
    common = ["--data", str(emoji_folder), "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8"]
    assert train_main(["--model", "char_cnn_rnn", "--out", str(encoder_run), *common,
                       *tiny_sets("char_cnn_rnn")]) == 0
    config = json.loads((encoder_run / "config.json").read_text())
    assert config["training"]["tokenizer"] == "char"
    assert "heldout_top1" in (encoder_run / "history.csv").read_text().splitlines()[0]
    assert (encoder_run / "samples" / "epoch_0001.png").is_file()  # retrieval grid
    assert generate_main(["--run", str(encoder_run), "cat"]) == 2
    assert "generates nothing from text: it is a text encoder" in capsys.readouterr().err

    gan_run = tmp_path / "gan"
    assert train_main(["--model", "cgan", "--out", str(gan_run), *common, *tiny_sets("cgan"),
                       "--set", f"text_encoder=char_cnn_rnn:{encoder_run}"]) == 0
    assert (gan_run / "tokenizer.json").read_text() == (encoder_run / "tokenizer.json").read_text()
    pretrained = load_run_model(encoder_run)[0].text_encoder.get_weights()
    gan = TextToImagePipeline.from_run(gan_run).model
    for net in (gan.ema_generator, gan.discriminator):
        for a, b in zip(pretrained, net.text.encoder.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)  # loaded, and frozen through training
    recorded = json.loads((gan_run / "config.json").read_text())["hparams"]["text_encoder"]
    assert recorded == f"char_cnn_rnn:{encoder_run}:dim={config['hparams']['text_dim']}"
    expected = TextToImagePipeline.from_run(gan_run).sample(["crying cat"], seed=1)
    encoder_run.rename(tmp_path / "moved-away")  # the GAN run and its preset stand alone
    np.testing.assert_array_equal(TextToImagePipeline.from_run(gan_run).sample(["crying cat"], seed=1), expected)
    np.testing.assert_array_equal(TextToImagePipeline.from_preset(gan_run / "preset").sample(["crying cat"], seed=1),
                                  expected)
    assert train_main(["--model", "cgan", "--out", str(tmp_path / "bad"), *common,
                       "--set", f"text_encoder=char_cnn_rnn:{tmp_path / 'nowhere'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "nowhere" in err and "no such run directory" in err
