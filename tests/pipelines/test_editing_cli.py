"""``python -m emoji_t2i.mashup``, ``emojify`` and ``inpaint`` on the shipped model (two
sampling steps): a captioned grid, and one-line errors before any model loads."""

import numpy as np
import pytest
from PIL import Image

from emoji_t2i import emojify, inpaint, mashup


def test_mashup_writes_a_row_per_mix_with_the_prompts_at_the_ends(tmp_path, capsys):
    out = tmp_path / "m.png"
    assert mashup.main(["ghost", "grinning face", "--mix", "0.5", "-n", "2", "--seed", "0", "--num-steps", "2",
                        "-o", str(out)]) == 0
    grid = np.asarray(Image.open(out))
    assert grid.shape[0] > 3 * 144 and grid.shape[1] > 2 * 144  # three rows of two enlarged emoji
    assert Image.open(out).text["emoji_t2i"].startswith(  # the command that draws it again
        '{"command": "python -m emoji_t2i.mashup ghost \'grinning face\' --mix 0.5 -n 2 --seed 0')
    assert mashup.main(["ghost", "grinning face", "--mix", "2", "-o", str(out)]) == 2
    assert "--mix 2.0: use a number from 0 to 1" in capsys.readouterr().err
    # --style as generate takes it (the options mashup samples with), refused in one line before
    # sampling by a model without styles; drawing in a style: tests/pipelines/test_styles.py
    assert mashup.main(["ghost", "grinning face", "--style", "openmoji", "-o", str(out)]) == 2
    assert "has no styles" in capsys.readouterr().err


def test_emojify_writes_the_crop_then_the_emoji_and_names_a_bad_photo(tmp_path, capsys):
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (120, 90), (200, 120, 60)).save(photo)
    out = tmp_path / "e.png"
    assert emojify.main([str(photo), "person", "-n", "2", "--seed", "0", "--num-steps", "3", "-o", str(out)]) == 0
    assert Image.open(out).height > 2 * 144
    assert emojify.main([str(tmp_path / "missing.jpg"), "person", "-o", str(out)]) == 2
    assert "missing.jpg: no such file" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("not a photo")
    assert emojify.main([str(tmp_path / "notes.txt"), "person", "-o", str(out)]) == 2
    assert "not an image Pillow can read" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        emojify.main([str(photo)])  # no prompt: argparse's usage line


def test_inpaint_keeps_the_image_outside_the_region_and_refuses_an_empty_mask(tmp_path, tiny, capsys):
    emoji = tmp_path / "emoji.png"
    Image.fromarray(tiny.images[0], "RGBA").save(emoji)
    out = tmp_path / "i.png"
    assert inpaint.main([str(emoji), "sleeping face", "--region", "eyes", "-n", "2", "--seed", "0",
                         "--num-steps", "2", "-o", str(out)]) == 0
    grid = np.asarray(Image.open(out))
    assert grid.shape[0] > 2 * 144 and grid.shape[1] > 2 * 144  # the image and its mask, then two results
    mask = tmp_path / "mask.png"
    Image.new("L", (72, 72), 0).save(mask)
    assert inpaint.main([str(emoji), "sleeping face", "--mask", str(mask), "-o", str(out)]) == 2
    assert "the mask marks nothing to redraw" in capsys.readouterr().err
    assert inpaint.main([str(emoji), "sleeping face", "--mask", str(tmp_path / "none.png"), "-o", str(out)]) == 2
    assert "none.png: no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        inpaint.main([str(emoji), "sleeping face"])  # neither --region nor --mask: argparse's usage line
