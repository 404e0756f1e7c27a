"""What a PNG records about the call that drew it, and ``generate --from-png`` reading it back
(no model: the drawing again is tests/training/test_diffusion_cli.py's)."""

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from emoji_t2i import png_parameters
from emoji_t2i.errors import UsageError
from emoji_t2i.generate import NOT_RECORDED, build_parser, parse
from emoji_t2i.png_parameters import command_line, command_record, read_parameters, record, save_png

OPTIONS = {"num_steps": 8, "guidance_scale": 2.5, "guidance_interval": (0.0, 1e9), "style": "openmoji",
           "negative_prompt": "blond hair", "condition_annealing": "0.5,1.5,0.5"}
EMOJI = np.zeros((72, 72, 4), np.uint8)


def test_a_png_carries_its_call_and_its_place_in_it(tmp_path):
    made = record({"preset": "diffusion-emoji72"}, ["crying cat", "\U0001F419 wearing a \U0001F3A9"], 2, 7,
                  {**OPTIONS, "top_k": None}, image=3, prompt="\U0001F419 wearing a \U0001F3A9")
    path = save_png(tmp_path / "a.png", EMOJI, made)
    with Image.open(path) as png:
        assert png.mode == "RGBA" and png.text["Description"] == "\U0001F419 wearing a \U0001F3A9"
        assert png.text["Software"].startswith("emoji_t2i ")
    back = read_parameters(path)
    assert back == json.loads(json.dumps(made)) and back["image"] == 3
    assert "top_k" not in back and back["guidance_interval"] == [0.0, 1e9]


def test_the_recorded_command_parses_to_the_recorded_values(tmp_path):
    made = record({"run": "runs/my run"}, ["crying cat", "red heart"], 3, 11, OPTIONS)
    words = shlex.split(made["command"])
    assert words[:3] == ["python", "-m", "emoji_t2i.generate"]
    args = build_parser().parse_args(words[3:])
    assert args.run == Path("runs/my run") and args.prompts == ["crying cat", "red heart"]
    assert (args.n, args.seed) == (3, 11)
    for key, value in OPTIONS.items():
        assert getattr(args, key) == (list(value) if isinstance(value, tuple) else value), key


def test_from_png_takes_the_record_and_what_is_given_beside_it_wins(tmp_path, capsys):
    made = record({"preset": "diffusion-emoji72-styles"}, ["crying cat"], 4, 7, OPTIONS, image=2)
    path = save_png(tmp_path / "a.png", EMOJI, made)
    again = parse(build_parser(), ["--from-png", str(path)])
    assert again.preset == "diffusion-emoji72-styles" and again.run is None
    assert (again.prompts, again.n, again.seed, again.num_steps) == (["crying cat"], 4, 7, 8)
    assert again.guidance_interval == [0.0, 1e9] and again.negative_prompt == "blond hair"
    assert "image 2 of python -m emoji_t2i.generate --preset diffusion-emoji72-styles" in capsys.readouterr().out
    changed = parse(build_parser(), ["--from-png", str(path), "red heart", "-n", "1", "--num-steps", "20",
                                     "--run", "runs/x"])
    assert changed.prompts == ["red heart"] and (changed.n, changed.seed, changed.num_steps) == (1, 7, 20)
    assert changed.run == Path("runs/x") and changed.preset is None  # a source given replaces the record's
    assert changed.style == "openmoji"


def test_a_prompt_file_is_recorded_by_name_and_read_again(tmp_path):
    """A PNG of one prompt among thousands carries the file's name, not the thousands."""
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(f"prompt {i}" for i in range(2000)))
    made = record({"preset": "diffusion-emoji72"}, ["red heart"], 1, 7, {}, from_file=prompts, image=1500,
                  prompt="prompt 1499")
    path = save_png(tmp_path / "a.png", EMOJI, made)
    assert len(Image.open(path).text["emoji_t2i"]) < 600 and Image.open(path).text["Description"] == "prompt 1499"
    assert made["command"].endswith(f"'red heart' --from-file {prompts} -n 1 --seed 7")
    again = parse(build_parser(), ["--from-png", str(path)])
    assert again.prompts == ["red heart"] and again.from_file == prompts
    mine = parse(build_parser(), ["--from-png", str(path), "crying cat"])  # prompts given replace both
    assert mine.prompts == ["crying cat"] and mine.from_file is None
    prompts.unlink()
    with pytest.raises(UsageError, match=f"its prompts came from {prompts}, which is not there"):
        parse(build_parser(), ["--from-png", str(path)])


def test_from_png_refuses_what_records_no_call_in_one_line(tmp_path):
    Image.fromarray(EMOJI, "RGBA").save(tmp_path / "plain.png")
    (tmp_path / "text.png").write_text("not a png")
    other = Image.fromarray(EMOJI, "RGBA")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("emoji_t2i", json.dumps({"seed": 3}))
    other.save(tmp_path / "other.png", pnginfo=info)
    wrong = save_png(tmp_path / "wrong.png", EMOJI, {**record({"preset": "p"}, ["cat"], 1, 0, {}), "seed": "x"})
    for name, reason in (("missing.png", "no such file"), ("text.png", "not an image"),
                         ("plain.png", "it records no emoji_t2i parameters"),
                         ("other.png", "its emoji_t2i record is not one generate wrote")):
        with pytest.raises(UsageError, match=f"--from-png .*{name}: {reason}"):
            parse(build_parser(), ["--from-png", str(tmp_path / name)])
    with pytest.raises(UsageError, match="its seed .* is not a value for --seed"):
        parse(build_parser(), ["--from-png", str(wrong)])
    assert command_line(read_parameters(wrong)).endswith("--seed x")


