"""The bench's results (rows, start-up, RSS, disk) and how they are rendered: markdown and JSON."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.load import WrkResult, combine


@dataclass
class Row:
    scenario: str
    label: str
    config: str
    status: str = "ok"
    stub: WrkResult | None = None  # medians over the rounds
    baseline: WrkResult | None = None
    ratios: list[float] = field(default_factory=list)  # stub ÷ baseline req/s, one per round
    cpu_ratios: list[float] = field(default_factory=list)  # baseline ÷ stub CPU per request, per round

    @property
    def id(self) -> str:
        return f"{self.scenario}-{self.config}"

    @property
    def ratio(self) -> float | None:
        return statistics.median(self.ratios) if self.ratios else None

    @property
    def cpu_ratio(self) -> float | None:
        return statistics.median(self.cpu_ratios) if self.cpu_ratios else None

    def record(self, rounds: list[tuple[WrkResult, WrkResult]]) -> None:
        self.stub = combine([stub for stub, _ in rounds])
        self.baseline = combine([bare for _, bare in rounds])
        self.ratios = [stub.rps / bare.rps for stub, bare in rounds if bare.rps]
        self.cpu_ratios = [bare.cpu_us / stub.cpu_us for stub, bare in rounds if bare.cpu_us and stub.cpu_us]


@dataclass
class Results:
    meta: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    startup: list[dict[str, Any]] = field(default_factory=list)
    rss: list[dict[str, Any]] = field(default_factory=list)
    rss64: list[dict[str, Any]] = field(default_factory=list)  # peak RSS during a 64 MiB upload
    disk: dict[str, Any] = field(default_factory=dict)
    # PostgreSQL (bench/postgres.py): statements per request by kind, and the serialised writes
    round_trips: list[dict[str, Any]] = field(default_factory=list)
    serial: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: bool = False  # a part other than the SQLite or PostgreSQL store's failed: exit 1


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def spread(values: list[float]) -> str:
    return f" ({min(values):.2f}–{max(values):.2f})" if len(values) > 1 else ""


def render(results: Results) -> str:
    meta = results.meta
    warmup = f"a {meta['warmup_s']} s warm-up" if meta["warmup_s"] else "no warm-up"
    out = [
        "# logfiles-stub benchmark",
        "",
        f"- when: {meta['when']}; commit {meta['commit']}; Python {meta['python']}; "
        f"{meta['cpus']} CPUs; load average before/after: {meta['load_before']} / {meta.get('load_after')}",
        f"- load: `{meta['wrk']}`; per scenario {warmup}, then {meta['rounds']} "
        f"round(s) of {meta['duration_s']} s on the stub and on the bare-Flask baseline, alternating; "
        f"{'quick mode' if meta['quick'] else 'full mode'}; both under identical gunicorn settings "
        "(gunicorn.conf.py, same LOGFILES_WORKERS)",
        *(
            [
                f"- the object rows (1 MiB PUT and GET): the same, with `-c{meta['object_connections']}`, "
                "a stub and baseline of their own holding only the GET's object, "
                + (
                    "both with " + ", ".join(f"`{k}={v}`" for k, v in meta["object_env"].items())
                    if meta.get("object_env")
                    else "both under glibc's default malloc thresholds"
                )
                + "; each answer checked for 201 or 200, wrk's bytes read for 1 MiB per GET, the "
                "object by HEAD after the row (its size and MD5)"
            ]
            if any(row.scenario.startswith("obj") for row in results.rows)
            else []
        ),
        "- req/s, p50, p99: medians over the rounds; non-2xx and socket errors: totals",
        *(f"- `{name}`: {text}" for name, text in meta["configs"].items()),
        "- ratio = stub req/s ÷ baseline req/s, median over the rounds (range in brackets); "
        "1.0 = as fast as bare Flask on the same stack",
        "- CPU µs = the server's CPU time (master and workers) per request answered; CPU ratio = "
        "baseline CPU ÷ stub CPU per request, median over the rounds: the ratio a server with "
        "the CPUs to itself would show, and steadier than req/s when other work shares them",
        *([f"- PostgreSQL: {meta['postgres']}"] if meta.get("postgres") else []),
        "",
    ]
    if results.rows:
        out += [
            "## Throughput",
            "",
            "| scenario | config | req/s | p50 ms | p99 ms | non-2xx | sock err | baseline req/s "
            "| baseline p50 ms | ratio (range) | CPU µs | baseline CPU µs | CPU ratio (range) |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in results.rows:
            s, b = row.stub, row.baseline
            if s is None:
                out.append(f"| {row.label} | {row.config} | {row.status} | | | | | | | | | | |")
                continue
            out.append(
                f"| {row.label} | {row.config} | {fmt(s.rps)} | {fmt(s.p50_ms, 2)} | {fmt(s.p99_ms, 2)} "
                f"| {s.non_2xx} | {s.socket_errors} | {fmt(b.rps if b else None)} "
                f"| {fmt(b.p50_ms if b else None, 2)} | {fmt(row.ratio, 2)}{spread(row.ratios)} "
                f"| {fmt(s.cpu_us, 0)} | {fmt(b.cpu_us if b else None, 0)} "
                f"| {fmt(row.cpu_ratio, 2)}{spread(row.cpu_ratios)} |"
            )
        out.append("")
    out += render_other_cpu(results.rows)
    if results.round_trips:
        out += render_round_trips(results.round_trips)
    if results.serial:
        out += render_serial(results.serial)
    if results.startup:
        out += [
            "## Start-up (median of the starts, ms)",
            "",
            "launch = `Popen` of `python -m gunicorn …`; **healthz** = first 200 on `/healthz`; "
            "**first PATCH** = first 204 on a PATCH of a log file, after seeding one through "
            "`/_control/state` (the baseline has nothing to seed).",
            "",
            "| config | starts | healthz 200 | first PATCH 204 | all healthz | all first PATCH |",
            "| --- | ---: | ---: | ---: | --- | --- |",
        ]
        for start in results.startup:
            if "status" in start:
                out.append(f"| {start['config']} | | {start['status']} | | | |")
                continue
            out.append(
                f"| {start['config']} | {start['repeats']} | {fmt(start['healthz_ms'], 0)} "
                f"| {fmt(start['first_patch_ms'], 0)} "
                f"| {', '.join(f'{t:.0f}' for t in start['healthz_all_ms'])} "
                f"| {', '.join(f'{t:.0f}' for t in start['first_patch_all_ms'])} |"
            )
        out.append("")
    if results.rss:
        out += [
            "## Memory store: worker RSS (VmRSS)",
            "",
            "| log files | RSS MiB | bytes per log file (ΔRSS ÷ count) |",
            "| ---: | ---: | ---: |",
        ]
        for r in results.rss:
            if r.get("logfiles") is None:
                out.append(f"| – | {r['status']} | |")
                continue
            out.append(
                f"| {r['logfiles']:,} | {fmt(r['rss_bytes'] / 2**20)} | {fmt(r['bytes_per_logfile'], 0)} |"
            )
        out.append("")
    if results.rss64:
        out += render_rss64(results.rss64)
    if results.disk:
        d = results.disk
        out += ["## SQLite store: on disk (database + WAL after a TRUNCATE checkpoint)", ""]
        if d.get("status") != "ok":
            out.append(f"{d.get('status')}")
        else:
            out += [
                "| log files | empty bytes | seeded bytes | bytes per log file (Δ ÷ count) |",
                "| ---: | ---: | ---: | ---: |",
                f"| {d['logfiles']:,} | {d['empty_bytes']:,} | {d['seeded_bytes']:,} "
                f"| {fmt(d['bytes_per_logfile'], 0)} |",
            ]
        out.append("")
    if results.notes:
        out += ["## Notes", "", *(f"- {n}" for n in results.notes), ""]
    return "\n".join(out)


def per_core(cpu_us: float | None) -> str:
    """Requests one core serves at this CPU per request: 1e6 ÷ µs."""
    return fmt(1e6 / cpu_us, 0) if cpu_us else "–"


def render_other_cpu(rows: list[Row]) -> list[str]:
    """The rows whose requests cost other processes CPU too (nginx, the database): each part's."""
    shown = [row for row in rows if row.stub is not None and row.stub.other_cpu_us]
    if not shown:
        return []
    out = [
        "## CPU per request: the app, the database, nginx",
        "",
        "Medians over the rounds, µs of CPU (user and system, from `/proc`) per request answered: "
        "**app** = the gunicorn instances (masters and workers), **database** = the PostgreSQL "
        "postmaster and every process it started, **nginx** = its master and workers. "
        "**per core** = requests one core would serve at that CPU per request (1e6 ÷ µs): the "
        "inputs of a projection to more hosts (bench/README.md), measured on this machine "
        "with all of them sharing its cores.",
        "",
        "| scenario | config | req/s | app CPU µs | database CPU µs | nginx CPU µs "
        "| baseline app CPU µs | baseline nginx CPU µs | req/s per app core | req/s per database core |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in shown:
        s, b = row.stub, row.baseline
        assert s is not None
        other, bare = s.other_cpu_us, (b.other_cpu_us if b else {})
        out.append(
            f"| {row.label} | {row.config} | {fmt(s.rps)} | {fmt(s.cpu_us, 0)} | {fmt(other.get('db'), 0)} "
            f"| {fmt(other.get('nginx'), 0)} | {fmt(b.cpu_us if b else None, 0)} "
            f"| {fmt(bare.get('nginx'), 0)} | {per_core(s.cpu_us)} | {per_core(other.get('db'))} |"
        )
    out.append("")
    return out


def render_round_trips(entries: list[dict[str, Any]]) -> list[str]:
    out = [
        "## PostgreSQL: database round trips per request (in the app)",
        "",
        "Through Flask's test client on the PostgreSQL store (no server, no socket, one client): "
        "every statement the store's psycopg connections execute, counted by kind (one `execute` "
        "is one round trip), after a warm-up; median wall time of each kind, commit included.",
        "",
        "| request | round trips per request | of them the check-and-set "
        "| by kind: per request (median µs) |",
        "| --- | ---: | ---: | --- |",
    ]
    for entry in entries:
        if "status" in entry:
            out.append(f"| {entry.get('label', 'round trips')} | {entry['status']} | | |")
            continue
        kinds = "; ".join(
            f"{k['kind']} {fmt(k['per_request'], 2).rstrip('0').rstrip('.')} ({fmt(k['median_us'], 0)})"
            for k in entry["by_kind"]
        )
        out.append(
            f"| {entry['label']} | {fmt(entry['statements'], 2)} | {fmt(entry['check_and_set'], 2)} "
            f"| {kinds} |"
        )
    out.append("")
    return out


def render_serial(entries: list[dict[str, Any]]) -> list[str]:
    out = [
        "## PostgreSQL: writes that serialise across hosts",
        "",
        "Threads of one process writing through the store as fast as they can, each to rows of "
        "its own, the cases in turn for each round; medians over the rounds (range in brackets). "
        "**shared row** = every such write, from any host, takes one row lock and holds it to its "
        "commit (the event counter; the journal's oldest entries), so they queue behind each "
        "other: more writers then add little. µs per write = 1e6 ÷ writes/s (with many writers "
        "and a shared row: the time the row is held per write); **vs 1 thread** = writes/s over "
        "the same case's with one thread.",
        "",
        "| write | shared row | threads | writes/s (range) | vs 1 thread | µs per write "
        "| database CPU µs per write | client CPU µs per write |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    alone = {e["case"]: e["rate"] for e in entries if e.get("threads") == 1 and "status" not in e}
    for entry in entries:
        if "status" in entry:
            out.append(f"| {entry.get('label', 'serial')} | | | {entry['status']} | | | | |")
            continue
        rates = entry.get("rates") or [entry["rate"]]
        scaling = entry["rate"] / alone[entry["case"]] if alone.get(entry["case"]) else None
        range_ = f" ({min(rates):,.0f}–{max(rates):,.0f})" if len(rates) > 1 else ""
        out.append(
            f"| {entry['label']} | {'yes' if entry['shared'] else 'no'} | {entry['threads']} "
            f"| {fmt(entry['rate'], 0)}{range_} | {fmt(scaling, 2)} "
            f"| {fmt(1e6 / entry['rate'] if entry['rate'] else None, 0)} "
            f"| {fmt(entry['db_cpu_us'], 0)} | {fmt(entry['client_cpu_us'], 0)} |"
        )
    out.append("")
    return out


def render_rss64(entries: list[dict[str, Any]]) -> list[str]:
    out = [
        "## Peak RSS during a 64 MiB upload (1 worker)",
        "",
        "The worker's VmRSS before, its VmHWM (peak, reset just before) during one upload of 64 MiB "
        "streamed from a generator, and VmRSS after; growth = peak - RSS before. The memory store "
        "keeps the object (about 1x); holding it twice would show as 2x.",
        "",
        "| store | framing | RSS before MiB | peak MiB | growth MiB | growth ÷ object "
        "| RSS after MiB | upload s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    mib = 2**20
    for r in entries:
        if "status" in r:
            out.append(f"| {r['config']} | | {r['status']} | | | | | |")
            continue
        peak = fmt(r["peak_bytes"] / mib) + ("" if r["peak_reset"] else " (since start)")
        out.append(
            f"| {r['config']} | {r['framing']} | {fmt(r['rss_before_bytes'] / mib)} | {peak} "
            f"| {fmt(r['growth_bytes'] / mib)} | {r['growth_ratio']:.2f} "
            f"| {fmt(r['rss_after_bytes'] / mib)} | {r['upload_s']:.2f} |"
        )
    out.append("")
    return out


def as_json(results: Results) -> dict[str, Any]:
    rows = [
        {**asdict(row), "id": row.id, "ratio": row.ratio, "cpu_ratio": row.cpu_ratio} for row in results.rows
    ]
    return {**asdict(results), "rows": rows}
