"""bench/setup_cost.py runs and prints its table (a smoke test: no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_setup_cost_prints_every_row_against_its_baseline() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "setup_cost.py"), "--rounds", "5"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    names = [row.split("|")[1].strip() for row in rows[1:]]
    assert names == [
        "baseline: a no-op control call",
        "reset, then seed (two calls)",
        "reset with the seed (one call)",
        "reset with the seed, after 10,000 log files",
        "a whole test: reset with the seed, one PATCH",
    ]
    assert rows[1].split("|")[3].strip() == "1.0"  # the baseline over itself
