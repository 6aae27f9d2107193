"""Smoke tests of bench/run.py: ~1 s runs (PATCH, the events feeds, the object rows) produce a
table, and rss64 (a 64 MiB upload) measures the memory store's worker.

It checks the harness (servers start and stop, wrk runs, its output parses), never speed; the
one bound it puts on a number is rss64's on memory: an upload held twice fails it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The bench and the servers it starts run without coverage's tracing (setup.cfg's `patch =
# subprocess` passes it on through these variables): it would only slow what these tests start
# many times over, and what those servers run is measured by the black-box tests.
UNTRACED = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_PROCESS_")}
TOKEN = {"X-Auth-Token": "t"}
PATCH_ROW = re.compile(r"^\| PATCH [^|]*\| memory \| ([\d,.]+) \|", re.M)


def run_quick(tmp_path: Path, only: str) -> str:
    """`bench/run.py --quick --only ONLY` into `tmp_path`; its markdown table."""
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--only", only, "--results-dir", str(tmp_path)],
        cwd=REPO,
        env=UNTRACED,
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
    from bench.scenarios import SCENARIOS, fresh_markers
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


def test_quick_configuration_rows_make_a_table(tmp_path: Path) -> None:
    """The configuration rows: GETs answered 200, and every PATCH a write (its event emitted) answered 204."""
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (bench/setup.sh installs it)")
    table = run_quick(tmp_path, "configget-memory,configpatch-memory")
    results = json.loads((tmp_path / "latest.json").read_text())
    rows = {row["id"]: row for row in results["rows"]}
    assert sorted(rows) == ["configget-memory", "configpatch-memory"], table
    for row in rows.values():
        assert row["status"] == "ok", table
        for side in (row["stub"], row["baseline"]):
            assert side["rps"] > 0 and side["non_2xx"] == 0 and side["socket_errors"] == 0, table
        assert row["ratio"] > 0 and row["cpu_ratio"] > 0, table
    (note,) = [n for n in results["notes"] if n.startswith("memory: configpatch: ")]
    emitted = int(note.split()[2].replace(",", ""))
    assert emitted >= rows["configpatch-memory"]["stub"]["requests"], table
    assert "| GET configuration details | memory | " in table


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_baseline_configuration_is_the_stubs_bytes(tmp_path: Path, store: str) -> None:
    """The seeded configuration is the create page's example; the baseline's canned details are
    the stub's answer byte for byte but for its two times (as long); both PATCHes answer 204."""
    from bench import baseline_app
    from bench.scenarios import CONFIG_AGENT, CONFIG_BODY, SCENARIO_BY_KEY
    from bench.servers import configuration_document
    from logfiles import Settings, create_app

    guide = json.loads((REPO / "tests/data/guide-configurations.json").read_text())["create_request"]
    assert {**CONFIG_BODY, "agent_id": guide["agent_id"]} == guide
    url = "memory" if store == "memory" else f"sqlite:///{tmp_path / 'configurations.db'}"
    stub = create_app(Settings(store_url=url)).test_client()
    agents = {"agents": [{"id": CONFIG_AGENT, "project_id": "p"}]}
    assert stub.post("/_control/state", json=agents).status_code == 200
    assert stub.post("/_control/state", json=configuration_document()).status_code == 200
    bare = baseline_app.app.test_client()
    get, patch = SCENARIO_BY_KEY["configget"], SCENARIO_BY_KEY["configpatch"]
    answers = [c.get(get.path, headers=TOKEN, base_url="http://127.0.0.1:40000") for c in (stub, bare)]
    assert [a.status_code for a in answers] == [200, 200]
    ours, canned = (a.get_json() for a in answers)
    assert len(answers[0].data) == len(answers[1].data)
    ours["schedule"]["start"] = canned["schedule"]["start"]
    ours["backups"]["next"]["scheduled_time"] = canned["backups"]["next"]["scheduled_time"]
    assert baseline_app._json(ours) == answers[1].data
    for client in (stub, bare):
        answer = client.patch(patch.path, data=patch.body, headers=dict(patch.headers))
        assert answer.status_code == patch.status == 204
    renamed = stub.get(get.path, headers=TOKEN).get_json()
    assert renamed["name"] == "bench 0-0"


