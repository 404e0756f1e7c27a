"""The web app, driven by Streamlit's AppTest (no browser), on the shipped presets; and its
plain inference functions' answers to bad input."""

import gc
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
    # Streamlit clears Keras' session after every rerun, and with it runs a full gc.collect()
    # over the heap this test process built in earlier modules (61 s of this module's time in
    # one profiled suite run). The objects alive now are left out of those collections.
    gc.collect()
    gc.freeze()
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    yield at
    gc.unfreeze()


def tab(at, title):
    return next(t for t in at.tabs if t.label == title)


def test_text_tab_generates_from_a_prompt_and_refuses_an_empty_one(app):
    assert app.selectbox(key="text-model").value == "diffusion-emoji72-fast (shipped)"  # what generate draws with
    app.selectbox(key="text-model").set_value("diffusion-emoji72 (shipped)").run()  # steps and a negative prompt
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
    command = tab(app, "Text → emoji").code[0].value  # what generate draws them with, as each PNG records
    assert command == ("python -m emoji_t2i.generate --preset diffusion-emoji72 'crying cat' -n 2 --seed 0 "
                       "--num-steps 5 --guidance-scale 3.0 --condition-annealing off")
    plain = pixels(app, "Text → emoji")
    app.select_slider(key="variety").set_value("much more")
    app.button(key="generate").click().run()
    assert not app.exception, app.exception
    assert pixels(app, "Text → emoji") != plain  # the same seed, a noised prompt: other drawings
    app.select_slider(key="variety").set_value("as trained")
    app.text_input(key="negative").input("tears")
    app.button(key="generate").click().run()
    assert not app.exception, app.exception
    assert pixels(app, "Text → emoji") != plain  # the same seed, guided away from tears
    app.text_input(key="negative").input("").run()  # as the other tests expect
    app.button(key="text-new-seed").click().run()
    assert not app.exception and app.number_input(key="text-seed").value != 0  # a new seed, drawn
    app.number_input(key="text-seed").set_value(0).run()


def test_text_tab_offers_the_styles_of_a_style_model_and_draws_in_one(app):
    assert not [s for s in app.selectbox if s.key == "text-style"]  # the default model has none
    app.selectbox(key="text-model").set_value("diffusion-emoji72-styles (shipped)").run()
    assert not app.exception, app.exception
    style = app.selectbox(key="text-style")
    assert style.options[0] == "any" and "openmoji" in style.options
    style.set_value("openmoji")
    app.text_input(key="prompt").input("red heart")
    app.number_input(key="text-n").set_value(1)
    app.slider(key="steps").set_value(5)
    app.button(key="generate").click().run()
    assert not app.exception, app.exception
    assert len(tab(app, "Text → emoji").image) == 1
    app.selectbox(key="text-model").set_value("diffusion-emoji72 (shipped)").run()  # as the other tests expect


def test_text_tab_samples_a_distilled_student_in_its_own_steps(app):
    """A distilled student has no steps slider (it samples on its own grid) and generates."""
    app.selectbox(key="text-model").set_value("diffusion-emoji72-fast (shipped)").run()
    assert not app.exception, app.exception
    assert not [s for s in app.slider if s.key == "steps"]
    assert not [t for t in app.text_input if t.key == "negative"]  # no guidance, no negative prompt
    assert any("Distilled: 4 steps" in c.value for c in app.caption)
    app.text_input(key="prompt").input("red heart")
    app.number_input(key="text-n").set_value(1)
    app.button(key="generate").click().run()
    assert not app.exception, app.exception
    assert len(tab(app, "Text → emoji").image) == 1
    app.selectbox(key="text-model").set_value("diffusion-emoji72 (shipped)").run()  # as the other tests expect