def test_the_apps_downloads_record_the_generate_call_that_draws_them(tmp_path):
    import io
    import zipfile

    inference = pytest.importorskip("emoji_t2i.app.inference")
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    for source, kind in (("diffusion-emoji72", "preset"), (str(run), "run")):
        made = inference.text_records(source, "crying cat", 2, 5, {"num_steps": 6, "negative_prompt": ""})
        archive = zipfile.ZipFile(io.BytesIO(inference.zip_of_pngs([EMOJI, EMOJI], ["a.png", "b.png"], made)))
        (tmp_path / "b.png").write_bytes(archive.read("b.png"))
        back = read_parameters(tmp_path / "b.png")
        assert back[kind] == source and back["image"] == 1 and "negative_prompt" not in back
        args = parse(build_parser(), ["--from-png", str(tmp_path / "b.png")])
        assert (args.prompts, args.n, args.seed, args.num_steps) == (["crying cat"], 2, 5, 6)


def test_an_editing_clis_png_records_its_command_with_the_seed_it_drew(tmp_path):
    drawn = command_record("mashup", ["ghost", "grinning face", "-n", "2"], 41)
    assert drawn["command"] == "python -m emoji_t2i.mashup ghost 'grinning face' -n 2 --seed 41"
    assert command_record("inpaint", ["a.png", "cat", "--seed=3"], 41)["command"].endswith("cat --seed=3")
    path = save_png(tmp_path / "m.png", EMOJI, drawn)
    with pytest.raises(UsageError, match="not generate's; run it: python -m emoji_t2i.mashup .*--seed 41$"):
        parse(build_parser(), ["--from-png", str(path)])


def test_the_mashup_tabs_record_is_a_mashup_command_with_the_tabs_values(tmp_path):
    from emoji_t2i import mashup

    inference = pytest.importorskip("emoji_t2i.app.inference")
    made = inference.mashup_record("diffusion-emoji72-styles", "jack-o-lantern", "smiling face with horns", 0.35,
                                   "compose", 2, 9, {"style": "openmoji"})
    words = shlex.split(made["command"])
    assert words[:3] == ["python", "-m", "emoji_t2i.mashup"]
    args = mashup.build_parser().parse_args(words[3:])
    assert (args.first, args.second, args.mix, args.method) == ("jack-o-lantern", "smiling face with horns",
                                                                [0.35], "compose")
    assert (args.n, args.seed, args.preset, args.style, args.no_ends) == (2, 9, "diffusion-emoji72-styles",
                                                                          "openmoji", False)


def test_the_text_tab_reads_its_settings_back_from_a_png():
    inference = pytest.importorskip("emoji_t2i.app.inference")
    sources = {"diffusion-emoji72 (shipped)": "diffusion-emoji72",
               "diffusion-emoji72-styles (shipped)": "diffusion-emoji72-styles", "mine (run)": "runs/mine"}
    options = {"num_steps": 70, "guidance_scale": 2.5, "condition_annealing": "0.5,1.5,0.5", "style": "openmoji",
               "negative_prompt": "glasses", "sampler": "ddim"}
    made = inference.text_records("diffusion-emoji72-styles", "red heart", 20, 42, options)[3]
    values, ignored = inference.settings_from_png(inference.png_bytes(EMOJI, made), "a.png", sources)
    assert values == {"text-model": "diffusion-emoji72-styles (shipped)", "prompt": "red heart", "text-seed": 42,
                      "steps": 50, "guidance": 2.5, "text-n": 16, "variety": "more", "negative": "glasses",
                      "text-style": "openmoji"}  # steps and images held to the tab's ranges
    assert ignored == ["sampler ddim"]
    run = record({"run": "runs/other"}, ["cat"], 1, 0, {})
    with pytest.raises(inference.AppInputError, match="b.png was drawn by runs/other: start the app with --run"):
        inference.settings_from_png(inference.png_bytes(EMOJI, run), "b.png", sources)
    with pytest.raises(inference.AppInputError, match="c.png: it records no emoji_t2i parameters"):
        inference.settings_from_png(inference.png_bytes(EMOJI), "c.png", sources)
    odd = {**record({"preset": "diffusion-emoji72"}, ["cat"], 1, 0, {}), "seed": -5}
    assert inference.settings_from_png(inference.png_bytes(EMOJI, odd), "e.png", sources)[0]["text-seed"] == 0
    with pytest.raises(inference.AppInputError, match="f.png: its guidance_scale \\('x'\\) is not a number"):
        inference.settings_from_png(inference.png_bytes(EMOJI, {**odd, "guidance_scale": "x"}), "f.png", sources)
    listed = record({"preset": "diffusion-emoji72"}, [], 1, 0, {}, from_file="prompts.txt")
    with pytest.raises(inference.AppInputError, match="records its prompts by their file"):
        inference.settings_from_png(inference.png_bytes(EMOJI, listed), "d.png", sources)


def test_every_option_of_generate_is_one_a_png_records():
    """generate samples with png_parameters.OPTIONS: a flag added to its parser and not there
    would be neither passed to the model nor recorded."""
    call = {"run", "preset", "prompts", "n", "seed"}
    dests = {a.dest for a in build_parser()._actions} - NOT_RECORDED - call
    assert dests == set(png_parameters.OPTIONS)
