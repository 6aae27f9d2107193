"""A small stdlib client for the control plane, shared by the pytest plugin and the CLI."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode


class ControlError(Exception):
    """The control plane answered with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


@dataclass
class StubClient:
    """Drive a running logfiles-stub: `url` is its base URL, e.g. http://127.0.0.1:8080.

    For an https stub, `ca_file` is the CA certificate to trust (the one the stub wrote at
    start); without it the system's CAs are.
    """

    url: str
    control_token: str | None = None
    timeout: float = 10.0
    ca_file: str | None = None
    # What the pytest plugin's logfiles_seed marker seeded with the reset (ids and counts).
    seeded: dict[str, Any] | None = field(default=None, compare=False)

    def ssl_context(self) -> ssl.SSLContext | None:
        """The client context for an https stub: trusting `ca_file`; None: urllib's default."""
        return None if self.ca_file is None else ssl.create_default_context(cafile=self.ca_file)

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """One request (the control plane's, or a /v2 one with `headers`); the decoded JSON
        answer, or None for 204."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.control_token:
            request.add_header("X-Control-Token", self.control_token)
        try:
            with urllib.request.urlopen(
                request, timeout=self.timeout, context=self.ssl_context()
            ) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                detail: Any = json.loads(raw)
            except ValueError:
                detail = raw.decode(errors="replace")
            raise ControlError(exc.code, detail) from None
        return json.loads(payload) if payload else None

    def reset(
        self,
        agents: list[dict[str, Any]] | None = None,
        logfiles: list[dict[str, Any]] | None = None,
        generate: list[dict[str, Any]] | None = None,
        events: list[dict[str, Any]] | None = None,
        objects: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any] | None:
        """Forget every agent, log file, journal entry and fault; real time again.

        Given anything to seed (as `seed` takes it), it is seeded in the same call, and its
        answer returned: a test's set-up in one round trip.
        """
        document = {
            "agents": agents or [],
            "logfiles": logfiles or [],
            "generate": generate or [],
            "events": events or [],
            "objects": objects or [],
        }
        if not any(document.values()):
            self.call("POST", "/_control/reset")
            return None
        result: dict[str, Any] = self.call("POST", "/_control/reset", document)
        return result

    def seed(
        self,
        agents: list[dict[str, Any]] | None = None,
        logfiles: list[dict[str, Any]] | None = None,
        replace: bool = False,
        generate: list[dict[str, Any]] | None = None,
        events: list[dict[str, Any]] | None = None,
        objects: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Add agents, log files, events and objects (any state, any date); returns their ids
        and counts. An object is `{"project_id", "name", "content_base64"}` (and optionally
        `container`, `content_type`, `last_modified`): a log already uploaded.

        `generate` adds log files in bulk: [{"agent_id": ..., "count": N, "state": ...}]. An
        agent given a `password` (and `fingerprint`) can authenticate at once.
        """
        document = {
            "agents": agents or [],
            "logfiles": logfiles or [],
            "generate": generate or [],
            "events": events or [],
            "objects": objects or [],
        }
        result: dict[str, Any] = self.call("PUT" if replace else "POST", "/_control/state", document)
        return result

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/_control/state")
        return result

    def requests(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        since: str | None = None,
        agent_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """The journal of /v2 requests, oldest first, filtered (`agent_id`: their X-Agent-Id)."""
        filters = (
            ("method", method),
            ("path", path),
            ("status", status),
            ("since", since),
            ("agent_id", agent_id),
        )
        query = {k: v for k, v in filters if v is not None}
        suffix = f"?{urlencode(query)}" if query else ""
        result: list[dict[str, Any]] = self.call("GET", f"/_control/requests{suffix}")["requests"]
        return result

    def clear_requests(self) -> None:
        self.call("DELETE", "/_control/requests")

    def fault(self, **rule: Any) -> dict[str, Any]:
        """Add a fault rule (see the README for its fields); returns it with its id."""
        result: dict[str, Any] = self.call("POST", "/_control/faults", rule)
        return result

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", "/_control/faults")["faults"]
        return result

    def clear_faults(self) -> None:
        self.call("DELETE", "/_control/faults")

    def clock(self) -> dict[str, Any]:
        """The service's clock: `now`, whether it is `frozen`, and `offset_seconds` from real time."""
        result: dict[str, Any] = self.call("GET", "/_control/clock")
        return result

    def freeze(self, at: str = "now") -> dict[str, Any]:
        """Stop the clock at an ISO-8601 time (or the current one)."""
        result: dict[str, Any] = self.call("POST", "/_control/clock", {"freeze": at})
        return result

    def advance(self, seconds: float) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", "/_control/clock", {"advance": seconds})
        return result

    def real_time(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", "/_control/clock", {"real": True})
        return result

    def identity_token(
        self,
        username: str,
        password: str | None = None,
        api_key: str | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        """Identity v2.0 (`POST /v2.0/tokens`) with a password or an API key, for `tenant` (its
        tenantId) if given: the answer's `access`, whose `token.id` is a /v2 X-Auth-Token and
        whose `serviceCatalog` has the endpoints. Bad credentials raise ControlError (401)."""
        if (password is None) == (api_key is None):
            raise ValueError("identity_token needs a password or an api_key, not both")
        auth: dict[str, Any]
        if password is not None:
            auth = {"passwordCredentials": {"username": username, "password": password}}
        else:
            auth = {"RAX-KSKEY:apiKeyCredentials": {"username": username, "apiKey": api_key}}
        if tenant is not None:
            auth["tenantId"] = tenant
        result: dict[str, Any] = self.call("POST", "/v2.0/tokens", {"auth": auth})["access"]
        return result
