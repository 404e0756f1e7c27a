import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.train import main
from tests.training.conftest import WORD_EMBEDDING, train_args


def test_run_directory_contents(trained_run):
    config = json.loads((trained_run / "config.json").read_text())
    assert config["model"] == "cgan" and config["hparams"]["g_channels"] == [16, 8, 8, 8]
    assert config["precision"] == "float32" and config["num_classes"]  # identity labels
    for name in ("tokenizer.json", "labels.json", "history.csv", "samples/epoch_0001.png",
                 "samples/progress.gif", "checkpoints/checkpoint"):
        assert (trained_run / name).exists(), name
    assert list((trained_run / "logs").glob("events.out.tfevents.*"))
    history = (trained_run / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,") and "g_lr" in history[0] and len(history) == 2
    row = dict(zip(history[0].split(","), history[1].split(","), strict=True))
    assert 100 < float(row["peak_memory_mb"]) < 24 * 1024  # a TF process, within the machine


def test_list_models_and_unknown_model(capsys):
    assert main(["--list-models"]) == 0
    assert "cgan" in capsys.readouterr().out
    assert main(["--model", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown model 'nope'" in err and "cgan" in err and "\n" not in err


def test_dry_run_writes_nothing(tmp_path, emoji_folder, capsys):
    assert main(train_args(emoji_folder, tmp_path / "dry", 1, 2, "--dry-run")) == 0
    assert not (tmp_path / "dry").exists()
    assert '"model": "cgan"' in capsys.readouterr().out


@pytest.mark.parametrize(("config_text", "expect"), [
    (None, "no such run directory"), ("", "no config.json"), ("{", "broken JSON")])
def test_bad_run_directories(tmp_path, capsys, config_text, expect):
    run = tmp_path / "run"
    if config_text is not None:
        run.mkdir()
        if config_text:
            (run / "config.json").write_text(config_text)
    assert main(["--resume", "--out", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert expect in err and "\n" not in err


def test_unwritable_out_and_unknown_set_key(tmp_path, emoji_folder, capsys):
    (tmp_path / "file").write_text("x")
    assert main(train_args(emoji_folder, tmp_path / "file" / "run")) == 2
    assert "not writable" in capsys.readouterr().err
    assert main(train_args(emoji_folder, tmp_path / "r", 1, 2, "--set", "nope=1")) == 2
    assert "--set nope: unknown" in capsys.readouterr().err
    assert main(train_args(emoji_folder, tmp_path / "r", 1, 2, "--set", "balance=species")) == 2
    assert "--set balance=species: unknown; use one of none, identity" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_checkpoint_of_a_different_model_is_refused(tmp_path, trained_run, emoji_folder, capsys):
    other = tmp_path / "other"
    assert main(train_args(emoji_folder, other, 1, 1, "--set", "g_channels=8,8,8,8", "--dry-run")) == 0
    other.mkdir()
    config = json.loads((trained_run / "config.json").read_text())
    config["hparams"]["g_channels"] = [8, 8, 8, 8]
    (other / "config.json").write_text(json.dumps(config))
    for name in ("tokenizer.json", "labels.json"):
        (other / name).write_bytes((trained_run / name).read_bytes())
    (other / "checkpoints").mkdir()
    for f in (trained_run / "checkpoints").iterdir():
        (other / "checkpoints" / f.name).write_bytes(f.read_bytes())
    assert main(["--resume", "--out", str(other), "--epochs", "2"]) == 2
    assert "does not fit this model" in capsys.readouterr().err


def _variables(run):
    reader = tf.train.load_checkpoint(str(run / "checkpoints"))
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
            if "OPTIMIZER_SLOT" not in k and not k.startswith("_CHECKPOINTABLE")}


def test_resume_gives_the_same_weights_as_a_straight_run_and_a_non_finite_loss_stops_it(tmp_path, emoji_folder,
                                                                                        capsys):
    """A run split by --resume ends with a straight run's weights; then, on the same run, a
    learning rate that poisons the weights stops it at once, keeping its last checkpoint, and a
    sound one resumes it. (One run for both: tracing its train step is the cost.)"""
    # what a resume must restore (weights, optimizer, data order, random state) does not
    # depend on the text encoder: a word embedding traces in half the GRU's time
    det = ("--set", "deterministic=true", *WORD_EMBEDDING)
    run = tmp_path / "split"
    assert main(train_args(emoji_folder, tmp_path / "straight", 2, 3, *det)) == 0
    assert main(train_args(emoji_folder, run, 1, 3, *det)) == 0
    assert main(["--resume", "--out", str(run), "--epochs", "2"]) == 0
    a, b = _variables(tmp_path / "straight"), _variables(run)
    assert a.keys() == b.keys() and len(a) > 20
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    history = (run / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["1", "2"]

    config = json.loads((run / "config.json").read_text())
    good = dict(config["training"])
    config["training"].update(g_lr=float("nan"))  # poisons G's weights at the first step
    (run / "config.json").write_text(json.dumps(config))
    capsys.readouterr()
    assert main(["--resume", "--out", str(run), "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "non-finite" in err and "at step" in err and "--resume" in err
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-2")
    # The architecture is fixed by the checkpoint; the learning rate is not.
    assert main(["--resume", "--out", str(run), "--set", "noise_dim=9"]) == 2
    assert "cannot change on --resume" in capsys.readouterr().err
    assert main(["--resume", "--out", str(run), "--epochs", "3", "--set", f"g_lr={good['g_lr']}"]) == 0
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-3")
    assert json.loads((run / "config.json").read_text())["training"]["g_lr"] == good["g_lr"]


@pytest.mark.slow  # test_reliability.py kills mid-checkpoint and checks the same resume
def test_sigkill_then_resume(tmp_path, emoji_folder):
    run = tmp_path / "killed"
    cmd = [sys.executable, "-m", "emoji_t2i.train", *train_args(emoji_folder, run, 40, 2)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (run / "checkpoints" / "ckpt-2.index").exists():
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    latest = tf.train.latest_checkpoint(str(run / "checkpoints"))
    assert latest is not None
    done = int(latest.rsplit("-", 1)[1])
    assert done < 40
    assert main(["--resume", "--out", str(run), "--epochs", str(done + 1)]) == 0
    reader = tf.train.load_checkpoint(str(run / "checkpoints"))
    assert int(reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE")) == done + 1
    steps = [k for k in reader.get_variable_to_shape_map() if k.startswith("g_optimizer/") and "iter" in k]
    assert steps and int(reader.get_tensor(steps[0])) == 2 * (done + 1)
