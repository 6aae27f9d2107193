"""`logfiles-stub`: serve the stub, or seed, export, reset, read and wait on the journal of a running one."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any
from urllib.parse import quote, urlencode

from .client import ControlError, StubClient

DEFAULT_URL = "http://127.0.0.1:8080"


def serve(args: argparse.Namespace) -> int:
    """Run gunicorn in this process with the settings gunicorn.conf.py would give."""
    from gunicorn.app.base import BaseApplication

    from . import create_app
    from .config import Settings
    from .errors import ConfigError
    from .serving import check_startup, gunicorn_options, report_config_error, tls_options

    env = dict(os.environ)
    for variable, value in (
        ("LOGFILES_STORE", args.store),
        ("LOGFILES_BIND", args.bind),
        ("LOGFILES_WORKERS", args.workers),
        ("LOGFILES_TOKENS_FILE", args.tokens_file),
        ("LOGFILES_CONTROL_TOKEN", args.control_token),
        ("LOGFILES_TLS", "on" if args.tls else None),
        ("LOGFILES_TLS_CA_FILE", args.tls_ca_file),
        ("LOGFILES_TLS_CERT", args.tls_cert),
        ("LOGFILES_TLS_KEY", args.tls_key),
    ):
        if value is not None:
            env[variable] = str(value)
    try:
        settings = Settings.from_env(env)
        options = gunicorn_options(settings)
        check_startup(settings)
        options.update(tls_options(settings))  # as gunicorn.conf.py: once, before the workers
    except ConfigError as exc:
        return report_config_error(exc)

    class Stub(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(settings)

    Stub().run()
    return 0


def table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    """Plain aligned columns, for a terminal."""
    cells = [["-" if row.get(c) is None else str(row[c]) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


class UsageError(Exception):
    """A command's input is wrong (a file, a JSON argument, a number); nothing was sent."""


def read_json_file(path: str) -> Any:
    """The file's JSON; UsageError naming the file if it cannot be read or is not JSON."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not JSON: it is not UTF-8 text") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from None


def json_object(text: str, what: str) -> dict[str, Any]:
    """A command-line argument that must be a JSON object."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{what} must be a JSON object, e.g. '{{\"status\": 503}}'")
    return value


def seconds(text: str | None) -> float:
    """`clock advance`'s argument: a finite number of seconds (negative moves back)."""
    if text is None:
        raise UsageError("clock advance needs SECONDS, e.g. `clock advance 60`")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise UsageError(f"clock advance: {text!r} is not a number of seconds, e.g. 60 or -0.5")
    return value


def run_client(args: argparse.Namespace) -> int:
    if args.ca_file is not None and not os.path.isfile(args.ca_file):
        raise UsageError(f"--ca-file {args.ca_file}: no such file")
    client = StubClient(args.url, args.control_token, ca_file=args.ca_file)
    if args.command == "reset":
        client.reset()
    elif args.command == "export":
        print(json.dumps(client.state(), indent=2))
    elif args.command == "seed":
        document = read_json_file(args.file)
        if not isinstance(document, dict):
            raise UsageError(f"{args.file} is not a state document: it must be a JSON object")
        # The document goes as it is, so the server's validation (one place) names every problem.
        result = client.call("PUT" if args.replace else "POST", "/_control/state", document)
        counts = result["counts"]
        print(
            f"seeded {counts['agents']} agents, {counts['logfiles']} log files, {counts['events']} events, "
            f"{counts['objects']} objects, {counts.get('documents', 0)} documents"
        )
    elif args.command == "requests":
        rows = client.requests(args.method, args.path, args.status, args.since, args.agent_id)
        print(table(rows, ("seq", "time", "method", "path", "status", "fault")))
    elif args.command == "wait":
        found = client.wait_for_request(
            args.method, args.path, args.status, args.timeout, args.after, args.since, args.agent_id
        )
        print(json.dumps(found, indent=2))
    elif args.command == "events":
        print(table(event_rows(client, args), ("id", "time", "event", "agent", "request_id", "mode")))
    elif args.command == "objects":
        rows = [
            o for o in client.state()["objects"] if args.project is None or o["project_id"] == args.project
        ]
        print(table(rows, ("project_id", "container", "name", "bytes", "hash", "last_modified")))
    elif args.command == "fault":
        print(json.dumps(client.fault(**json_object(args.rule, "the rule")), indent=2))
    elif args.command == "faults":
        if args.clear:
            client.clear_faults()
        else:
            print(table(client.faults(), ("id", "method", "path", "action", "status", "matched", "fired")))
    elif args.command == "configurations":
        print(table(configuration_rows(client, args), ("id", "agent", "name", "enabled", "next")))
    elif args.command in JOB_COLUMNS:
        print(table(job_rows(client, args), JOB_COLUMNS[args.command]))
    elif args.command == "health":
        rows = health_rows(client, args)
        print(table(rows, ("system", "group", "online", "node")))
        return 0 if all(row["online"] for row in rows) else 1
    elif args.command == "clock":
        if args.action == "real" and args.value is not None:
            raise UsageError(f"clock real takes no value, got {args.value!r}")
        if args.action == "freeze":
            shown = client.freeze(args.value or "now")
        elif args.action == "advance":
            shown = client.advance(seconds(args.value))
        elif args.action == "real":
            shown = client.real_time()
        else:
            shown = client.clock()
        print(json.dumps(shown))
    return 0


