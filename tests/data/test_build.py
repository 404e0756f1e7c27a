"""The dataset builder on tiny packages of each layout it reads (no network, no npm)."""

import csv
import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from emoji_t2i.data.artifact import read_artifact
from emoji_t2i.data.build import EmojiIndex, assign_splits, build, drawings, heldout_identities
from emoji_t2i.data.errors import DataError
from emoji_t2i.data.styles import KEYWORDS_PACKAGE, METADATA_PACKAGE, Style
from emoji_t2i.data.svg import iconify_svgs, name_key, rasterise, squashed_key

RED = '<path fill="#ff0000" d="M0 0h8v16H0z"/>'  # the left half of a 16x16 box
METADATA = [
    {"name": "GRINNING FACE", "unified": "1F600", "non_qualified": None, "image": "1f600.png",
     "short_names": ["grinning"], "category": "Smileys & Emotion", "subcategory": "face-smiling",
     "has_img_google": True},
    {"name": "THUMBS UP SIGN", "unified": "1F44D", "non_qualified": None, "image": "1f44d.png",
     "short_names": ["+1", "thumbsup"], "category": "People & Body", "subcategory": "hand-fingers-closed",
     "has_img_google": True,
     "skin_variations": {"1F3FB": {"unified": "1F44D-1F3FB", "image": "1f44d-1f3fb.png",
                                   "has_img_google": True}}},
    {"name": "REGIONAL INDICATOR SYMBOL LETTERS AX", "unified": "1F1E6-1F1FD", "non_qualified": None,
     "image": "1f1e6-1f1fd.png", "short_names": ["flag-ax"], "category": "Flags",
     "subcategory": "country-flag", "has_img_google": False},
]
OPENMOJI_ROWS = [
    ("1F600", "grinning face", "face, grin"),
    ("1F44D", "thumbs up", "+1, hand, thumb, up"),
    ("1F44D-1F3FB", "thumbs up: light skin tone", "+1, hand, thumb, up"),
    ("1F1E6-1F1FD", "flag: Åland Islands", "flag"),
]


def tarball(path, files: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def png(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 64), colour).save(buffer, "PNG")
    return buffer.getvalue()


def svg(colour: str, size: int = 72) -> bytes:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}">'
            f'<circle cx="{size / 2}" cy="{size / 2}" r="{size / 4}" fill="{colour}"/></svg>').encode()


def openmoji_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["hexcode", "annotation", "tags"])
    writer.writerows(OPENMOJI_ROWS)
    return out.getvalue().encode()


@pytest.fixture
def packages(tmp_path):
    """spec -> .tgz for a metadata PNG set, an iconify set (joined by name) and an SVG folder."""
    emoji_json = json.dumps(METADATA).encode()
    icons = {"width": 16, "height": 16, "icons": {
        "grinning-face": {"body": RED},
        "thumbs-up-light-skin-tone": {"body": '<path fill="#00ff00" d="M0 0h16v16H0z"/>'},
        "flag-for-aland-islands": {"body": '<path fill="#0000ff" d="M0 0h16v16H0z"/>'},
        "not-an-emoji": {"body": RED}},
        "aliases": {"grinning": {"parent": "grinning-face", "hFlip": True}}}
    return {
        METADATA_PACKAGE: tarball(tmp_path / "google.tgz", {
            "emoji.json": emoji_json, "img/google/64/1f600.png": png((255, 200, 0, 255)),
            "img/google/64/1f44d.png": png((255, 200, 0, 255)),
            "img/google/64/1f44d-1f3fb.png": png((250, 220, 190, 255))}),
        KEYWORDS_PACKAGE: tarball(tmp_path / "openmoji.tgz", {
            "data/openmoji.csv": openmoji_csv(), "color/svg/1F600.svg": svg("#fcea2b"),
            "color/svg/E000.svg": svg("#000000")}),  # an OpenMoji extra: no code point
        "iconset@1": tarball(tmp_path / "iconset.tgz", {"icons.json": json.dumps(icons).encode(),
                                                        "chars.json": b"{}"}),
    }


STYLES = (
    Style("google", "G", METADATA_PACKAGE, "datasource-png", "sequence", "Apache", "(c) G", vendor="google"),
    Style("iconset", "I", "iconset@1", "iconify", "name", "MIT", "(c) I"),
    Style("openmoji", "O", KEYWORDS_PACKAGE, "svg-folder", "sequence", "CC BY-SA 4.0", "(c) O",
          svg_folder="color/svg", note="Share-alike."),
)


