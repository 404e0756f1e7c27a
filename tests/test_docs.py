"""README.md and docs/**/*.md point only at files that exist: every link and image target, and
every `docs/...` figure or report named in backticks."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
NAMED = re.compile(r"`(docs/[\w./-]+\.(?:png|gif|json|jsonl|md))`")


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


def test_pages_speak_of_the_project_alone():
    """No pointers outside the repository, nor to how work was organised."""
    banned = re.compile(r"\.\./shared|shared/LESSONS|the issue|lent to this project|device time")
    hits = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in PAGES
            for m in banned.finditer(p.read_text(encoding="utf-8"))]
    assert not hits, hits


def test_readme_is_a_landing_page():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200
