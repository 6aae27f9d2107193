"""The benchmark results the docs point at are in the repository, not only on the machine that ran them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)#:]+)\)")  # relative markdown link targets
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def bench_links() -> list[str]:
    """Every bench/ file README.md and docs/*.md link to, as a path from the repository root."""
    targets = set()
    for page in PAGES:
        for link in LINK.findall(page.read_text()):
            target = (page.parent / link).resolve().relative_to(REPO).as_posix()
            if target.startswith("bench/"):
                targets.add(target)
    return sorted(targets)


def test_doc_links_to_bench_are_tracked_files() -> None:
    targets = bench_links()
    assert "bench/results/reference.md" in targets
    tracked = subprocess.run(
        ["git", "ls-files", "--", *targets], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(tracked) == targets


def test_reference_run_says_when_which_commit_and_machine() -> None:
    text = (REPO / "bench/results/reference.md").read_text()
    assert re.search(r"^- when: \d{4}-\d{2}-\d{2}; commit [0-9a-f]{7,}$", text, re.M)
    assert re.search(r"^- machine: ", text, re.M)