def test_quick_object_rows_make_a_table(tmp_path: Path) -> None:
    """The object rows: 1 MiB PUTs answered 201 and GETs 200 with the whole object, on both sides."""
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (bench/setup.sh installs it)")
    table = run_quick(tmp_path, "objput-memory,objget-memory")
    results = json.loads((tmp_path / "latest.json").read_text())
    rows = {row["id"]: row for row in results["rows"]}
    assert sorted(rows) == ["objget-memory", "objput-memory"], table
    for row in rows.values():
        assert row["status"] == "ok", table
        for side in (row["stub"], row["baseline"]):
            assert side["rps"] > 0 and side["non_2xx"] == 0 and side["socket_errors"] == 0, table
        assert row["ratio"] > 0 and row["cpu_ratio"] > 0, table
    # Every GET carried the whole object (the bench checks it too, and fails the row if not).
    got = rows["objget-memory"]["stub"]
    assert got["read_bytes"] >= got["requests"] * 2**20 * 0.99, table
    assert "| PUT a 1 MiB object | memory | " in table
    assert "| GET a 1 MiB object | memory | " in table
    assert "-c4`" in table


def test_quick_rss64_does_not_hold_the_object_twice(tmp_path: Path) -> None:
    """rss64: the memory store's worker grows by the object (about 1x, not 2x), SQLite's far less."""
    table = run_quick(tmp_path, "rss64")
    entries = json.loads((tmp_path / "latest.json").read_text())["rss64"]
    memory = [e for e in entries if e["config"] == "memory"]
    assert [e.get("framing") for e in memory] == ["Content-Length", "chunked"], table
    for entry in memory:
        assert 0.9 < entry["growth_ratio"] < 1.5, table
        assert entry["rss_after_bytes"] - entry["rss_before_bytes"] >= 0.9 * entry["object_bytes"], table
    for entry in entries:
        if entry["config"] == "sqlite" and "status" not in entry:
            assert entry["growth_ratio"] < 0.5, table
    assert "## Peak RSS during a 64 MiB upload (1 worker)" in table


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_baseline_objects_are_the_stubs_bytes(tmp_path: Path, store: str) -> None:
    """The baseline's upload answers the stub's ETag for the same bytes, and its download is the
    stub's seeded object byte for byte."""
    from bench import baseline_app
    from bench.scenarios import OBJECT_BODY, OBJECT_MD5, SCENARIO_BY_KEY
    from bench.servers import object_document
    from logfiles import Settings, create_app

    url = "memory" if store == "memory" else f"sqlite:///{tmp_path / 'objects.db'}"
    stub = create_app(Settings(store_url=url)).test_client()
    assert stub.post("/_control/state", json=object_document()).status_code == 200
    bare = baseline_app.app.test_client()
    put, get = SCENARIO_BY_KEY["objput"], SCENARIO_BY_KEY["objget"]
    assert put.body == OBJECT_BODY and len(OBJECT_BODY) == 2**20
    for client in (stub, bare):
        answer = client.put(put.path, data=put.body, headers=dict(put.headers))
        assert answer.status_code == put.status == 201
        assert answer.headers["ETag"] == OBJECT_MD5
        answer = client.get(get.path, headers=dict(get.headers))
        assert answer.status_code == get.status == 200
        assert answer.data == OBJECT_BODY
    assert (REPO / "bench/lua/objput.lua").read_text().count('string.rep("0123456789abcdef", 65536)') == 1
    assert OBJECT_BODY == b"0123456789abcdef" * 65536


def test_wrk_report_bytes_read() -> None:
    from bench.load import parse_wrk

    report = """Running 1s test @ http://127.0.0.1:1/x
  2 threads and 4 connections
  Latency Distribution
     50%    5.00ms
     75%    6.00ms
     90%    7.00ms
     99%    9.00ms
  700 requests in 1.00s, 700.12MB read
Requests/sec:    699.50
Transfer/sec:    699.00MB
"""
    result = parse_wrk(report)
    assert result.requests == 700
    assert result.read_bytes == 700.12 * 2**20
