"""StyleGAN through the command line: train, resume with the augmentation strength, generate,
export, and the w-space tools (directions, blend, project) on the run."""

import numpy as np
import pytest
from PIL import Image

from emoji_t2i.generate import main as generate_main
from emoji_t2i.train import main as train_main
from tests.training.conftest import export_and_check_in_fresh_process

# ada_target -2: r_t is always above it, so p rises by batch/speed = 8/80 every step.
TINY = ["--model", "stylegan", "--steps-per-epoch", "2", "--batch-size", "8",
        *[arg for kv in ("z_dim=8", "w_dim=8", "mapping_depth=2", "g_channels=8,8,8,8", "d_channels=8,8,8,8",
                         "ada_target=-2", "ada_interval=1", "ada_speed_images=80") for arg in ("--set", kv)]]


@pytest.fixture(scope="module")
def stylegan_run(tmp_path_factory, emoji_folder):
    run = tmp_path_factory.mktemp("stylegan") / "run"
    assert train_main([*TINY, "--data", str(emoji_folder), "--epochs", "1", "--out", str(run)]) == 0
    return run


def augment_p(run):
    from emoji_t2i.pipelines.stylegan import StyleGANPipeline

    return float(StyleGANPipeline.from_run(run).model.discriminator.augment_probability)


def test_resume_continues_with_the_augmentation_strength(stylegan_run, emoji_folder):
    assert augment_p(stylegan_run) == pytest.approx(0.2, abs=1e-5)
    header = (stylegan_run / "history.csv").read_text().splitlines()[0].split(",")
    assert {"augment_p", "r_t", "r1_penalty"} <= set(header)  # logged per epoch
    assert train_main(["--resume", "--out", str(stylegan_run), "--epochs", "2"]) == 0
    assert augment_p(stylegan_run) == pytest.approx(0.4, abs=1e-5)  # 0.2 more, not 0.2 from 0


def test_vendor_filter_refuses_data_without_that_vendor(emoji_folder, tmp_path, capsys):
    assert train_main([*TINY, "--data", str(emoji_folder), "--epochs", "1", "--out", str(tmp_path / "v"),
                       "--set", "vendor=google"]) == 2
    assert "vendor=google" in capsys.readouterr().err
    assert not (tmp_path / "v").exists()


def test_generate_and_export(stylegan_run, tmp_path):
    assert generate_main(["--run", str(stylegan_run), "any prompt", "-n", "2", "--seed", "1",
                          "--out-dir", str(tmp_path / "pngs")]) == 0
    assert len(list((tmp_path / "pngs").glob("*.png"))) == 2
    export_and_check_in_fresh_process(stylegan_run, tmp_path)


def test_directions_blend_and_project_clis(stylegan_run, tmp_path, embedded):
    from emoji_t2i.blend import main as blend_main
    from emoji_t2i.directions import main as directions_main
    from emoji_t2i.project import main as project_main

    assert directions_main(["--run", str(stylegan_run), "-k", "3", "--layers", "all"]) == 0
    with np.load(stylegan_run / "directions.npz") as f:
        assert f["vectors"].shape == (3, 8)
    assert Image.open(stylegan_run / "directions.png").size[0] > 7 * 72  # 7 steps per row
    assert blend_main([str(stylegan_run), str(stylegan_run), "-n", "2", "--figure", str(tmp_path / "b.png"),
                       "--level", "18", "--save", str(tmp_path / "blend18")]) == 0
    assert (tmp_path / "b.png").is_file() and (tmp_path / "blend18" / "config.json").is_file()
    Image.fromarray(embedded.images[0], "RGBA").save(tmp_path / "me.png")
    assert project_main([str(tmp_path / "me.png"), "--run", str(stylegan_run), "--steps", "3", "--edit", "0=1",
                         "-o", str(tmp_path / "p.png"), "--save-w", str(tmp_path / "w.npy")]) == 0
    assert np.load(tmp_path / "w.npy").shape == (1, 8) and (tmp_path / "p.png").is_file()
    (tmp_path / "bad.png").write_bytes(b"not a png")
    assert project_main([str(tmp_path / "bad.png"), "--run", str(stylegan_run)]) == 2
