"""Build the embedded dataset from emoji artwork published on the npm registry.

``python -m emoji_t2i.data build --out data/emoji72`` runs ``npm pack`` for the pinned
packages of ``styles.STYLES`` into a temporary folder, joins every drawing to the
emoji-datasource metadata and the CLDR keywords that openmoji ships (by code point, or by
CLDR name where a set only names its icons), brings each to 72x72 RGBA on premultiplied
alpha (PNG sets resized, SVG sets rendered at 4x and downsampled) and writes the artifact
and ``NOTICE``. The result is committed, so users and CI never need npm.
"""

from __future__ import annotations

import collections
import csv
import io
import json
import os
import subprocess
import tarfile
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emoji_t2i import IMAGE_SIZE
from emoji_t2i.data import artifact
from emoji_t2i.data.errors import DataError
from emoji_t2i.data.images import load_rgba72
from emoji_t2i.data.styles import KEYWORDS_PACKAGE, METADATA_PACKAGE, STYLES, Style, notice_text
from emoji_t2i.data.svg import iconify_svgs, name_key, rasterise, squashed_key

HELDOUT_FRACTION = 0.05
SPLIT_SEED = 72
SKIN_TONES = {
    "1F3FB": "light skin tone",
    "1F3FC": "medium-light skin tone",
    "1F3FD": "medium skin tone",
    "1F3FE": "medium-dark skin tone",
    "1F3FF": "dark skin tone",
}


def npm_pack(spec: str, workdir: Path) -> Path:
    try:
        out = subprocess.run(
            ["npm", "pack", spec, "--silent"], cwd=workdir, check=True, capture_output=True, text=True
        ).stdout
    except FileNotFoundError as e:
        raise DataError("npm not found; install Node.js and npm to rebuild the dataset") from e
    except subprocess.CalledProcessError as e:
        raise DataError(f"npm pack {spec} failed: {e.stderr.strip().splitlines()[-1:]}") from e
    return workdir / out.strip().splitlines()[-1]


def read_tar(tgz: Path, wanted) -> dict[str, bytes]:
    """member name (without ``package/``) -> bytes for every member ``wanted(name)`` accepts.

    One sequential pass: random access into a .tgz re-reads the gzip stream each time.
    """
    out = {}
    with tarfile.open(tgz) as tar:
        for member in tar:
            name = member.name.split("/", 1)[-1]
            if member.isfile() and wanted(name):
                out[name] = tar.extractfile(member).read()
    return out


def read_openmoji_rows(openmoji_tgz: Path) -> list[dict]:
    files = read_tar(openmoji_tgz, lambda n: n == "data/openmoji.csv")
    if not files:
        raise DataError(f"{openmoji_tgz.name}: no data/openmoji.csv; check the pinned version")
    return list(csv.DictReader(io.StringIO(files["data/openmoji.csv"].decode("utf-8"))))


def _normal(sequence: str) -> str:
    """Code-point sequence -> a join key: upper case, variation selector FE0F dropped."""
    return "-".join(p for p in sequence.upper().replace("_", "-").split("-") if p and p != "FE0F")