def test_name_keys_join_cldr_names_and_iconify_names():
    assert name_key("flag: Åland Islands") == name_key("flag-for-aland-islands") == "flag-aland-islands"
    assert name_key("flag-for-flag-japan") == name_key("flag: Japan")
    assert name_key("woman’s hat".replace("’", "'")) == "womans-hat"
    assert squashed_key("crescent moon") == squashed_key("crescentmoon")


def test_iconify_alias_flip_is_rendered_mirrored():
    svgs = iconify_svgs({"width": 16, "height": 16, "icons": {"half": {"body": RED}},
                         "aliases": {"mirrored": {"parent": "half", "hFlip": True}}})
    plain, mirrored = rasterise(svgs["half"]), rasterise(svgs["mirrored"])
    assert plain.shape == (72, 72, 4)
    # the left half is opaque red, the right half transparent; the alias is its mirror image
    assert plain[36, 10].tolist() == [255, 0, 0, 255] and plain[36, 60, 3] == 0
    assert np.array_equal(mirrored, plain[:, ::-1])


def test_rendering_is_antialiased_and_fills_the_box():
    image = rasterise(svg("#3366ff").decode())
    alpha = image[..., 3]
    assert alpha[36, 36] == 255 and alpha[0, 0] == 0
    assert ((alpha > 0) & (alpha < 255)).sum() > 20  # a smooth edge, not a staircase
    assert image[36, 36, :3].tolist() == [0x33, 0x66, 0xFF]


def test_each_layout_joins_to_code_points_and_captions(packages, tmp_path):
    with tarfile.open(packages[KEYWORDS_PACKAGE]) as tar:
        rows = list(csv.DictReader(io.StringIO(tar.extractfile("package/data/openmoji.csv").read().decode())))
    index = EmojiIndex(METADATA, rows)
    got = {s.name: [r for r, _ in drawings(s, packages[s.package], index)] for s in STYLES}
    assert [r["id"] for r in got["google"]] == ["google/1f600", "google/1f44d", "google/1f44d-1f3fb"]
    # iconify by CLDR name: skin tones and accented flag names join; the unknown name does not;
    # the alias draws a code point already drawn, so the icon itself is kept
    assert sorted(r["unified"] for r in got["iconset"]) == ["1F1E6-1F1FD", "1F44D-1F3FB", "1F600"]
    assert [r["unified"] for r in got["openmoji"]] == ["1F600"]  # E000 has no code point
    toned = next(r for r in got["iconset"] if r["unified"] == "1F44D-1F3FB")
    assert toned["identity"] == "1F44D" and toned["skin_tone"] == "light skin tone"
    assert "thumbs up: light skin tone" in toned["captions"]
    grin = next(r for r in got["openmoji"])
    assert grin["captions"][:2] == ["grinning face", "grinning"] and grin["style"] == "openmoji"


def test_build_writes_every_style_with_its_notice(packages, tmp_path):
    out = tmp_path / "artifact"
    spec = build(out, STYLES, workers=1, fetch=lambda spec, _: packages[spec])
    assert spec["styles"] == {"google": 3, "iconset": 3, "openmoji": 1}
    ds = read_artifact(out)
    assert sorted(set(ds.metadata["style"].tolist())) == ["google", "iconset", "openmoji"]
    flag = int(np.flatnonzero(ds.ids == "iconset/1f1e6-1f1fd")[0])
    assert ds.images[flag, 36, 36].tolist() == [0, 0, 255, 255]  # rendered, not a placeholder
    notice = (out / "NOTICE").read_text()
    assert all(s.package in notice for s in STYLES) and "Share-alike." in notice


def test_a_missing_package_file_is_one_clear_line(tmp_path):
    broken = tarball(tmp_path / "x.tgz", {"README.md": b"hi"})
    with pytest.raises(DataError, match="no package/icons.json") as err:
        list(drawings(STYLES[1], broken, EmojiIndex(METADATA, [])))
    assert "\n" not in str(err.value)


def test_new_identities_do_not_move_the_old_split():
    old = [f"OLD{i}" for i in range(200)]
    rows = [{"identity": i, "style": "google"} for i in old]
    rows += [{"identity": i, "style": "fluent_flat"} for i in old + [f"NEW{i}" for i in range(100)]]
    assign_splits(rows)
    held = {r["identity"] for r in rows if r["split"] == "heldout"}
    assert held & set(old) == heldout_identities(old)  # the rule the two-style build applied
    assert len(held - set(old)) == 5  # 5 % of the new ones
    for identity in held:  # every style of a held-out identity is held out
        assert {r["split"] for r in rows if r["identity"] == identity} == {"heldout"}
