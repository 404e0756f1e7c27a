import fcntl
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

TINY_SETS = ["--set", "noise_dim=8", "--set", "text_dim=16", "--set", "g_channels=16,8,8,8",
             "--set", "d_channels=8,8,8,16"]


@pytest.fixture(scope="session")
def emoji_folder(tmp_path_factory, embedded):
    """40 real emoji as a user's folder (PNG files + captions.csv)."""
    folder = tmp_path_factory.mktemp("emoji_folder")
    rows = np.random.default_rng(1).choice(np.flatnonzero(embedded.split == "train"), 40, replace=False)
    lines = ["file,caption,caption2"]
    for k, i in enumerate(rows):
        Image.fromarray(embedded.images[i], "RGBA").save(folder / f"{k}.png")
        caps = [c.replace(",", " ") for c in embedded.captions[i][:2]]
        lines.append(f"{k}.png,{caps[0]},{caps[1]}")
    (folder / "captions.csv").write_text("\n".join(lines) + "\n")
    return folder


# for tests of checkpoints and resuming, where the text encoder does not matter: a word
# embedding traces in half the GRU's time (the GRU's own training and resuming: test_zoo_cli.py)
WORD_EMBEDDING = ("--set", "text_encoder=embedding")


def train_args(folder, out, epochs=1, steps=2, *extra):
    return ["--model", "cgan", "--data", str(folder), "--epochs", str(epochs), "--steps-per-epoch",
            str(steps), "--batch-size", "8", "--out", str(out), *TINY_SETS, *extra]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, emoji_folder):
    from emoji_t2i.train import main

    out = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(train_args(emoji_folder, out)) == 0
    return out


def export_and_check_in_fresh_process(run, tmp_path, more_checks: str = ""):
    """Export a run, load the SavedModel in a Python that imports only TensorFlow, and check
    it gives the in-process pipeline's images for the same prompts and seed; ``more_checks``:
    lines run there too, with the SavedModel as ``m``."""
    from emoji_t2i.export import main as export_main
    from emoji_t2i.pipelines import TextToImagePipeline

    out = tmp_path / "saved"
    assert export_main(["--run", str(run), "--out", str(out)]) == 0
    expected = TextToImagePipeline.from_run(run)(["crying cat", "pizza"], n=1, seed=3)
    np.save(tmp_path / "expected.npy", expected)
    odd = ["zzqx"]  # odd prompts of every kind: tests/training/test_reliability.py
    script = f"""
import sys, numpy as np, tensorflow as tf
m = tf.saved_model.load({str(out)!r})
images = m.serve(tf.constant(["crying cat", "pizza"]), 3).numpy()
assert images.dtype == np.uint8 and images.shape == (2, 72, 72, 4), images.shape
odd = m.serve(tf.constant({odd!r}), 0).numpy()
assert odd.shape == ({len(odd)}, 72, 72, 4)
diff = np.abs(images.astype(int) - np.load({str(tmp_path / 'expected.npy')!r}).astype(int)).max()
assert diff <= 1, diff
assert not any(name.startswith("emoji_t2i") for name in sys.modules)
""" + more_checks + """
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}, timeout=300)
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]
    return out


TINY_UNET = ["--set", "widths=8,16", "--set", "blocks=1", "--set", "num_steps=2"]


@pytest.fixture(scope="session")
def diffusion_run(tmp_path_factory, emoji_folder):
    """A tiny diffusion run of two epochs, read (never changed) by the diffusion CLI's tests,
    the JAX trainer's and test_state.py's (which resumes a copy under JAX, then under
    TensorFlow again): built once per test run, by whichever pytest-xdist worker needs it
    first (the other waits for it, then reads it). Resuming is the cgan's test
    (test_train_cli.py) and, for diffusion, test_state.py's."""
    from emoji_t2i.train import main as train_main

    uid = os.environ.get("PYTEST_XDIST_TESTRUNUID")  # one per `pytest -n` run, shared by its workers
    root = tmp_path_factory.getbasetemp().parent / f"shared-{uid}" if uid else tmp_path_factory.mktemp("diffusion")
    root.mkdir(exist_ok=True)
    run = root / "run"
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "done").exists():
            shutil.rmtree(run, ignore_errors=True)
            common = ["--data", str(emoji_folder), "--steps-per-epoch", "2", "--batch-size", "8"]
            assert train_main(["--model", "diffusion", "--epochs", "2", "--out", str(run), *common, *TINY_UNET]) == 0
            (root / "done").write_text("ok")
    return run
