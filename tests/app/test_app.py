"""The web app, driven by Streamlit's AppTest (no browser), on the shipped presets; and its
plain inference functions' answers to bad input."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from emoji_t2i.app import inference as inf  # noqa: E402

APP = Path(inf.__file__).with_name("streamlit_app.py")
TIMEOUT = 300  # model loading and tracing on a busy 2-core CPU


@pytest.fixture(scope="module")
def app():
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def tab(at, title):
    return next(t for t in at.tabs if t.label == title)


def test_text_tab_generates_from_a_prompt_and_refuses_an_empty_one(app):
    text = tab(app, "Text → emoji")
    text.button(key="generate").click().run()
    assert not app.exception and any("Type a prompt" in w.value for w in app.warning)
    app.text_input(key="prompt").input("crying cat")
    app.number_input(key="text-n").set_value(2)
    app.slider(key="steps").set_value(5)
    app.button(key="generate").click().run()
    assert not app.exception, app.exception
    images = tab(app, "Text → emoji").image
    assert len(images) == 2 and all(img.value for img in images)
    assert len(tab(app, "Text → emoji").get("download_button")) == 3  # two PNGs and the zip


def test_explore_tab_moves_with_a_slider(app):
    before = [img.value[0] for img in tab(app, "Explore").image]
    assert len(before) == 8
    app.slider(key="explore-dir0").set_value(3.0).run()
    assert not app.exception, app.exception
    after = [img.value[0] for img in tab(app, "Explore").image]
    assert len(after) == 8 and after != before


def test_blend_tab_shows_three_columns_per_seed(app):
    app.select_slider(key="level").set_value(36).run()
    assert not app.exception, app.exception
    assert len(tab(app, "Blend").image) == 12


def test_your_image_tab_projects_an_upload_and_rejects_a_non_image(app, embedded):
    app.file_uploader(key="upload").set_value(("notes.txt", b"not an image", "text/plain")).run()
    assert not app.exception and any("not an image" in w.value for w in app.warning)
    buffer = io.BytesIO()
    Image.fromarray(embedded.images[0], "RGBA").save(buffer, format="PNG")
    app.slider(key="project-steps").set_value(20)
    app.file_uploader(key="upload").set_value(("emoji.png", buffer.getvalue(), "image/png")).run()
    assert not app.exception, app.exception
    assert len(tab(app, "Your image").image) == 3


def test_bad_uploads_get_one_line_reasons():
    with pytest.raises(inf.AppInputError, match="Upload a PNG"):
        inf.read_upload(b"")
    with pytest.raises(inf.AppInputError, match="under 8 MB"):
        inf.read_upload(b"0" * (inf.MAX_UPLOAD_BYTES + 1))
    huge = io.BytesIO()
    Image.new("L", (5000, 4000)).save(huge, format="PNG")  # small file, too many pixels
    with pytest.raises(inf.AppInputError, match="5000x4000"):
        inf.read_upload(huge.getvalue())
    rgb = io.BytesIO()
    Image.new("RGB", (100, 50), (255, 0, 0)).save(rgb, format="JPEG")
    image = inf.read_upload(rgb.getvalue())
    assert image.shape == (72, 72, 4) and image[0, 0, 3] == 0 and image[36, 36, 3] == 255  # letterboxed


def test_checkerboard_shows_transparency_and_zip_holds_every_png():
    clear = np.zeros((72, 72, 4), np.uint8)
    shown = inf.on_checkerboard(clear, scale=2)
    assert shown.shape == (144, 144, 3) and len(np.unique(shown)) == 2  # only the board
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(inf.zip_of_pngs([clear, clear], ["a.png", "b.png"])))
    assert archive.namelist() == ["a.png", "b.png"]
