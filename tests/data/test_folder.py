import numpy as np
import pytest
from PIL import Image

from emoji_t2i.data import DataError, load_dataset


def make_folder(path, n=6, rows=None):
    path.mkdir(exist_ok=True)
    for i in range(n):
        Image.new("RGBA", (64, 64), (40 * i, 90, 200, 255)).save(path / f"e{i}.png")
    lines = rows if rows is not None else [f"e{i}.png,blue thing {i},thing {i}" for i in range(n)]
    (path / "captions.csv").write_text("file,caption,caption2\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_good_folder_loads(tmp_path):
    ds = load_dataset(make_folder(tmp_path / "ok"))
    assert ds.images.shape == (6, 72, 72, 4)
    assert ds.captions[0] == ("blue thing 0", "thing 0")
    assert set(ds.split.tolist()) <= {"train", "heldout"}


def test_emoji_in_captions_are_read_as_the_pipeline_reads_prompts(tmp_path):
    """Training reads "🐱 in a box" as "cat face in a box", the words generate reads it as."""
    from emoji_t2i.pipelines.checks import prompt_list

    rows = ["e0.png,\U0001F431 in a box,box", "e1.png,plain words,caf\u00e9", "e2.png,\U0001F44D\U0001F3FF,ok"]
    ds = load_dataset(make_folder(tmp_path / "emoji", n=3, rows=rows))
    assert ds.captions == [("cat face in a box", "box"), ("plain words", "caf\u00e9"),
                           ("thumbs up sign: dark skin tone", "ok")]
    assert ds.captions[0][0] == prompt_list("\U0001F431 in a box")[0]
    assert ds.identity.tolist() == ["cat face in a box", "plain words", "thumbs up sign: dark skin tone"]


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda p: (p / "captions.csv").unlink(), "captions.csv: missing"),
        (lambda p: (p / "e1.png").write_bytes(b"not a png"), "e1.png: not a readable image"),
        (lambda p: (p / "e2.png").unlink(), "e2.png does not exist"),
        (lambda p: (p / "captions.csv").write_text("file,caption\ne0.png,\ne1.png,ok\n"),
         "e0.png has an empty caption"),
        (lambda p: (p / "captions.csv").write_text("name,caption\ne0.png,x\n"), "no 'file' column"),
    ],
)
def test_bad_input_is_one_line_naming_file_and_fix(tmp_path, break_it, message):
    folder = make_folder(tmp_path / "bad")
    break_it(folder)
    with pytest.raises(DataError) as err:
        load_dataset(folder)
    text = str(err.value)
    assert message in text and "\n" not in text
    assert any(w in text for w in ("add", "fix", "replace", "write", "name"))


def test_skip_bad_warns_counts_and_keeps_the_good_rows(tmp_path):
    folder = make_folder(tmp_path / "mixed")
    (folder / "e1.png").write_bytes(b"junk")
    (folder / "e2.png").unlink()
    with pytest.warns(UserWarning, match="skipped 2 bad rows"):
        ds = load_dataset(folder, skip_bad=True)
    assert len(ds) == 4 and "e1.png" not in ds.ids.tolist()


def test_folder_without_images(tmp_path):
    (tmp_path / "captions.csv").write_text("file,caption\n")
    with pytest.raises(DataError, match="no images"):
        load_dataset(tmp_path)


def test_any_size_and_mode_is_resized(tmp_path):
    folder = tmp_path / "modes"
    folder.mkdir()
    Image.new("RGB", (200, 120), (255, 0, 0)).save(folder / "a.jpg")
    Image.new("L", (9, 9), 30).save(folder / "b.png")
    (folder / "captions.csv").write_text("file,caption\na.jpg,red\nb.png,grey\n")
    ds = load_dataset(folder)
    assert ds.images.shape == (2, 72, 72, 4)
    np.testing.assert_allclose(ds.images[0, 36, 36], [255, 0, 0, 255], atol=3)  # JPEG is lossy
    assert np.all(ds.images[1, ..., 3] == 255)


def test_an_optional_style_column_is_not_a_caption(tmp_path):
    from emoji_t2i.training.loop import only_styles

    folder = make_folder(tmp_path / "styled")
    lines = [f"e{i}.png,{'pixel' if i % 2 else 'ink'},blue thing {i}" for i in range(6)]
    (folder / "captions.csv").write_text("file,Style,caption\n" + "\n".join(lines) + "\n")
    ds = load_dataset(folder)
    assert ds.metadata["style"].tolist() == ["ink", "pixel"] * 3
    assert ds.captions[1] == ("blue thing 1",)
    assert len(only_styles(ds, "pixel")) == 3 and len(only_styles(ds, "ink,pixel")) == 6
    with pytest.raises(Exception, match="no training image of style oil; this data has: ink, pixel"):
        only_styles(ds, "oil")
