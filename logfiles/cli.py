"""`logfiles-stub`: serve the stub, or seed, export, reset and read the journal of a running one."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from .client import ControlError, StubClient

DEFAULT_URL = "http://127.0.0.1:8080"


def serve(args: argparse.Namespace) -> int:
    """Run gunicorn in this process with the settings gunicorn.conf.py would give."""
    from gunicorn.app.base import BaseApplication

    from . import create_app
    from .config import Settings
    from .errors import ConfigError
    from .serving import check_startup, gunicorn_options, report_config_error

    env = dict(os.environ)
    for variable, value in (
        ("LOGFILES_STORE", args.store),
        ("LOGFILES_BIND", args.bind),
        ("LOGFILES_WORKERS", args.workers),
        ("LOGFILES_TOKENS_FILE", args.tokens_file),
    ):
        if value is not None:
            env[variable] = str(value)
    try:
        settings = Settings.from_env(env)
        options = gunicorn_options(settings)
        check_startup(settings)
    except ConfigError as exc:
        return report_config_error(exc)

    class Stub(BaseApplication):
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


def run_client(args: argparse.Namespace) -> int:
    client = StubClient(args.url, args.control_token)
    if args.command == "reset":
        client.reset()
    elif args.command == "export":
        print(json.dumps(client.state(), indent=2))
    elif args.command == "seed":
        with open(args.file, encoding="utf-8") as handle:
            document = json.load(handle)
        result = client.seed(replace=args.replace, **document)
        counts = result["counts"]
        print(f"seeded {counts['agents']} agents, {counts['logfiles']} log files")
    elif args.command == "requests":
        rows = client.requests(args.method, args.path, args.status, args.since)
        print(table(rows, ("seq", "time", "method", "path", "status", "fault")))
    elif args.command == "fault":
        print(json.dumps(client.fault(**json.loads(args.rule)), indent=2))
    elif args.command == "faults":
        if args.clear:
            client.clear_faults()
        else:
            print(table(client.faults(), ("id", "method", "path", "action", "status", "matched", "fired")))
    elif args.command == "clock":
        if args.action == "freeze":
            shown = client.freeze(args.value or "now")
        elif args.action == "advance":
            shown = client.advance(float(args.value or 0))
        else:
            shown = client.real_time()
        print(json.dumps(shown))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="logfiles-stub", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve the stub with gunicorn")
    run.add_argument("--store", help="memory (default) or sqlite:///<path>")
    run.add_argument("--bind", help="HOST:PORT (default 127.0.0.1:8080)")
    run.add_argument("--workers", type=int, help="worker processes (sqlite store only)")
    run.add_argument("--tokens-file", help="JSON tokens file (default: open mode)")
    for name, text in (
        ("seed", "add (or --replace) agents and log files from a JSON state file"),
        ("export", "print the whole state as JSON"),
        ("reset", "forget everything"),
        ("requests", "print the request journal as a table"),
        ("fault", "add a fault rule given as JSON, e.g. '{\"status\": 503}'"),
        ("faults", "print the fault rules as a table (--clear removes them all)"),
        ("clock", "freeze [TIME], advance SECONDS, or real"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--url", default=os.environ.get("LOGFILES_STUB_URL", DEFAULT_URL))
        sub.add_argument("--control-token", default=os.environ.get("LOGFILES_CONTROL_TOKEN"))
        if name == "seed":
            sub.add_argument("file")
            sub.add_argument("--replace", action="store_true", help="replace instead of add")
        if name == "fault":
            sub.add_argument("rule", help="the rule's fields as a JSON object (README: fault rules)")
        if name == "faults":
            sub.add_argument("--clear", action="store_true")
        if name == "clock":
            sub.add_argument("action", choices=("freeze", "advance", "real"))
            sub.add_argument("value", nargs="?", help="ISO time for freeze, seconds for advance")
        if name == "requests":
            sub.add_argument("--method")
            sub.add_argument("--path", help="glob, e.g. '/v2/*/logfiles/*'")
            sub.add_argument("--status", type=int)
            sub.add_argument("--since", help="ISO-8601 time")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    try:
        return run_client(args)
    except ControlError as exc:
        print(f"logfiles-stub: the server answered {exc.status}: {json.dumps(exc.body)}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a rule or state file that is not JSON, a bad number
        print(f"logfiles-stub: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"logfiles-stub: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
