import numpy as np
import pytest
from PIL import Image

from emoji_t2i.export import main as export_main
from emoji_t2i.generate import main as generate_main
from emoji_t2i.pipelines import TextToImagePipeline

ODD = ["", "zzqx blorf", "웃는 얼굴", "😀🐱", "cat " * 125]


def test_generate_grid_and_png_files(trained_run, tmp_path):
    assert generate_main(["--run", str(trained_run), "crying cat", "pizza", "-n", "3",
                          "-o", str(tmp_path / "grid.png")]) == 0
    assert Image.open(tmp_path / "grid.png").size[0] > 3 * 72
    assert generate_main(["--run", str(trained_run), "red heart", "-n", "2",
                          "--out-dir", str(tmp_path / "pngs")]) == 0
    files = sorted((tmp_path / "pngs").glob("*.png"))
    assert len(files) == 2 and Image.open(files[0]).mode == "RGBA"
    assert Image.open(files[0]).size == (72, 72)


def test_same_seed_same_images_and_odd_prompts(trained_run):
    pipe = TextToImagePipeline.from_run(trained_run)
    a, b = pipe(["crying cat"], n=2, seed=7), pipe(["crying cat"], n=2, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, pipe(["crying cat"], n=2, seed=8))
    with pytest.warns(UserWarning, match="no word the model knows"):
        images = pipe(ODD, n=1)
    assert images.shape == (len(ODD), 72, 72, 4) and images.dtype == np.uint8


def test_generate_bad_run_is_one_line(tmp_path, capsys):
    assert generate_main(["--run", str(tmp_path / "nope"), "cat"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no such run directory" in err and "\n" not in err


def test_generate_refuses_an_empty_prompt_before_loading_a_model(tmp_path, capsys):
    """``make generate PROMPT=`` passes "": one line, where it drew whatever no words draw."""
    assert generate_main(["--run", str(tmp_path / "nope"), "crying cat", "  ", "-o", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err.strip() == "error: prompt 2 is empty: give words, e.g. 'crying cat'"
    assert not (tmp_path / "x.png").exists()



def test_a_style_for_a_model_without_styles_names_the_model_that_has_them(trained_run, capsys):
    assert generate_main(["--run", str(trained_run), "--style", "openmoji", "cat"]) == 2
    err = capsys.readouterr().err.strip()
    assert "has no styles" in err and "diffusion-emoji72-styles" in err and "\n" not in err

def test_export_as_preset_keeps_the_runs_metadata(trained_run, tmp_path):
    import json
    import shutil

    out = tmp_path / "preset"
    assert export_main(["--run", str(trained_run), "--format", "preset", "--out", str(out)]) == 0
    written = json.loads((trained_run / "preset" / "metadata.json").read_text())
    assert json.loads((out / "metadata.json").read_text()) == written
    want = TextToImagePipeline.from_run(trained_run).sample(["crying cat"], seed=2)
    np.testing.assert_array_equal(TextToImagePipeline.from_preset(out).sample(["crying cat"], seed=2), want)
    # A run without its preset folder: the epoch count comes from the checkpoint itself.
    copy = tmp_path / "run-without-preset"
    shutil.copytree(trained_run, copy)
    shutil.rmtree(copy / "preset")
    assert export_main(["--run", str(copy), "--format", "preset", "--out", str(tmp_path / "p2")]) == 0
    assert json.loads((tmp_path / "p2" / "metadata.json").read_text())["epochs"] == written["epochs"]


def test_a_run_written_before_the_tokenizer_rename_still_loads(trained_run, tmp_path):
    """Older runs saved vectorizer.json and the config key "vectorizer"."""
    import json
    import shutil

    old = tmp_path / "old-run"
    shutil.copytree(trained_run, old)
    (old / "tokenizer.json").rename(old / "vectorizer.json")
    config = json.loads((old / "config.json").read_text())
    config["training"]["vectorizer"] = config["training"].pop("tokenizer")
    (old / "config.json").write_text(json.dumps(config))
    want = TextToImagePipeline.from_run(trained_run).sample(["crying cat"], seed=4)
    np.testing.assert_array_equal(TextToImagePipeline.from_run(old).sample(["crying cat"], seed=4), want)
