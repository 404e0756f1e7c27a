"""Presets: the shipped one (size budget, model card, it generates) and the format itself."""

import json

import numpy as np
import pytest

from emoji_t2i.pipelines import RunError, TextToImagePipeline, resolve_preset, save_preset, shipped_presets
from emoji_t2i.pipelines.presets import DEFAULT_PRESET, GUIDED_PRESET, SHIPPED_DIR, STYLES_PRESET, preset_for

BUDGET_MB = 25


@pytest.mark.parametrize("name", [DEFAULT_PRESET, GUIDED_PRESET])
def test_the_default_and_guided_presets_ship_within_their_budget_with_a_model_card(name):
    assert name in shipped_presets()
    folder = SHIPPED_DIR / name
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
    assert size <= BUDGET_MB, f"{folder} is {size:.1f} MB"
    card = (folder / "README.md").read_text()
    for section in ("Training", "Evaluation", "Limitations", "python -m emoji_t2i.train"):
        assert section in card, section
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["model"] == "diffusion" and (metadata.get("epochs") or metadata.get("distillation"))


def test_without_a_named_preset_what_the_student_cannot_do_goes_to_the_model_that_can():
    assert preset_for({}) == (DEFAULT_PRESET, None)
    assert preset_for({"guidance_scale": 5.0, "style": "any", "negative_prompt": ""}) == (DEFAULT_PRESET, None)
    for option, value in (("negative_prompt", "glasses"), ("num_steps", 20), ("sampler", "dpm_solver"),
                          ("guidance_interval", (0.0, 1e9))):
        name, why = preset_for({option: value, "guidance_scale": 2.0})
        assert name == GUIDED_PRESET and why.startswith("--" + option.replace("_", "-")), why
    name, why = preset_for({"style": "openmoji", "negative_prompt": "glasses"})
    assert name == STYLES_PRESET and "--style" in why  # it takes negative prompts too


def test_generate_draws_with_the_student_and_a_negative_prompt_with_its_teacher(tmp_path, capsys):
    from emoji_t2i.generate import main
    from emoji_t2i.png_parameters import read_parameters

    assert main(["red heart", "-n", "1", "--seed", "0", "-o", str(tmp_path / "fast.png")]) == 0
    assert read_parameters(tmp_path / "fast.png")["command"].startswith(
        f"python -m emoji_t2i.generate --preset {DEFAULT_PRESET} ")
    assert "drawing with" not in capsys.readouterr().out
    assert main(["red heart", "-n", "1", "--seed", "0", "--num-steps", "2", "--negative-prompt", "glasses",
                 "-o", str(tmp_path / "guided.png")]) == 0
    assert f"--negative-prompt needs the guided {GUIDED_PRESET}" in capsys.readouterr().out
    made = read_parameters(tmp_path / "guided.png")
    assert made["command"].startswith(f"python -m emoji_t2i.generate --preset {GUIDED_PRESET} ")
    assert made["negative_prompt"] == "glasses"


@pytest.mark.parametrize("name", ["clip-emoji72", "damsm-emoji72"])
def test_shipped_encoders_ship_with_a_card_and_match_held_out_emoji_to_their_captions(name, embedded):
    from emoji_t2i.data.images import to_unit_range
    from emoji_t2i.pipelines import load_preset

    folder = SHIPPED_DIR / name
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20 <= BUDGET_MB
    card = (folder / "README.md").read_text()
    assert all(section in card for section in ("Training", "Evaluation", "python -m emoji_t2i.train"))
    model, tokenizer, config = load_preset(name)
    assert config["model"] == name.split("-")[0] and not model.is_generator
    held = np.flatnonzero(embedded.split == "heldout")
    firsts = {}
    for i in held:  # one image per held-out identity
        firsts.setdefault(embedded.identity[i], i)
    rows = np.array(list(firsts.values())[:32])
    texts = np.asarray(model.embed_text(tokenizer([embedded.captions[i][0] for i in rows])))
    images = np.asarray(model.embed_images(to_unit_range(embedded.images[rows].astype(np.float32))))
    top1 = float(((texts @ images.T).argmax(axis=1) == np.arange(len(rows))).mean())
    assert top1 >= 0.125, top1  # 4x chance (1/32); the shipped ones get 0.19 (clip) and 0.22 (damsm)


def test_the_guided_preset_generates():
    pipe = TextToImagePipeline.from_preset(GUIDED_PRESET)
    images = pipe.sample(["crying cat", "red heart"], seed=0, num_steps=4)
    assert images.shape == (2, 72, 72, 4) and images.dtype == np.uint8
    alpha = images[..., 3]
    assert (alpha == 0).mean() > 0.05 and (alpha == 255).mean() > 0.05  # a shape on transparency
    np.testing.assert_array_equal(images, pipe.sample(["crying cat", "red heart"], seed=0, num_steps=4))