def event_rows(client: StubClient, args: argparse.Namespace) -> list[dict[str, Any]]:
    """A feed as table rows, read as a client reads it (the /v2 route, with a token).

    `sort_dir` is always sent: the project's feed is newest first by default (its page), the
    agent's oldest first, and the table reads one way whichever feed it shows (`asc` unless
    --sort-dir says otherwise)."""
    path = f"/v2/{quote(args.project, safe='')}"
    if args.agent:
        path += f"/agents/{quote(args.agent, safe='')}"
    marker = {"marker": args.marker} if args.marker else {}
    query = urlencode({"limit": args.limit, **marker, "sort_dir": args.sort_dir})
    body = client.call("GET", f"{path}/events?{query}", headers={"X-Auth-Token": args.token})
    return [{**event, "agent": (event.get("agent") or {}).get("id")} for event in body["events"]]


def package_version() -> str:
    """This distribution's version from its installed metadata (setup.cfg), not a copy in code."""
    try:
        return metadata.version("logfiles-stub")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


CLIENT_COMMANDS = (
    ("seed", "add (or --replace) agents, log files, events, objects, configurations, jobs from a state file"),
    ("export", "print the whole state as JSON"),
    ("reset", "forget everything"),
    ("requests", "print the request journal as a table"),
    ("wait", "wait for a request the filters select and print its journal entry (exit 1 on timeout)"),
    ("fault", "add a fault rule given as JSON, e.g. '{\"status\": 503}'"),
    ("faults", "print the fault rules as a table (--clear removes them all)"),
    ("clock", "show the clock; or freeze [TIME], advance SECONDS, real"),
    ("events", "print a project's (or with --agent, an agent's) events feed as a table"),
    ("objects", "print the object store's objects (every project's, or --project's) as a table"),
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="logfiles-stub", description=__doc__)
    top.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {package_version()}",
        help="print the version and exit",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "serve", help="serve the stub with gunicorn", description="serve the stub with gunicorn"
    )
    run.add_argument("--store", help="memory (default) or sqlite:///<path>; sets LOGFILES_STORE")
    run.add_argument("--bind", help="HOST:PORT or [IPv6]:PORT (default 127.0.0.1:8080); sets LOGFILES_BIND")
    run.add_argument(
        "--workers", type=int, help="worker processes (sqlite store only); sets LOGFILES_WORKERS"
    )
    run.add_argument("--tokens-file", help="JSON tokens file (default: open mode); sets LOGFILES_TOKENS_FILE")
    run.add_argument("--control-token", help="require this X-Control-Token; sets LOGFILES_CONTROL_TOKEN")
    run.add_argument(
        "--tls",
        action="store_true",
        help="serve https with a certificate made at start by a throw-away CA; sets LOGFILES_TLS=on",
    )
    run.add_argument("--tls-ca-file", help="where to write that CA's certificate; sets LOGFILES_TLS_CA_FILE")
    run.add_argument(
        "--tls-cert", help="serve https with this certificate chain (PEM); sets LOGFILES_TLS_CERT"
    )
    run.add_argument("--tls-key", help="the key of --tls-cert (PEM, unencrypted); sets LOGFILES_TLS_KEY")
    for name, text in CLIENT_COMMANDS:
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument(
            "--url",
            default=os.environ.get("LOGFILES_STUB_URL", DEFAULT_URL),
            help=f"base URL of the running stub (default: $LOGFILES_STUB_URL or {DEFAULT_URL})",
        )
        sub.add_argument(
            "--control-token",
            default=os.environ.get("LOGFILES_CONTROL_TOKEN"),
            help="X-Control-Token, if the stub requires one (default: $LOGFILES_CONTROL_TOKEN)",
        )
        sub.add_argument(
            "--ca-file",
            default=os.environ.get("LOGFILES_STUB_CA_FILE"),
            help="for an https stub: the CA certificate to trust, e.g. the one it wrote at start "
            "(default: $LOGFILES_STUB_CA_FILE, else the system's CAs)",
        )
        if name == "seed":
            sub.add_argument("file", help='a state document: {"agents": [...], "logfiles": [...]}')
            sub.add_argument("--replace", action="store_true", help="replace everything instead of adding")
        if name == "fault":
            sub.add_argument("rule", help="the rule's fields as a JSON object (README: fault rules)")
        if name == "faults":
            sub.add_argument("--clear", action="store_true", help="remove every fault rule")
        if name == "clock":
            sub.add_argument(
                "action",
                nargs="?",
                choices=("freeze", "advance", "real"),
                help="freeze at TIME (default now), advance by SECONDS, or back to real time; none: show",
            )
            sub.add_argument("value", nargs="?", help="ISO time for freeze, seconds for advance")
        if name in ("requests", "wait"):
            sub.add_argument("--method", help="only this method, e.g. PATCH")
            sub.add_argument("--path", help="only paths matching this glob, e.g. '/v2/*/logfiles/*'")
            sub.add_argument("--status", type=int, help="only this status, e.g. 503 (0: dropped)")
            sub.add_argument("--since", help="only requests at or after this ISO-8601 time")
            sub.add_argument("--agent-id", help="only requests that carried this X-Agent-Id")
        if name == "wait":
            sub.add_argument("--after", type=int, help="only entries numbered (seq) above this one")
            sub.add_argument(
                "--timeout", type=float, default=5.0, help="seconds to wait, 0 to 60 (default 5)"
            )
        if name == "objects":
            sub.add_argument("--project", help="only this project's objects")
        if name == "events":
            sub.add_argument("project", help="the project id")
            sub.add_argument("--agent", help="the agent's feed instead of the project's")
            sub.add_argument(
                "--marker", help="only events after this event id (with --sort-dir desc: before it)"
            )
            sub.add_argument(
                "--sort-dir",
                choices=("asc", "desc"),
                default="asc",
                help="oldest first (asc, the default here, for both feeds) or newest first (desc)",
            )
            sub.add_argument("--limit", type=int, default=100, help="at most this many (1-1000, default 100)")
            sub.add_argument(
                "--token",
                default=os.environ.get("LOGFILES_TOKEN", "cli"),
                help="X-Auth-Token to read the feed with (default: $LOGFILES_TOKEN, or any: open mode)",
            )
    add_configurations_command(commands)
    add_job_commands(commands)
    add_v2_command(
        commands, "health", "print a project's health report as a table (exit 1 if a system is offline)"
    )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    try:
        return run_client(args)
    except UsageError as exc:
        print(f"logfiles-stub: {exc}", file=sys.stderr)
        return 2
    except ControlError as exc:
        print(f"logfiles-stub: the server answered {exc.status}: {json.dumps(exc.body)}", file=sys.stderr)
        return 1
    except TimeoutError as exc:  # `wait` ran out: the message lists what was received
        print(f"logfiles-stub: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"logfiles-stub: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a --url urllib cannot use, an answer that is not JSON
        print(f"logfiles-stub: {args.url}: {exc}", file=sys.stderr)
        return 1


# `configurations`: a project's (or an agent's) backup configurations, read as a panel reads them.


def add_v2_command(commands: Any, name: str, text: str) -> argparse.ArgumentParser:
    """A command that reads through /v2 as a panel does: the client options, the project, a token."""
    sub: argparse.ArgumentParser = commands.add_parser(name, help=text, description=text)
    sub.add_argument(
        "--url",
        default=os.environ.get("LOGFILES_STUB_URL", DEFAULT_URL),
        help=f"base URL of the running stub (default: $LOGFILES_STUB_URL or {DEFAULT_URL})",
    )
    sub.add_argument(
        "--control-token", default=os.environ.get("LOGFILES_CONTROL_TOKEN"), help=argparse.SUPPRESS
    )
    sub.add_argument(
        "--ca-file",
        default=os.environ.get("LOGFILES_STUB_CA_FILE"),
        help="for an https stub: the CA certificate to trust (default: $LOGFILES_STUB_CA_FILE)",
    )
    sub.add_argument("project", help="the project id")
    sub.add_argument(
        "--token",
        default=os.environ.get("LOGFILES_TOKEN", "cli"),
        help="X-Auth-Token to read with (default: $LOGFILES_TOKEN, or any: open mode)",
    )
    return sub


def add_configurations_command(commands: Any) -> None:
    text = "print a project's (or with --agent, an agent's) backup configurations as a table"
    sub = add_v2_command(commands, "configurations", text)
    sub.add_argument("--agent", help="only this agent's configurations")


def configuration_rows(client: StubClient, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every configuration (all pages), one row each: id, agent, name, enabled, next run."""
    rows: list[dict[str, Any]] = []
    marker = None
    while True:
        page = client.configurations(args.token, args.project, args.agent, limit=1000, marker=marker)
        for item in page["configurations"]:
            upcoming = (item.get("backups") or {}).get("next") or {}
            rows.append(
                {
                    "id": item["id"],
                    "agent": item["agent"]["id"],
                    "name": item["name"],
                    "enabled": item["enabled"],
                    "next": upcoming.get("scheduled_time"),
                }
            )
        if not page.get("links") or not page["configurations"]:
            return rows
        marker = page["configurations"][-1]["id"]


# `backups`, `restores`, `cleanups`: a project's jobs, read as a panel reads them; `health`.

JOB_COLUMNS: dict[str, tuple[str, ...]] = {
    "backups": ("id", "agent", "configuration", "state", "started_time", "ended_time", "errors"),
    "restores": ("id", "backup", "destination_agent", "state", "started_time", "ended_time", "errors"),
    "cleanups": ("id", "agent", "state", "started_time", "ended_time", "errors"),
}
# At most this many rows: a table for a person, not an export (`export` has every job).
MAX_JOB_ROWS = 10_000


def add_job_commands(commands: Any) -> None:
    for name in JOB_COLUMNS:
        sub = add_v2_command(commands, name, f"print a project's {name} as a table, newest first")
        sub.add_argument(
            "--sort-dir",
            choices=("asc", "desc"),
            default="desc",
            help="newest first (desc, the default, the list page's) or oldest first (asc)",
        )
        if name == "backups":
            sub.add_argument(
                "--restorable", action="store_true", help="only completed backups a restore may use"
            )
            sub.add_argument("--configuration", help="with --restorable: only this configuration's")


def _job_row(item: dict[str, Any]) -> dict[str, Any]:
    """A job as one row: each `{id, links}` reference as its id, `errors` as its count."""
    row = {
        name: value.get("id") if isinstance(value, dict) and "links" in value else value
        for name, value in item.items()
    }
    row["errors"] = (item.get("errors") or {}).get("count")
    return row


def job_rows(client: StubClient, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every job of the kind (all pages, up to MAX_JOB_ROWS), one row each."""
    kind = args.command[:-1]
    restorable = True if getattr(args, "restorable", False) else None
    configuration = getattr(args, "configuration", None)
    if configuration is not None and restorable is None:
        raise UsageError("--configuration filters restorable backups only: give --restorable too")
    rows: list[dict[str, Any]] = []
    marker = None
    while len(rows) < MAX_JOB_ROWS:
        page = client.jobs(
            args.token, args.project, kind, 1000, marker, args.sort_dir, restorable, configuration
        )
        items = page[args.command]
        rows.extend(_job_row(item) for item in items)
        if not items or not any(link.get("rel") == "next" for link in page.get("links") or []):
            break
        marker = items[-1]["id"]
    return rows[:MAX_JOB_ROWS]


def health_rows(client: StubClient, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The health report as one row per dependent system."""
    report = client.health(args.token, args.project)
    return [
        {"system": name, "group": group, "online": entry.get("online"), "node": entry.get("node")}
        for group, systems in report.items()
        for name, entry in systems.items()
    ]


if __name__ == "__main__":
    sys.exit(main())
