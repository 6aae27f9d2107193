#!/usr/bin/env python3
"""A reference backup agent: the whole loop of a real agent, in the standard library only.

1. Authenticate as a user through Identity v2.0 (`POST /v2.0/tokens`) and read the service
   catalog for the Cloud Backup endpoint.
2. Register the agent (`POST .../agents`): the 201 shows its id and password, once.
3. Authenticate as the agent (`POST .../agents/tokens`): from now on it uses its own token.
4. Poll its events feed with `marker` until a `logfile_upload` event (a control panel asked
   for its log), gzip the log and upload it to the event's link, `ETag` included.
5. PATCH the log file `started`, then `completed`.
Meanwhile, on a `configuration_changed` event (a panel created, changed or deleted one of its
backup configurations), read its whole configuration (`GET .../agents/{id}/configuration`),
as a real agent does before it schedules its backups.

It prints one line per milestone on standard output, so a test (or a person) can follow it:
`registered <agent id>`, `configuration <log level> <ids of its configurations, comma-separated,
or ->`, `uploading <log file id>`, `completed <log file id> <md5 of the gzip>`.
Against the stub: `python examples/reference_agent.py --url https://127.0.0.1:8443 --cafile
<CA file> --username alice --password secret --log /var/log/syslog`. Exit status 0 when one
log was delivered, 1 on an HTTP error (its status and body printed on standard error),
2 when the feed showed no work before `--timeout`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import ssl
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

USER_AGENT = "logfiles-reference-agent/1.0"
FINGERPRINT = "reference-agent-fingerprint"


class HttpError(Exception):
    def __init__(self, method: str, url: str, status: int, body: bytes) -> None:
        super().__init__(f"{method} {url} -> {status}: {body[:500].decode('utf-8', 'replace')}")
        self.status = status


@dataclass
class Client:
    """Just enough HTTP: JSON in and out, a token, a trusted CA for HTTPS."""

    context: ssl.SSLContext | None
    token: str | None = None
    agent_id: str | None = None

    def call(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        data: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        sent = dict(headers or {})
        sent["User-Agent"] = USER_AGENT
        if self.token:
            sent["X-Auth-Token"] = self.token
        if self.agent_id:
            sent["X-Agent-Id"] = self.agent_id
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            sent["Content-Type"] = content_type
        request = urllib.request.Request(url, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            raise HttpError(method, url, error.code, error.read()) from None

    def json(self, method: str, url: str, body: Any = None, **kwargs: Any) -> Any:
        _, _, data = self.call(method, url, body, **kwargs)
        return json.loads(data) if data else None


def registration(name: str) -> dict[str, Any]:
    """The guide's registration body, for this host."""
    return {
        "name": name,
        "version": "1.0.0",
        "host": {
            "flavor": "nova",
            "region": "DFW",
            "machine": {"id": "00000000-0000-4000-8000-000000000001"},
            "os": {"name": "Debian", "version": "12", "architecture": "64-bit"},
            "fingerprint": FINGERPRINT,
            "addresses": [{"version": 4, "addr": "127.0.0.1"}],
        },
        "rsa_public_key": {"modulus": "C0FFEE", "exponent": 10001},
        "vault": {"use_internal": False},
    }


def say(line: str) -> None:
    print(line, flush=True)


def backup_endpoint(access: dict[str, Any]) -> str:
    """The `cloudBackup` endpoint's publicURL from an Identity v2.0 catalog."""
    for service in access["serviceCatalog"]:
        if service.get("name") == "cloudBackup" or service.get("type") == "rax:backup":
            return str(service["endpoints"][0]["publicURL"]).rstrip("/")
    raise SystemExit("the service catalog has no cloudBackup endpoint")


def run(args: argparse.Namespace) -> int:
    context = None
    if urlsplit(args.url).scheme == "https":
        context = ssl.create_default_context(cafile=args.cafile)
    user = Client(context)
    # 1. Identity: the user's token and where Cloud Backup is.
    access = user.json(
        "POST",
        f"{args.url.rstrip('/')}/v2.0/tokens",
        {"auth": {"passwordCredentials": {"username": args.username, "password": args.password}}},
    )["access"]
    user.token = access["token"]["id"]
    backup = backup_endpoint(access)
    # 2. Register.
    agent = user.json("POST", f"{backup}/agents", registration(args.name))
    agent_id, password = agent["id"], agent["password"]
    say(f"registered {agent_id}")
    # 3. The agent's own token.
    me = Client(context, agent_id=agent_id)
    credentials = {"id": agent_id, "password": password, "host": {"fingerprint": FINGERPRINT}}
    me.token = me.json("POST", f"{backup}/agents/tokens", credentials)["token"]["id"]
    # 4. Poll the feed for work, from the newest event seen.
    marker: str | None = None
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        query = f"?marker={marker}" if marker else ""
        feed = me.json("GET", f"{backup}/agents/{agent_id}/events{query}")
        for event in feed["events"]:
            marker = event["id"]
            if event["event"] == "configuration_changed":
                configure(me, backup, agent_id)
            elif event["event"] == "logfile_upload":
                deliver(me, backup, agent_id, event, args.log)
                return 0
        time.sleep(args.poll)
    print(f"no logfile_upload event within {args.timeout} s", file=sys.stderr)
    return 2


def configure(me: Client, backup: str, agent_id: str) -> dict[str, Any]:
    """Read the agent's whole configuration: its settings, its vault and its configurations."""
    document: dict[str, Any] = me.json("GET", f"{backup}/agents/{agent_id}/configuration")
    level = document["system_preferences"]["logging"]["level"]
    ids = ",".join(configuration["id"] for configuration in document["configurations"]) or "-"
    say(f"configuration {level} {ids}")
    return document


def deliver(me: Client, backup: str, agent_id: str, event: dict[str, Any], log_path: str) -> None:
    """Upload the log where the event says, reporting the log file's state around it."""
    logfile_id = event["request_id"]
    upload_url = next(link["href"] for link in event["links"] if link["rel"] == "logfile")
    logfile_url = f"{backup}/agents/{agent_id}/logfiles/{logfile_id}"
    say(f"uploading {logfile_id}")
    patch = "application/json-patch+json"
    started = [{"op": "replace", "path": "/state", "value": "started"}]
    me.call("PATCH", logfile_url, data=json.dumps(started).encode(), content_type=patch)
    with open(log_path, "rb") as handle:
        packed = gzip.compress(handle.read())
    digest = hashlib.md5(packed, usedforsecurity=False).hexdigest()
    me.call("PUT", upload_url, data=packed, content_type="application/gzip", headers={"ETag": digest})
    completed = [{"op": "replace", "path": "/state", "value": "completed"}]
    me.call("PATCH", logfile_url, data=json.dumps(completed).encode(), content_type=patch)
    say(f"completed {logfile_id} {digest}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the service's root, e.g. https://127.0.0.1:8443")
    parser.add_argument("--cafile", help="CA certificate to trust (the stub's LOGFILES_TLS_CA_FILE)")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--name", default="reference agent", help="the agent's name when it registers")
    parser.add_argument("--log", required=True, help="the file to upload, gzipped, when asked")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for work")
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between polls of the feed")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except HttpError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