def test_the_style_preset_fits_its_budget_and_draws_each_style_on_transparency():
    folder = SHIPPED_DIR / "diffusion-emoji72-styles"
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20 <= BUDGET_MB
    card = (folder / "README.md").read_text()
    assert all(section in card for section in ("Training", "Evaluation", "Limitations", "train_jax"))
    pipe = TextToImagePipeline.from_preset("diffusion-emoji72-styles")
    assert len(pipe.styles) == 8 and {"google", "openmoji"} <= set(pipe.styles)
    google, openmoji = (pipe.sample(["red heart"], seed=0, num_steps=4, style=s) for s in ("google", "openmoji"))
    for images in (google, openmoji):
        assert (images[..., 3] == 0).mean() > 0.05 and (images[..., 3] == 255).mean() > 0.05
    # OpenMoji draws black outlines: its heart has more near-black opaque pixels than Google's
    def dark(images):
        opaque = images[..., 3] > 200
        return float((images[..., :3].max(-1)[opaque] < 60).mean())
    assert dark(openmoji) > dark(google) + 0.05, (dark(openmoji), dark(google))


def test_the_fast_preset_is_a_distilled_student_drawing_in_four_single_calls():
    folder = SHIPPED_DIR / "diffusion-emoji72-fast"
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20 <= BUDGET_MB
    card = (folder / "README.md").read_text()
    assert all(section in card for section in ("distillation", "Evaluation", "Limitations", "train_jax distill"))
    assert json.loads((folder / "metadata.json").read_text())["distillation"]["stages"] == [8, 4]
    pipe = TextToImagePipeline.from_preset("diffusion-emoji72-fast")
    model = pipe.model
    assert model.guidance_input and model.num_steps == 4 and model.sampler == "ddim"
    network, batches = model._denoiser_graph(), []
    model.__dict__["_denoiser_fn"] = lambda inputs: batches.append(int(inputs[0].shape[0])) or network(inputs)
    images = pipe.sample(["red heart", "crying cat"], seed=0)
    assert batches == [2] * 4  # one call per step, no unconditional half
    alpha = images[..., 3]
    assert (alpha == 0).mean() > 0.05 and (alpha == 255).mean() > 0.05  # shapes on transparency
    heart = images[0][images[0, ..., 3] > 200, :3].astype(int)
    assert (heart[:, 0] - heart[:, 1:].max(-1)).mean() > 60  # the heart is red


def test_unknown_preset_names_the_shipped_ones(tmp_path):
    with pytest.raises(RunError, match=DEFAULT_PRESET):
        resolve_preset(tmp_path / "nothing-here")


def test_preset_round_trip_and_refresh_keeps_the_model_card(tmp_path):
    from emoji_t2i.models import get_model_class
    from emoji_t2i.text.tokenizers import make_tokenizer
    from tests.harness import TINY

    tokenizer = make_tokenizer("word", ["crying cat", "red heart"])
    model = get_model_class("diffusion")(tokenizer.vocabulary_size(), **TINY["diffusion"])
    model.build_for_sampling(16)
    path = save_preset(model, tokenizer, tmp_path / "p", {"epochs": 1})
    (path / "README.md").write_text("card")
    save_preset(model, tokenizer, path, {"epochs": 2})
    assert (path / "README.md").read_text() == "card"
    assert json.loads((path / "metadata.json").read_text())["epochs"] == 2
    loaded = TextToImagePipeline.from_preset(path)
    tokens = tokenizer(["crying cat"])
    noise = np.random.default_rng(0).standard_normal((1, 72, 72, 4)).astype("float32")
    expected = np.asarray(model.sample(tokens, noise))
    np.testing.assert_array_equal(np.asarray(loaded.model.sample(tokens, noise)), expected)


STYLEGAN_PRESETS = ["stylegan-emoji72", "stylegan-emoji72-google", "stylegan-emoji72-twitter"]


@pytest.mark.parametrize("name", STYLEGAN_PRESETS)
def test_shipped_stylegans_fit_their_budget_and_draw_shapes_on_transparency(name):
    from emoji_t2i.pipelines.stylegan import StyleGANPipeline

    folder = SHIPPED_DIR / name
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20 <= 15
    card = (folder / "README.md").read_text()
    assert all(section in card for section in ("Training", "Evaluation", "Limitations", "python -m emoji_t2i.train"))
    pipe = StyleGANPipeline.from_preset(name)
    images = pipe.sample(4, seed=0, truncation_psi=0.7)
    alpha = images[..., 3]
    assert (alpha == 0).mean() > 0.05 and (alpha > 200).mean() > 0.05
    assert np.abs(images[0].astype(int) - images[1]).mean() > 2  # seeds differ


def test_the_vendor_stylegans_are_fine_tunes_of_the_shipped_parent():
    """Network blending needs one parent: both vendor presets record --init-from it."""
    parent = json.loads((SHIPPED_DIR / STYLEGAN_PRESETS[0] / "metadata.json").read_text())
    for name in STYLEGAN_PRESETS[1:]:
        metadata = json.loads((SHIPPED_DIR / name / "metadata.json").read_text())
        training = metadata["training"]
        assert (training.get("style") or training.get("vendor")) == name.rsplit("-", 1)[1]
        assert metadata["init_from"]["preset"].endswith(("stylegan-emoji72", "stylegan/preset"))
        # ... and the parent they record is the one shipped now, not an earlier version of it
        recorded = metadata["init_from"]
        assert (recorded["command"], recorded["steps"]) == (parent["command"], parent["steps"])
