"""Smoke tests of the bench's PostgreSQL parts (bench/postgres.py, bench/stack.py): the round-trip
counter sees the store's statements, and run.py's PostgreSQL rows make a table.

They check the harness, never speed; each skips, saying why, without PostgreSQL (and the load
row without wrk or nginx).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.bench.test_bench_smoke import run_quick


def test_round_trip_counter_sees_the_check_and_set_of_a_state_change(pg_url: str) -> None:
    """A PATCH that changes the state sends the check-and-set, one statement, and a same-value
    retry does not; every kind of statement counted adds up to the total."""
    from bench.postgres import CHECK_AND_SET, round_trips

    found = {entry["shape"]: entry for entry in round_trips(pg_url, requests=3)}
    assert sorted(found) == ["feed10", "feedproject", "patch", "patch-change"]
    change, retry = found["patch-change"], found["patch"]
    assert change["check_and_set"] == 1 and retry["check_and_set"] == 0
    assert change["statements"] == retry["statements"] + 1
    assert any(kind["kind"] == CHECK_AND_SET for kind in change["by_kind"])
    for entry in found.values():
        assert entry["statements"] >= 1 and entry["statements"] == int(entry["statements"]), entry
        assert sum(kind["per_request"] for kind in entry["by_kind"]) == entry["statements"], entry
        assert all(kind["median_us"] > 0 for kind in entry["by_kind"]), entry
        # Every statement has a name: none is left as the raw SQL's beginning.
        assert all(not kind["kind"].startswith(("SELECT", "WITH", "INSERT")) for kind in entry["by_kind"])


def test_the_counter_is_off_outside_its_block(pg_url: str) -> None:
    import psycopg

    from bench.postgres import StatementCounter

    counter = StatementCounter()
    with counter.installed(), psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("SELECT 1")
        with counter.counting() as calls:
            connection.execute("SELECT 2")
            connection.execute("SELECT 3")
        connection.execute("SELECT 4")
    assert [name for name, _ in calls] == ["SELECT 2", "SELECT 3"]
    # Uninstalled after its block: psycopg's own execute again.
    assert psycopg.Cursor.execute.__qualname__ == "Cursor.execute"


def test_quick_postgres_rows_make_a_table(tmp_path: Path) -> None:
    """patch-postgres (2 instances behind nginx) and pg-roundtrips on the bench's own cluster."""
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (bench/setup.sh installs it)")
    table = run_quick(tmp_path, "patch-postgres,pg-roundtrips")
    results = json.loads((tmp_path / "latest.json").read_text())
    (row,) = results["rows"]
    if row["status"].startswith("skipped"):
        pytest.skip(row["status"])
    assert row["status"] == "ok", table
    assert row["stub"]["non_2xx"] == 0 and row["stub"]["socket_errors"] == 0, table
    assert row["stub"]["rps"] > 0 and row["baseline"]["rps"] > 0, table
    # The stub's requests cost its database and nginx CPU too; the baseline's nginx only.
    assert set(row["stub"]["other_cpu_us"]) == {"db", "nginx"}, table
    assert set(row["baseline"]["other_cpu_us"]) == {"nginx"}, table
    assert "| PATCH log file (same-value retry) | postgres | " in table
    assert "## CPU per request: the app, the database, nginx" in table
    shapes = {entry["shape"]: entry for entry in results["round_trips"]}
    assert shapes["patch-change"]["check_and_set"] == 1, table
    assert "fsync, synchronous_commit and full_page_writes on" in results["meta"]["postgres"]
