"""Benchmark: the stub under gunicorn against a bare Flask app, on 127.0.0.1 only.

Run from the repository root with the venv's python: `python bench/run.py [--quick] [--only IDS]`.
Each server is started as a user would (`python -m gunicorn wsgi:app` plus LOGFILES_*), load
comes from wrk over keep-alive connections, and every server is stopped with its process
group (SIGTERM, then SIGKILL if it lingers; see logfiles/live.py).
The markdown table goes to stdout and bench/results/latest.md, the numbers to latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

# `python bench/run.py` puts bench/ first on sys.path; the bench's modules live in the package `bench`.
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.load import Load  # noqa: E402
from bench.measure import (  # noqa: E402
    measure_rss,
    measure_startup,
    measure_upload_rss,
    run_group,
    skip_group,
)
from bench.postgres import (  # noqa: E402
    PG_FAILURES,
    SERIAL_THREADS,
    SETTINGS_NOTE,
    BenchPostgres,
    round_trips,
    serial_rates,
)
from bench.report import Results, as_json, render  # noqa: E402
from bench.scenarios import (  # noqa: E402
    ALL_IDS,
    EXTRAS,
    OBJECT_CONNECTIONS,
    OBJECT_MALLOC_ENV,
    POSTGRES_EXTRAS,
    SCENARIO_BY_KEY,
    Config,
    configs,
    placeholder_url,
)
from bench.servers import FAILURES, BenchError  # noqa: E402
from bench.stack import find_nginx  # noqa: E402

BENCH = REPO / "bench"
DEFAULT_RESULTS = BENCH / "results"


def ensure_wrk() -> None:
    """Install wrk with bench/setup.sh when it is missing."""
    if shutil.which("wrk"):
        return
    subprocess.run(["bash", str(BENCH / "setup.sh")], check=True, timeout=600)
    if not shutil.which("wrk"):
        raise BenchError("wrk is still not on PATH after bench/setup.sh")


def git_commit() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{rev}{' (dirty)' if dirty else ''}" or "unknown"


def wants(config: Config, wanted: set[str]) -> bool:
    return any(f"{key}-{config.name}" in wanted for key in config.scenarios)


def run_config(
    config: Config,
    wanted: set[str],
    load: Load,
    tmp: Path,
    results: Results,
    object_env: dict[str, str],
    nginx: str | None,
    pg: BenchPostgres | None,
) -> None:
    """One configuration's load rows; a PostgreSQL one's are skipped, saying why, without
    PostgreSQL (or without nginx, for several instances), and its database's CPU is watched."""
    disk = config.name == "sqlite" and "disk" in wanted  # the fully seeded one
    if not (wants(config, wanted) or disk):
        return
    watch = {}
    if config.postgres:
        skip = "not started" if pg is None else pg.reason
        if not skip and config.instances > 1 and nginx is None:
            skip = "nginx not found: apt-get install -y nginx (Debian)"
        if skip or pg is None:
            skip_group(config, wanted, results, skip)
            return
        watch["db"] = pg.cpu_seconds
    with step(f"load, {config.name}"):
        run_group(config, wanted, load, tmp, results, disk, object_env, nginx, watch)


def run_postgres_extras(
    pg: BenchPostgres | None, wanted: set[str], results: Results, quick: bool, duration: int, rounds: int
) -> None:
    """pg-roundtrips and pg-serial, each on a fresh schema; a note instead when there is no PostgreSQL."""
    parts = {
        "pg-roundtrips": ("round trips, postgres", "round_trips", "database round trips"),
        "pg-serial": ("serialised writes, postgres", "serial", "serialised writes"),
    }
    for part, (what, field, label) in parts.items():
        if part not in wanted:
            continue
        if pg is None or pg.cluster is None:
            reason = pg.reason if pg is not None else "not started"
            setattr(results, field, [{"label": label, "status": f"skipped: {reason}"}])
            continue
        try:
            with step(what):
                if part == "pg-roundtrips":
                    results.round_trips = round_trips(pg.url("bench_roundtrips"), 20 if quick else 100)
                else:
                    for threads in (1, SERIAL_THREADS):
                        results.serial += serial_rates(
                            pg.url(f"bench_serial_{threads}"), duration, pg.cpu_seconds, threads, rounds
                        )
        except PG_FAILURES as exc:
            setattr(results, field, [{"label": label, "status": f"unavailable: {exc}"}])


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="~1 s per scenario, fewer starts, no 1M RSS point"
    )
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated subset of: {', '.join(ALL_IDS + list(EXTRAS))}",
    )
    parser.add_argument("--duration", type=int, help="seconds per measured run (default 3, quick 1)")
    parser.add_argument("--rounds", type=int, help="measured runs per side and scenario (default 3, quick 1)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk keep-alive connections (default 16)")
    parser.add_argument(
        "--object-connections",
        type=int,
        default=OBJECT_CONNECTIONS,
        help=f"wrk connections for the 1 MiB object rows (default {OBJECT_CONNECTIONS})",
    )
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="run the object rows under glibc's default malloc thresholds (bench/README.md)",
    )
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS, help="where latest.md/.json go")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (server logs, databases)")
    args = parser.parse_args(argv)
    wanted = {part.strip() for part in args.only.split(",") if part.strip()}
    unknown = wanted - set(ALL_IDS) - set(EXTRAS)
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")
    args.wanted = wanted or set(ALL_IDS) | set(EXTRAS)
    return args


