"""Sample grids: a row's caption uses the row's empty tiles, and a cut caption says so."""

import numpy as np

from emoji_t2i.plotting import caption_font, caption_lines_for, caption_span, image_grid


def test_a_row_caption_spans_the_uncaptioned_tiles_of_its_row_only():
    captions = ["crying cat", "", "", "red heart", "", ""]
    assert caption_span(captions, 0, columns=3) == 3
    assert caption_span(captions, 3, columns=3) == 3
    assert caption_span(["a", "b", ""], 0, columns=3) == 1
    assert caption_span(["a", "", "", ""], 0, columns=2) == 2  # never into the next row


def test_a_caption_cut_at_its_last_line_ends_in_an_ellipsis():
    assert caption_lines_for("smiling face", 20, 2) == ["smiling face"]
    lines = caption_lines_for("smiling face with heart eyes", 12, 2)
    assert len(lines) == 2 and lines[-1].endswith("\u2026")
    assert all(len(line) <= 12 for line in lines)


def test_the_grid_draws_a_long_row_caption_under_the_whole_row():
    images = np.zeros((4, 72, 72, 4), np.uint8)
    prompt = "smiling face with heart eyes"
    sheet = np.asarray(image_grid(images, [prompt, "", "", ""], columns=4, caption_lines=1))
    caption_band = sheet[4 + 72 + 1:, :, 0] < 128  # dark text pixels below the tiles
    columns_with_text = np.flatnonzero(caption_band.any(axis=0))
    assert columns_with_text.max() > 72 + 4, "the caption stayed inside its first tile"


def test_a_caption_keeps_its_spaces_wider_than_the_gaps_between_letters():
    """Pillow's built-in 10 px font drew "thumbs up sign" with 3 px between letters and at most
    3 px for a space: the words ran together."""
    from PIL import Image, ImageDraw

    band = Image.new("L", (120, 14), 255)
    ImageDraw.Draw(band).text((2, 1), "thumbs up sign", fill=0, font=caption_font(10))
    inked = (np.asarray(band) < 160).any(axis=0)
    first, last = np.flatnonzero(inked)[[0, -1]]
    gaps, run = [], 0
    for column in inked[first:last + 1]:
        if column:
            gaps, run = gaps + [run] * bool(run), 0
        else:
            run += 1
    widest = sorted(gaps)
    assert widest[-2] > widest[-3], f"blank runs between glyphs {gaps}: no two stand out as the spaces"
