"""Smoke test of bench/run.py: one ~1 s PATCH run on the memory store produces a table.

It checks the harness (servers start and stop, wrk runs, its output parses), never speed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PATCH_ROW = re.compile(r"^\| PATCH [^|]*\| memory \| ([\d,.]+) \|", re.M)


def run_quick(tmp_path: Path, only: str) -> str:
    """`bench/run.py --quick --only ONLY` into `tmp_path`; its markdown table."""
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--only", only, "--results-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return (tmp_path / "latest.md").read_text()


def test_quick_patch_memory_makes_a_table(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (bench/setup.sh installs it)")
    table = run_quick(tmp_path, "patch-memory")
    row = PATCH_ROW.search(table)
    assert row is not None, table
    assert float(row[1].replace(",", "")) > 0
    (result,) = json.loads((tmp_path / "latest.json").read_text())["rows"]
    assert result["id"] == "patch-memory"
    assert result["stub"]["non_2xx"] == 0
    assert result["baseline"]["rps"] > 0


def test_quick_startup_and_rss_need_no_wrk(tmp_path: Path) -> None:
    """The parts without load run everywhere, so the harness is exercised even without wrk."""
    table = run_quick(tmp_path, "startup,rss")
    startup = re.search(r"^\| memory \| 3 \| (\d+) \| (\d+) \|", table, re.M)
    assert startup is not None, table
    assert 0 < int(startup[1]) <= int(startup[2])
    rss = re.search(r"^\| 100,000 \| ([\d.]+) \| (\d+) \|", table, re.M)
    assert rss is not None, table
    assert int(rss[2]) > 0
