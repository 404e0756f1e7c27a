"""README.md and docs/**/*.md point only at files that exist: every link and image target, and
every `docs/...` figure or report named in backticks; a link to a page's section names a
heading that page has."""

import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
NAMED = re.compile(r"`(docs/[\w./-]+\.(?:png|gif|json|jsonl|md))`")
HEADING = re.compile(r"#{1,6}\s+(.*)")
MODEL_CARDS = sorted((ROOT / "emoji_t2i" / "presets").glob("*/README.md"))


def targets(page: Path):
    text = page.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        yield target, page.parent / target.split("#", 1)[0]
    for target in NAMED.findall(text):
        yield target, ROOT / target


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_link_and_image_exists(page):
    missing = [target for target, path in targets(page) if not path.exists()]
    assert not missing, f"{page.relative_to(ROOT)} points at missing files: {missing}"


@functools.cache  # a page is linked to many times
def heading_anchors(page: Path) -> frozenset[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation but hyphens dropped,
    spaces as hyphens, a repeated heading suffixed -1, -2, ...; lines in code fences are not
    headings."""
    anchors, seen, in_code = set(), {}, False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        heading = None if in_code else HEADING.match(line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
            seen[slug] = seen.get(slug, 0) + 1
    return frozenset(anchors)


@pytest.mark.parametrize("page", PAGES + MODEL_CARDS, ids=[str(p.relative_to(ROOT)) for p in PAGES + MODEL_CARDS])
def test_every_section_link_names_a_heading(page):
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if "#" not in target or target.startswith(("http://", "https://")):
            continue
        path, anchor = target.split("#", 1)
        linked = (page.parent / path) if path else page
        if linked.suffix == ".md" and linked.exists() and anchor not in heading_anchors(linked):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to sections that do not exist: {broken}"


def test_pages_speak_of_the_project_alone():
    """No pointers outside the repository, nor to how work was organised."""
    banned = re.compile(r"\.\./shared|shared/LESSONS|the issue|lent to this project|device time")
    hits = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in PAGES
            for m in banned.finditer(p.read_text(encoding="utf-8"))]
    assert not hits, hits


def test_readme_is_a_landing_page():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200
