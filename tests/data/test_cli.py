"""python -m emoji_t2i.data info / sheet / styles on the embedded artifact."""

import pytest
from PIL import Image

from emoji_t2i.data.__main__ import main
from emoji_t2i.data.styles import STYLE_NAMES


def test_info_counts_every_style_and_category(capsys, embedded):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"{len(embedded)} images" in out
    styles, balance = [[line for line in block.splitlines() if line.startswith("| ")]
                       for block in out.split("\n\n") if block.startswith("| ")]
    rows = {line.split(" | ")[0][2:]: line for line in styles[1:]}
    assert set(rows) == {*STYLE_NAMES, "all"}
    assert rows["all"].rstrip(" |").endswith(str(len(embedded)))
    google = int(rows["google"].rstrip(" |").rsplit("| ", 1)[-1])
    assert google == int((embedded.metadata["style"] == "google").sum())
    shares = {line.split(" | ")[0][2:]: [float(c.rstrip(" |%")) for c in line.split(" | ")[1:]] for line in balance[1:]}
    assert shares["People & Body"][0] > 50 > 20 > shares["People & Body"][1]  # as stored, then balanced
    assert sum(stored for stored, _ in shares.values()) == pytest.approx(100, abs=0.5)


def test_sheet_of_one_style_and_a_clear_error(tmp_path, capsys):
    assert main(["sheet", "--style", "fxemoji", "-n", "16", "--out", str(tmp_path / "fx.png")]) == 0
    assert Image.open(tmp_path / "fx.png").size[0] > 8 * 72
    assert main(["sheet", "--style", "apple", "--out", str(tmp_path / "no.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--style apple: not in emoji72" in err and "fxemoji" in err and "\n" not in err
    assert not (tmp_path / "no.png").exists()


def test_styles_sheet_has_a_column_per_style(tmp_path, capsys):
    assert main(["styles", "-n", "3", "--out", str(tmp_path / "styles.png")]) == 0
    width, height = Image.open(tmp_path / "styles.png").size
    assert width == len(STYLE_NAMES) * (72 + 4) + 4  # the grid's tile and padding
    assert 3 * 72 < height < 5 * 72
    assert len(capsys.readouterr().out.split(": ", 1)[1].split(", ")) == 3