def test_text_tab_takes_its_settings_from_a_png_it_wrote(app):
    """A downloaded PNG, uploaded again, sets the model, prompt, seed and sliders it records;
    a PNG without a record gets one line."""
    made = inf.text_records("diffusion-emoji72-styles", "red heart", 2, 42,
                            {"num_steps": 7, "guidance_scale": 2.5, "condition_annealing": "0.5,1.5,0.5",
                             "style": "openmoji", "negative_prompt": "glasses"})[1]
    upload = app.file_uploader(key="text-png")
    upload.set_value(("red_heart_seed42_1.png", inf.png_bytes(np.zeros((72, 72, 4), np.uint8), made),
                      "image/png")).run()
    assert not app.exception, app.exception
    assert app.selectbox(key="text-model").value == "diffusion-emoji72-styles (shipped)"
    assert app.selectbox(key="text-style").value == "openmoji"
    assert (app.text_input(key="prompt").value, app.number_input(key="text-seed").value) == ("red heart", 42)
    assert (app.slider(key="steps").value, app.slider(key="guidance").value) == (7, 2.5)
    assert (app.number_input(key="text-n").value, app.select_slider(key="variety").value) == (2, "more")
    assert app.text_input(key="negative").value == "glasses"
    assert any("Loaded the settings of red_heart_seed42_1.png" in i.value for i in app.info)
    app.file_uploader(key="text-png").set_value(("plain.png", png_of(np.zeros((72, 72, 4), np.uint8)),
                                                 "image/png")).run()
    assert any("plain.png: it records no emoji_t2i parameters" in w.value for w in app.warning)
    unknown = {**made, "style": "comic_sans"}  # a style this model lacks: Streamlit's picker falls back to any
    app.file_uploader(key="text-png").set_value(("odd.png", inf.png_bytes(np.zeros((72, 72, 4), np.uint8), unknown),
                                                 "image/png")).run()
    assert not app.exception and app.selectbox(key="text-style").value == "any"
    app.file_uploader(key="text-png").set_value(None)  # as the other tests expect
    for key, value in (("text-seed", 0), ("text-n", 4)):
        app.number_input(key=key).set_value(value)
    app.slider(key="steps").set_value(6)
    app.slider(key="guidance").set_value(3.0)
    app.select_slider(key="variety").set_value("as trained")
    app.text_input(key="negative").input("")
    app.selectbox(key="text-model").set_value("diffusion-emoji72 (shipped)").run()


def png_of(image) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def pixels(at, title):
    """The images a tab shows, as arrays (AppTest gives their media URLs only)."""
    return [img.value for img in tab(at, title).image]


def test_mashup_tab_joins_two_prompts_and_the_mix_slider_moves_it(app):
    # the editing tabs open on the guided model: a distilled one samples its own step grid only
    assert app.selectbox(key="mash-model").value == "diffusion-emoji72 (shipped)"
    assert app.selectbox(key="emojify-model").value == "diffusion-emoji72 (shipped)"
    app.text_input(key="mash-first").input("ghost")
    app.text_input(key="mash-second").input("grinning face")
    app.number_input(key="mash-n").set_value(1)
    app.button(key="mashup").click().run()
    assert not app.exception, app.exception
    first = pixels(app, "Mash-up")
    assert len(first) == 3  # the first prompt, the mash-up, the second prompt
    app.slider(key="mix").set_value(0.8)
    app.button(key="mashup").click().run()
    assert not app.exception, app.exception
    moved = pixels(app, "Mash-up")
    assert len(moved) == 3 and moved[1] != first[1]
    app.text_input(key="mash-second").input(" ")
    app.button(key="mashup").click().run()
    assert any("Type a prompt" in w.value for w in app.warning)


def test_explore_tab_moves_between_prompts_and_through_a_stylegan(app):
    before = pixels(app, "Explore")
    assert len(before) == 6  # diffusion mode by default: emoji, not latent-space shapes
    app.slider(key="explore-mix").set_value(1.0).run()
    assert not app.exception, app.exception
    after = pixels(app, "Explore")
    assert len(after) == 6 and after != before
    app.radio(key="explore-mode").set_value("StyleGAN latent space").run()
    before = pixels(app, "Explore")
    assert len(before) == 8
    app.slider(key="explore-dir0").set_value(3.0).run()
    assert not app.exception, app.exception
    after = pixels(app, "Explore")
    assert len(after) == 8 and after != before


def test_blend_tab_shows_three_columns_per_seed(app):
    app.select_slider(key="level").set_value(36).run()
    assert not app.exception, app.exception
    assert len(tab(app, "Blend").image) == 12
    # it opens on the vendor fine-tunes, which share one parent (so one w is one emoji in both)
    chosen = (app.selectbox(key="blend-first").value, app.selectbox(key="blend-second").value)
    assert chosen == tuple(f"{name} (shipped)" for name in inf.BLEND_PAIR)


def test_a_click_in_one_tab_redraws_nothing_in_the_others(app, monkeypatch):
    """Streamlit reruns every tab on each click: the Blend and Explore tabs draw once per
    setting (a blend builds a whole StyleGAN), and a new setting draws again."""
    calls = []

    def counted(name):
        draw = getattr(inf, name)
        return lambda *args, **kwargs: calls.append(name) or draw(*args, **kwargs)

    for name in ("blend", "explore", "explore_prompts"):
        monkeypatch.setattr(inf, name, counted(name))
    app.radio(key="explore-mode").set_value("StyleGAN latent space").run()
    calls.clear()
    app.text_input(key="prompt").input("rocket")
    for _ in range(2):
        app.button(key="generate").click().run()
        assert not app.exception, app.exception
    assert calls == []
    app.number_input(key="blend-seed").set_value(3).run()
    assert calls == ["blend"] and len(tab(app, "Blend").image) == 12