class EmojiIndex:
    """emoji-datasource's emoji and skin variations, found by code points or by name."""

    def __init__(self, metadata: list[dict], openmoji_rows: list[dict]):
        self.keywords = {r["hexcode"]: (r["annotation"], r["tags"]) for r in openmoji_rows}
        self.by_sequence = {}
        for entry in metadata:
            for tone_key, variant in [(None, entry), *entry.get("skin_variations", {}).items()]:
                for seq in (variant["unified"], variant.get("non_qualified")):
                    if seq:
                        self.by_sequence.setdefault(_normal(seq), (entry, tone_key, variant))
        self.by_name, self.by_squashed = {}, {}
        names = [(r["annotation"], r["hexcode"]) for r in openmoji_rows]
        names += [(n, e["unified"]) for e in metadata for n in [e.get("name") or "", *e["short_names"]]]
        for name, sequence in names:
            found = self.by_sequence.get(_normal(sequence))
            if name and found:
                self.by_name.setdefault(name_key(name), found)
                self.by_squashed.setdefault(squashed_key(name), found)

    def lookup(self, key: str, join: str):
        if join == "sequence":
            return self.by_sequence.get(_normal(key))
        if join == "name":
            return self.by_name.get(name_key(key))
        return self.by_name.get(name_key(key)) or self.by_squashed.get(squashed_key(key))

    def captions(self, entry: dict, tone_key: str | None) -> list[str]:
        """Name, short names, CLDR annotation and keywords; skin tones in words for variations."""
        annotation, tags = "", ""
        for key in (entry["unified"], entry.get("non_qualified"), _normal(entry["unified"])):
            if key and key in self.keywords:
                annotation, tags = self.keywords[key]
                break
        base = [entry["name"].lower(), *(s.replace("_", " ") for s in entry["short_names"])]
        if annotation:
            base.append(annotation.lower())
        if tags:
            base.append(tags.lower())
        if len({c.strip() for c in base}) < 2:
            # A few emoji have tags equal to their name; the CLDR subgroup keeps two captions.
            base.append(f"{base[0]}, {entry['subcategory'].replace('-', ' ')}")
        if tone_key:
            tone = ", ".join(SKIN_TONES[t] for t in tone_key.split("-"))
            base = [f"{c}: {tone}" for c in base]
        seen, out = set(), []
        for c in (c.strip().replace("|", "/") for c in base):
            if c and c not in seen:
                seen.add(c)
                out.append(c)
        return out

    def row(self, style: str, found) -> dict:
        entry, tone_key, variant = found
        return {
            "id": f"{style}/{variant['unified'].lower()}",
            "identity": entry["unified"],
            "style": style,
            "unified": variant["unified"],
            "category": entry["category"],
            "subcategory": entry["subcategory"],
            "skin_tone": "" if tone_key is None else ", ".join(SKIN_TONES[t] for t in tone_key.split("-")),
            "captions": self.captions(entry, tone_key),
        }


def drawings(style: Style, tgz: Path, index: EmojiIndex, chars: dict | None = None):
    """(row, source) for every emoji of ``style`` that joins the index; source is PNG bytes or
    an SVG document. The first drawing of a code point wins (iconify: icons before aliases)."""
    if style.layout == "datasource-png":
        prefix = f"img/{style.vendor}/64/"
        files = read_tar(tgz, lambda n: n == "emoji.json" or (n.startswith(prefix) and n.endswith(".png")))
        if "emoji.json" not in files:
            raise DataError(f"{tgz.name}: no package/emoji.json; check the pinned package version")
        for entry in json.loads(files["emoji.json"]):
            for tone_key, variant in [(None, entry), *entry.get("skin_variations", {}).items()]:
                png = files.get(prefix + variant["image"])
                if variant.get(f"has_img_{style.vendor}") and png:
                    yield index.row(style.name, (entry, tone_key, variant)), png
        return
    if style.layout == "svg-folder":
        prefix = style.svg_folder + "/"
        files = read_tar(tgz, lambda n: n.startswith(prefix) and n.endswith(".svg"))
        candidates = [(n[len(prefix):-4], data.decode("utf-8")) for n, data in sorted(files.items())]
    else:
        files = read_tar(tgz, lambda n: n in ("icons.json", "chars.json"))
        if "icons.json" not in files:
            raise DataError(f"{tgz.name}: no package/icons.json; is {style.package} an iconify set?")
        svgs = iconify_svgs(json.loads(files["icons.json"]))
        if style.join == "sequence":
            chars = chars or json.loads(files.get("chars.json", b"{}"))
            if not chars:
                raise DataError(f"{style.package}: chars.json is empty; join it by name instead")
            candidates = [(seq, svgs[name]) for seq, name in chars.items() if name in svgs]
        else:
            candidates = list(svgs.items())
    seen = set()
    for key, svg in candidates:
        found = index.lookup(key, style.join)
        if found and found[2]["unified"] not in seen:
            seen.add(found[2]["unified"])
            yield index.row(style.name, found), svg