@contextmanager
def step(what: str) -> Iterator[None]:
    """Progress on stderr: a full run takes minutes."""
    started = time.monotonic()
    print(f"bench: {what} …", file=sys.stderr, flush=True)
    try:
        yield
    finally:
        print(f"bench: {what}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.wanted & set(ALL_IDS):  # start-up, RSS and disk need no load generator
        ensure_wrk()
    duration = args.duration or (1 if args.quick else 3)
    rounds = args.rounds or (1 if args.quick else 3)
    load = Load(
        duration, rounds, 0 if args.quick else 1, args.threads, args.connections, args.object_connections
    )
    wanted: set[str] = args.wanted
    object_env = {} if args.default_malloc else OBJECT_MALLOC_ENV
    results = Results()
    shown = [c for c in configs(Path("<tmp>")) if wants(c, wanted)] or list(configs(Path("<tmp>")))
    results.meta = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "commit": git_commit(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": load_average(),
        "quick": args.quick,
        "duration_s": duration,
        "rounds": rounds,
        "configs": {c.name: c.description for c in shown},
        "warmup_s": load.warmup,
        "wrk": f"wrk -t{load.threads} -c{load.connections} -d{duration}s --latency -s bench/lua/<shape>.lua",
        "object_connections": load.connections_for(SCENARIO_BY_KEY["objget"]),
        "object_env": object_env,
    }
    began = time.monotonic()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    workdir = (
        nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory(prefix="logfiles-bench-")
    )
    nginx = find_nginx()
    pg: BenchPostgres | None = None
    if wanted & set(POSTGRES_EXTRAS) or any(c.postgres and wants(c, wanted) for c in configs(Path())):
        with step("PostgreSQL, the bench's own cluster"):
            pg = BenchPostgres.start()
        results.meta["postgres"] = f"{SETTINGS_NOTE}; {pg.version()}" if pg.cluster else pg.reason
    try:
        with workdir as tmp_name:
            tmp = Path(tmp_name).resolve()
            pg_url = pg.url if pg is not None and pg.cluster is not None else placeholder_url
            by_name = {c.name: c for c in configs(tmp, pg_url)}
            for config in by_name.values():
                run_config(config, wanted, load, tmp, results, object_env, nginx, pg)
            run_postgres_extras(pg, wanted, results, args.quick, duration, rounds)
            if "startup" in wanted:
                repeats = 3 if args.quick else 5
                for name, as_baseline in (("memory", False), ("memory", True), ("sqlite", False)):
                    config = by_name[name]
                    try:
                        with step(f"start-up, {'baseline-' if as_baseline else ''}{name}"):
                            entry = measure_startup(config, repeats, tmp, as_baseline)
                    except FAILURES as exc:
                        results.failed = results.failed or not config.sqlite
                        entry = {
                            "config": name,
                            "status": f"{'unavailable' if config.sqlite else 'failed'}: {exc}",
                        }
                    results.startup.append(entry)
            if "rss" in wanted:
                points = (100_000,) if args.quick else (100_000, 1_000_000)
                with step("RSS, memory"):
                    results.rss = measure_rss(by_name["memory"], points, tmp)
                results.failed = results.failed or any("status" in r for r in results.rss)
            if "rss64" in wanted:
                for name in ("memory", "sqlite"):
                    config = by_name[name]
                    try:
                        with step(f"peak RSS of a 64 MiB upload, {name}"):
                            results.rss64 += measure_upload_rss(config, tmp)
                    except FAILURES as exc:
                        results.failed = results.failed or not config.sqlite
                        status = f"{'unavailable' if config.sqlite else 'failed'}: {exc}"
                        results.rss64.append({"config": name, "status": status})
    finally:
        if pg is not None:
            with step("PostgreSQL, removing the cluster"):
                pg.remove()
    results.meta["load_after"] = load_average()
    results.meta["elapsed_s"] = round(time.monotonic() - began, 1)
    results.notes.append(
        f"the whole run took {results.meta['elapsed_s']} s; wrk shares the machine's "
        f"{os.cpu_count()} CPUs with the servers: absolute numbers are the machine's, ratios the stub's"
    )
    table = render(results)
    print(table)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "latest.md").write_text(table + "\n")
    (args.results_dir / "latest.json").write_text(json.dumps(as_json(results), indent=2) + "\n")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
