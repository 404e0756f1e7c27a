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


def train_args(folder, out, epochs=1, steps=2, *extra):
    return ["--model", "cgan", "--data", str(folder), "--epochs", str(epochs), "--steps-per-epoch",
            str(steps), "--batch-size", "8", "--out", str(out), *TINY_SETS, *extra]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, emoji_folder):
    from emoji_t2i.train import main

    out = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(train_args(emoji_folder, out)) == 0
    return out
