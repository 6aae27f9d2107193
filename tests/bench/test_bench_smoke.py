"""Smoke tests of bench/run.py: ~1 s runs (PATCH, the events feeds) produce a table.

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
    # Milliseconds with thousands separators: a loaded machine takes over a second to start.
    startup = re.search(r"^\| memory \| 3 \| ([\d,]+) \| ([\d,]+) \|", table, re.M)
    assert startup is not None, table
    assert 0 < int(startup[1].replace(",", "")) <= int(startup[2].replace(",", ""))
    rss = re.search(r"^\| 100,000 \| ([\d.]+) \| (\d+) \|", table, re.M)
    assert rss is not None, table
    assert int(rss[2]) > 0


def test_quick_feed_row_makes_a_table(tmp_path: Path) -> None:
    """A feed row: both feeds' events seeded, kept all through the row, an empty page answered."""
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (bench/setup.sh installs it)")
    table = run_quick(tmp_path, "feed100k-memory")
    results = json.loads((tmp_path / "latest.json").read_text())
    (row,) = results["rows"]
    assert row["id"] == "feed100k-memory"
    assert row["status"] == "ok", table
    assert row["stub"]["rps"] > 0 and row["baseline"]["rps"] > 0, table
    assert row["stub"]["non_2xx"] == 0 and row["stub"]["socket_errors"] == 0, table
    assert row["ratio"] > 0 and row["cpu_ratio"] > 0, table
    assert row["stub"]["cpu_us"] > 0 and row["baseline"]["cpu_us"] > 0, table
    assert "| GET events feed, nothing new, 100k events kept | memory | " in table
    assert "memory: events kept per feed: f10 1-10, f100k 11-100,010, pf 1-100,010" in results["notes"]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_baseline_feed_pages_are_the_stubs_bytes(tmp_path: Path, store: str) -> None:
    """Every feed row's path answers 200 on the stub, and the baseline's canned page is the
    stub's answer byte for byte (given the markers a fresh store gives the seeded events)."""
    from bench import baseline_app
    from bench.scenarios import SCENARIOS, TOKEN, fresh_markers
    from bench.servers import feed_documents
    from logfiles import Settings, create_app

    url = "memory" if store == "memory" else f"sqlite:///{tmp_path / 'feeds.db'}"
    stub = create_app(Settings(store_url=url)).test_client()
    for document in feed_documents():
        # The agents only: a page with nothing new depends on the marker, not on what is kept.
        assert stub.post("/_control/state", json={"agents": document["agents"]}).status_code == 200
    bare = baseline_app.app.test_client()
    paths = [s.path.format(**fresh_markers()) for s in SCENARIOS if s.feed]
    assert len(paths) == 3
    for path in paths:
        # What wrk sends: 127.0.0.1 and a 5-digit port.
        answers = [c.get(path, headers=TOKEN, base_url="http://127.0.0.1:40000") for c in (stub, bare)]
        assert [a.status_code for a in answers] == [200, 200], path
        assert answers[0].get_json()["events"] == []
        assert answers[0].data == answers[1].data
