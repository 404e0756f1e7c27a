import numpy as np
from PIL import Image

from emoji_t2i.data.images import load_rgba72, resize_premultiplied, to_rgba


def _red_disc_on_transparent(size=64):
    # Transparent pixels carry black colour, as most emoji PNGs do.
    yy, xx = np.mgrid[:size, :size]
    inside = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 3) ** 2
    img = np.zeros((size, size, 4), np.uint8)
    img[inside] = (255, 0, 0, 255)
    return img


def test_premultiplied_resize_leaves_no_dark_fringe():
    out = resize_premultiplied(_red_disc_on_transparent())
    visible = out[..., 3] > 8
    edge = visible & (out[..., 3] < 250)
    assert edge.sum() > 20  # there is an anti-aliased edge to inspect
    assert out[visible, 0].min() >= 250  # red stays red there, however transparent
    assert out[visible, 1:3].max() <= 5
    # What a straight, per-channel resize does: black from under the transparency bleeds in.
    src = _red_disc_on_transparent()
    straight = np.stack([np.asarray(Image.fromarray(src[..., c]).resize((72, 72), Image.LANCZOS))
                         for c in range(4)], -1)
    assert straight[edge, 0].min() < 200


def test_modes_and_sizes_become_72_rgba(tmp_path):
    rgb = Image.new("RGB", (30, 50), (10, 200, 30))
    grey = Image.new("L", (100, 100), 128)
    palette = Image.new("P", (16, 16), 3)
    for i, img in enumerate((rgb, grey, palette)):
        path = tmp_path / f"{i}.png"
        img.save(path)
        out = load_rgba72(path)
        assert out.shape == (72, 72, 4) and out.dtype == np.uint8
    assert to_rgba(rgb).getpixel((0, 0))[3] == 255
    # A non-square image is fitted and centred: the padding is transparent.
    out = load_rgba72(tmp_path / "0.png")
    assert out[36, 0, 3] == 0 and out[36, 36, 3] == 255
