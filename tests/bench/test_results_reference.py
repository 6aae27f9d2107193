"""The benchmark results the READMEs point at are in the repository, not only on the machine that ran them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)#:]+)\)")  # relative markdown link targets


def test_readme_links_are_tracked_files() -> None:
    targets = sorted(set(LINK.findall((REPO / "README.md").read_text())))
    assert "bench/results/reference.md" in targets
    tracked = subprocess.run(
        ["git", "ls-files", "--", *targets], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(tracked) == targets


def test_reference_run_says_when_which_commit_and_machine() -> None:
    text = (REPO / "bench/results/reference.md").read_text()
    assert re.search(r"^- when: \d{4}-\d{2}-\d{2}; commit [0-9a-f]{7,}$", text, re.M)
    assert re.search(r"^- machine: ", text, re.M)