def test_your_image_tab_emojifies_a_photo_and_the_strength_slider_changes_it(app):
    photo = np.zeros((90, 120, 3), np.uint8)
    photo[..., 0], photo[30:60, 45:75] = 230, (250, 200, 40)  # a yellow square on red
    app.number_input(key="emojify-n").set_value(1)
    app.slider(key="strength").set_value(0.6)
    app.file_uploader(key="photo").set_value(("photo.jpg", png_of(photo), "image/png")).run()
    app.button(key="emojify").click().run()
    assert not app.exception, app.exception
    light = pixels(app, "Your image")
    assert len(light) == 2  # the starting frame and one emoji
    app.slider(key="strength").set_value(0.95)
    app.button(key="emojify").click().run()
    heavy = pixels(app, "Your image")
    assert len(heavy) == 2 and heavy[0] == light[0] and heavy[1] != light[1]
    app.file_uploader(key="photo").set_value(("notes.txt", b"not an image", "text/plain"))
    app.button(key="emojify").click().run()
    assert not app.exception and any("not an image" in w.value for w in app.warning)


def test_your_image_tab_redraws_a_region_and_keeps_the_rest(app, embedded):
    app.radio(key="image-mode").set_value("A part of it redrawn (diffusion)").run()
    assert not app.exception, app.exception
    app.number_input(key="inpaint-n").set_value(1)
    app.file_uploader(key="inpaint-upload").set_value(("emoji.png", png_of(embedded.images[0]), "image/png")).run()
    app.button(key="inpaint").click().run()
    assert not app.exception, app.exception
    eyes = pixels(app, "Your image")
    assert len(eyes) == 2  # the starting frame and one emoji
    app.selectbox(key="region").set_value("mouth")
    app.button(key="inpaint").click().run()
    mouth = pixels(app, "Your image")
    assert len(mouth) == 2 and mouth[0] == eyes[0] and mouth[1] != eyes[1]
    # painting: the canvas (a browser component: tests/app/test_browser.py paints on it) sends
    # nothing here, so the panel asks for paint and offers no Redraw yet
    app.selectbox(key="region").set_value("what you paint").run()
    assert not app.exception, app.exception
    assert any("Paint over the part to redraw" in i.value for i in app.info)
    assert not [b for b in app.button if b.key == "inpaint"]


def test_a_painted_stroke_is_the_mask_and_its_fringe_is_not():
    background = inf.on_checkerboard(np.zeros((72, 72, 4), np.uint8), scale=inf.PAINT_SCALE)
    layer = np.zeros((288, 288, 4), np.uint8)  # the canvas's drawing layer: transparent but the paint
    assert inf.painted_mask(layer, background) is None and inf.painted_mask(None, background) is None
    layer[100:124, 40:250] = (255, 0, 255, round(inf.PAINT_OPACITY * 255))  # a stroke
    layer[99, 40:250, 3] = 8  # its anti-aliased edge
    mask = inf.painted_mask(layer, background)
    assert mask.shape == (288, 288) and mask[100:124, 40:250].min() == 1.0
    assert mask.sum() == 24 * 210  # nothing outside the stroke, its faint fringe included
    assert inf.painted_mask(layer[:100], background) is None  # not this canvas's answer
    # a canvas that sends its background too is read by what changed
    flat = np.concatenate([background, np.full((288, 288, 1), 255, np.uint8)], -1)
    flat[100:124, 40:250, :3] = (0.4 * background[100:124, 40:250] + 0.6 * np.array([255, 0, 255])).astype(np.uint8)
    assert np.array_equal(inf.painted_mask(flat, background) > 0, mask > 0)


def test_your_image_tab_projects_an_upload_and_rejects_a_non_image(app, embedded):
    app.radio(key="image-mode").set_value("Its StyleGAN projection").run()
    app.file_uploader(key="upload").set_value(("notes.txt", b"not an image", "text/plain")).run()
    assert not app.exception and any("not an image" in w.value for w in app.warning)
    app.slider(key="project-steps").set_value(20)
    app.file_uploader(key="upload").set_value(("emoji.png", png_of(embedded.images[0]), "image/png")).run()
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
