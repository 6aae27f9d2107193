"""The docs hold together: every relative link and #anchor in README.md and docs/*.md leads
somewhere, and the README stays a page a person reads to the end (the rest is in docs/)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [
    REPO / "README.md",
    *sorted(REPO.glob("docs/*.md")),
    *sorted(REPO.glob("examples/*/README.md")),
    REPO / "bench/README.md",
]
README_MOST_LINES = 259

FENCE = re.compile(r"^ *(```|~~~).*?^ *\1 *$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.M)


def prose(text: str) -> str:
    """The page without its code: fenced blocks and code spans hold no links, only look-alikes."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lowercased, punctuation dropped, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of a page, a repeated heading's numbered -1, -2 as GitHub numbers them."""
    seen: dict[str, int] = {}
    found = set()
    for _, heading in HEADING.findall(prose(path.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def links(path: Path) -> list[str]:
    text = CODE_SPAN.sub("", prose(path.read_text()))
    return [target for target in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def test_slug_is_githubs() -> None:
    assert slug("The control plane (`/_control/`)") == "the-control-plane-_control"
    assert slug("Without pytest: `running_stub()` for unittest") == "without-pytest-running_stub-for-unittest"
    assert slug("The log's bytes: the object store (a Cloud Files subset)") == (
        "the-logs-bytes-the-object-store-a-cloud-files-subset"
    )


def test_anchors_number_repeated_headings(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Notes\n\n## Notes\n\n```sh\n# not a heading\n```\n\n### Notes\n")
    assert anchors(page) == {"notes", "notes-1", "notes-2"}


def test_links_skip_code_and_absolute_urls(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "[a](a.md) ![pic](p.png) [web](https://example.com) `[b](b.md)`\n\n"
        '```python\nx = [c](c.md)\n```\n[d](#here "title")\n'
    )
    assert links(page) == ["a.md", "p.png", "#here"]


def test_there_are_docs_pages() -> None:
    assert len(PAGES) > 10, "README.md and docs/*.md"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for target in links(page):
        name, _, anchor = target.partition("#")
        goal = (page.parent / unquote(name)).resolve() if name else page
        if not goal.exists():
            broken.append(f"{target}: no {goal.relative_to(REPO) if goal.is_relative_to(REPO) else goal}")
        elif anchor and goal.suffix == ".md" and unquote(anchor) not in anchors(goal):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_readme_stays_short() -> None:
    lines = (REPO / "README.md").read_text().count("\n")
    assert lines <= README_MOST_LINES, f"README.md has {lines} lines; move detail to docs/"
