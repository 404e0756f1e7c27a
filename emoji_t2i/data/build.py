"""Build the embedded dataset from emoji artwork published on the npm registry.

``python -m emoji_t2i.data build --out data/emoji72`` runs ``npm pack`` for pinned versions
into a temporary folder, joins the emoji-datasource metadata with the CLDR keywords that
openmoji ships, resizes every 64 px PNG to 72 px on premultiplied alpha and writes the
artifact. The result is committed, so users and CI never need npm.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emoji_t2i import IMAGE_SIZE
from emoji_t2i.data import artifact
from emoji_t2i.data.errors import DataError
from emoji_t2i.data.images import encode_png, load_rgba72

PACKAGES = {
    "google": "emoji-datasource-google@16.0.0",
    "twitter": "emoji-datasource-twitter@16.0.0",
}
KEYWORDS_PACKAGE = "openmoji@17.0.0"
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


def read_keywords(openmoji_tgz: Path) -> dict[str, tuple[str, str]]:
    """hexcode -> (CLDR annotation, CLDR keywords) from openmoji's ``tags`` column."""
    with tarfile.open(openmoji_tgz) as tar:
        text = tar.extractfile("package/data/openmoji.csv").read().decode("utf-8")
    return {r["hexcode"]: (r["annotation"], r["tags"]) for r in csv.DictReader(io.StringIO(text))}


def _lookup(keywords: dict, unified: str, non_qualified: str | None):
    for key in (unified, non_qualified, "-".join(p for p in unified.split("-") if p != "FE0F")):
        if key and key in keywords:
            return keywords[key]
    return ("", "")


def captions_for(entry: dict, keywords: dict, tone_key: str | None) -> list[str]:
    """Name, short names, CLDR annotation and keywords; skin tones in words for variations."""
    annotation, tags = _lookup(keywords, entry["unified"], entry.get("non_qualified"))
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


def heldout_identities(identities: list[str]) -> set[str]:
    rng = np.random.default_rng(SPLIT_SEED)
    unique = sorted(set(identities))
    count = round(len(unique) * HELDOUT_FRACTION)
    return set(rng.choice(unique, size=count, replace=False).tolist())


def collect(tgz: Path, vendor: str, keywords: dict):
    """Yield (row, png_bytes) for every base emoji and skin variation the vendor draws."""
    # One sequential pass: random access into a .tgz re-reads the gzip stream each time.
    prefix = f"package/img/{vendor}/64/"
    files, meta = {}, None
    with tarfile.open(tgz) as tar:
        for member in tar:
            if member.name == "package/emoji.json":
                meta = json.load(tar.extractfile(member))
            elif member.name.startswith(prefix) and member.name.endswith(".png"):
                files[member.name[len(prefix) :]] = tar.extractfile(member).read()
    if meta is None:
        raise DataError(f"{tgz.name}: no package/emoji.json; check the pinned package version")
    for entry in meta:
        variants = [(None, entry)] + list(entry.get("skin_variations", {}).items())
        for tone_key, variant in variants:
            if variant.get(f"has_img_{vendor}") and variant["image"] in files:
                rgba = load_rgba72(files[variant["image"]])
                row = {
                    "id": f"{vendor}/{variant['unified'].lower()}",
                    "identity": entry["unified"],
                    "vendor": vendor,
                    "unified": variant["unified"],
                    "category": entry["category"],
                    "subcategory": entry["subcategory"],
                    "skin_tone": "" if tone_key is None else ", ".join(
                        SKIN_TONES[t] for t in tone_key.split("-")
                    ),
                    "captions": captions_for(entry, keywords, tone_key),
                }
                yield row, encode_png(rgba)


def build(out_dir: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        keywords = read_keywords(npm_pack(KEYWORDS_PACKAGE, tmp))
        rows, pngs = [], []
        for vendor, spec in PACKAGES.items():
            tgz = npm_pack(spec, tmp)
            for row, png in tqdm(collect(tgz, vendor, keywords), desc=vendor, unit="img"):
                rows.append(row)
                pngs.append(png)
    held = heldout_identities([r["identity"] for r in rows])
    for row in rows:
        row["split"] = "heldout" if row["identity"] in held else "train"
    spec = {
        "name": "emoji72",
        "image_size": IMAGE_SIZE,
        "resize": "premultiplied-alpha Lanczos from 64 px",
        "packages": {**PACKAGES, "keywords": KEYWORDS_PACKAGE},
        "heldout_fraction": HELDOUT_FRACTION,
        "split_seed": SPLIT_SEED,
    }
    artifact.write_artifact(out_dir, rows, pngs, spec)
    return json.loads((Path(out_dir) / artifact.SPEC).read_text())