def encoded_rgba72(source) -> bytes:
    """PNG bytes or an SVG document -> the artifact's lossless WebP of the 72x72 RGBA image
    (in the worker processes: encoding costs as much as rendering)."""
    return artifact.encode_webp(load_rgba72(source) if isinstance(source, bytes) else rasterise(source))


def heldout_identities(identities, already: set[str] = frozenset()) -> set[str]:
    """5 % of the identities (seed 72). ``already`` are the identities of an earlier build: their
    split is kept, and the rule is applied to the new ones alone, so held-out stays held out."""
    rng = np.random.default_rng(SPLIT_SEED)
    unique = sorted(set(identities) - set(already))
    count = round(len(unique) * HELDOUT_FRACTION)
    return set(rng.choice(unique, size=count, replace=False).tolist())


def assign_splits(rows: list[dict], base_styles=("google", "twitter")) -> None:
    """The identities of the original two-style dataset keep the split they had there (the
    same rule on the same identities); identities only other styles draw get their own 5 %."""
    base = {r["identity"] for r in rows if r["style"] in base_styles}
    held = heldout_identities(base) | heldout_identities({r["identity"] for r in rows}, already=base)
    for row in rows:
        row["split"] = "heldout" if row["identity"] in held else "train"


def build(out_dir: Path, styles=STYLES, workers: int | None = None, notice: Path | None = None,
          fetch=npm_pack) -> dict:
    """Write the artifact to ``out_dir`` and the licences of its styles to ``notice``
    (default ``out_dir/NOTICE``); returns the written spec. ``fetch(spec, folder)`` returns the
    package's .tgz (``npm pack``; tests pass tarballs they built)."""
    rows, sources = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        openmoji_tgz = fetch(KEYWORDS_PACKAGE, tmp)
        packs = {KEYWORDS_PACKAGE: openmoji_tgz, METADATA_PACKAGE: fetch(METADATA_PACKAGE, tmp)}
        metadata = read_tar(packs[METADATA_PACKAGE], lambda n: n == "emoji.json")["emoji.json"]
        index = EmojiIndex(json.loads(metadata), read_openmoji_rows(openmoji_tgz))
        for style in styles:
            tgz = packs.get(style.package) or fetch(style.package, tmp)
            packs[style.package] = tgz
            chars = None
            if style.chars_from:
                chars_tgz = packs.get(style.chars_from) or fetch(style.chars_from, tmp)
                packs[style.chars_from] = chars_tgz
                chars = json.loads(read_tar(chars_tgz, lambda n: n == "chars.json")["chars.json"])
            for row, source in drawings(style, tgz, index, chars):
                rows.append(row)
                sources.append(source)
    assign_splits(rows)
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        images = list(tqdm(pool.map(encoded_rgba72, sources, chunksize=32), total=len(sources),
                           desc="render", unit="img"))
    counts = collections.Counter(r["style"] for r in rows)
    spec = {
        "name": "emoji72",
        "image_size": IMAGE_SIZE,
        "image_format": artifact.IMAGE_FORMAT,
        "resize": "premultiplied-alpha Lanczos: 64 px PNGs resized, SVGs rendered at 288 px by resvg",
        "packages": {"metadata": METADATA_PACKAGE, "keywords": KEYWORDS_PACKAGE,
                     **{s.name: s.package for s in styles}},
        "styles": {s.name: counts[s.name] for s in styles},
        "heldout_fraction": HELDOUT_FRACTION,
        "split_seed": SPLIT_SEED,
    }
    artifact.write_artifact(out_dir, rows, images, spec)
    Path(notice or Path(out_dir) / "NOTICE").write_text(notice_text([s for s in styles if counts[s.name]]))
    return json.loads((Path(out_dir) / artifact.SPEC).read_text())
