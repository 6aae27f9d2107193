"""A small stdlib client for the control plane, shared by the pytest plugin and the CLI.

`StubClient` is the control plane's calls (here) plus a control panel's and an agent's calls
on /v2 (client_v2.py: configurations, jobs, requests, health, summary settings), one class so
a test holds one client. Import everything from here: `from logfiles.client import StubClient`.
"""

from __future__ import annotations

import functools
import inspect
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlencode

from .client_v2 import V2Calls

# Seconds a wait's HTTP request may take beyond the wait itself, before the client gives up.
WAIT_MARGIN = 5.0
# Requests a failure message lists at most (the newest); the rest are counted.
MAX_LISTED = 50

_T = TypeVar("_T")
_P = ParamSpec("_P")


@dataclass(frozen=True)
class RequestFilter:
    """The journal's filters, in the order the client's calls take them (written once here)."""

    method: str | None = None
    path: str | None = None
    status: int | None = None
    since: str | None = None
    agent_id: str | None = None
    after: int | None = None

    def query(self) -> dict[str, Any]:
        """The filters given, as the journal's query parameters."""
        return {name: value for name, value in vars(self).items() if value is not None}

    def describe(self) -> str:
        """The filters in words: `PATCH /v2/*/logfiles/l1 with status 204 after #12`."""
        words = [
            f"{self.method.upper() if self.method else '(any method)'} {self.path or '(any path)'}",
            f"with status {self.status}" if self.status is not None else "",
            f"with X-Agent-Id {self.agent_id}" if self.agent_id is not None else "",
            f"since {self.since}" if self.since is not None else "",
            f"after #{self.after}" if self.after is not None else "",
        ]
        return " ".join(word for word in words if word)


def describe_request(**filters: Any) -> str:
    """The filters (RequestFilter's fields) in words."""
    return RequestFilter(**filters).describe()


def _taking(
    filters: Callable[_P, RequestFilter],
) -> Callable[[Callable[[StubClient, RequestFilter], _T]], Callable[Concatenate[StubClient, _P], _T]]:
    """Make `answer` a method whose parameters are those of `filters` (RequestFilter: its
    fields, so they are not written again), handing `answer` them as one RequestFilter."""

    def wrap(answer: Callable[[StubClient, RequestFilter], _T]) -> Callable[Concatenate[StubClient, _P], _T]:
        def method(self: StubClient, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
            return answer(self, filters(*args, **kwargs))

        functools.update_wrapper(method, answer)
        del method.__wrapped__  # type: ignore[attr-defined]  # help() shows the fields instead:
        self_ = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        fields = inspect.signature(filters).parameters.values()
        method.__signature__ = inspect.signature(answer).replace(  # type: ignore[attr-defined]
            parameters=[self_, *fields]
        )
        return method

    return wrap


def format_received(received: list[dict[str, Any]], matching: set[int]) -> str:
    """What the stub received, one request a line (`* #12 PATCH /v2/... -> 204`, * for a match)."""
    if not received:
        return "Received: nothing (the journal is empty)."
    shown = received[-MAX_LISTED:]
    count = "1 request" if len(received) == 1 else f"{len(received)} requests"
    lines = [f"Received ({count}, oldest first; * marks those the filters select):"]
    if len(received) > len(shown):
        lines.append(f"    ... {len(received) - len(shown)} earlier not shown")
    for entry in shown:
        mark = "*" if entry.get("seq") in matching else " "
        query = f"?{entry['query']}" if entry.get("query") else ""
        answer = "dropped" if entry.get("status") == 0 else entry.get("status")
        lines.append(
            f"  {mark} #{entry.get('seq')} {entry.get('method')} {entry.get('path')}{query} -> {answer}"
        )
    return "\n".join(lines)


def _seconds(value: float) -> str:
    """Seconds as the server parses them: plain decimals, at most 6 places (`5`, `0.25`)."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _times(count: int | None) -> str:
    """unittest.mock's words for a count: `once`, `twice`, `3 times`; None is `at least once`."""
    if count is None:
        return "at least once"
    return {0: "0 times", 1: "once", 2: "twice"}.get(count, f"{count} times")


@dataclass(frozen=True)
class Answer:
    """What a request got: its status, its headers (`Location`) and its decoded JSON body."""

    status: int
    headers: dict[str, str]
    body: Any


class ControlError(Exception):
    """The control plane answered with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


@dataclass
class StubClient(V2Calls):
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

    def exchange(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        content_type: str = "application/json",
    ) -> Answer:
        """One request; its status, headers and decoded JSON (None for no body). An error
        status raises ControlError with the decoded fault body. `body` is sent as JSON, typed
        `content_type` (a JSON Patch document is application/json-patch+json)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if self.control_token:
            request.add_header("X-Control-Token", self.control_token)
        try:
            with urllib.request.urlopen(
                request, timeout=self.timeout if timeout is None else timeout, context=self.ssl_context()
            ) as response:
                payload = response.read()
                status, answered = response.status, dict(response.headers.items())
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                detail: Any = json.loads(raw)
            except ValueError:
                detail = raw.decode(errors="replace")
            raise ControlError(exc.code, detail) from None
        return Answer(status, answered, json.loads(payload) if payload else None)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """One request (the control plane's, or a /v2 one with `headers`); the decoded JSON
        answer, or None for 204. `timeout`: this call's, instead of the client's."""
        return self.exchange(method, path, body, headers, timeout).body

    def reset(
        self,
        agents: list[dict[str, Any]] | None = None,
        logfiles: list[dict[str, Any]] | None = None,
        generate: list[dict[str, Any]] | None = None,
        events: list[dict[str, Any]] | None = None,
        objects: list[dict[str, Any]] | None = None,
        configurations: list[dict[str, Any]] | None = None,
        jobs: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any] | None:
        """Forget every agent, log file, journal entry and fault; real time again.

        Given anything to seed (as `seed` takes it), it is seeded in the same call, and its
        answer returned: a test's set-up in one round trip.
        """
        document = _state_document(agents, logfiles, generate, events, objects, configurations, jobs)
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
        configurations: list[dict[str, Any]] | None = None,
        jobs: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Add agents, log files, events, objects, configurations and jobs (any state, any
        date); returns their ids and counts. An object is `{"project_id", "name",
        "content_base64"}` (and optionally `container`, `content_type`, `last_modified`): a log
        already uploaded. A configuration is the create page's body with `agent_id` (and
        optionally `id`); a job `{"type": "backup"|"restore"|"cleanup", "agent_id", ...}`
        (docs/control-plane.md has their members).

        `generate` adds log files in bulk: [{"agent_id": ..., "count": N, "state": ...}]. An
        agent given a `password` (and `fingerprint`) can authenticate at once.
        """
        document = _state_document(agents, logfiles, generate, events, objects, configurations, jobs)
        result: dict[str, Any] = self.call("PUT" if replace else "POST", "/_control/state", document)
        return result

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/_control/state")
        return result

    def _select(self, filters: RequestFilter) -> list[dict[str, Any]]:
        query = filters.query()
        suffix = f"?{urlencode(query)}" if query else ""
        result: list[dict[str, Any]] = self.call("GET", f"/_control/requests{suffix}")["requests"]
        return result

    @_taking(RequestFilter)
    def requests(self, filters: RequestFilter) -> list[dict[str, Any]]:
        """The journal of /v2 requests, oldest first, filtered (`agent_id`: their X-Agent-Id;
        `after`: only entries whose `seq` is greater)."""
        return self._select(filters)

    @_taking(RequestFilter)
    def count(self, filters: RequestFilter) -> int:
        """How many journaled requests the filters select."""
        return len(self._select(filters))

    def wait_for_request(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        timeout: float = 5.0,
        after: int | None = None,
        since: str | None = None,
        agent_id: str | None = None,
    ) -> dict[str, Any]:
        """The oldest journaled request the filters select, as soon as there is one (one that
        is there already answers at once; `after=<seq>` for a newer one).

        Raises TimeoutError after `timeout` seconds (0 to 60), listing what was received.
        The server does the waiting: no polling here, and this call's own HTTP timeout is
        WAIT_MARGIN longer than the wait.
        """
        filters = RequestFilter(method, path, status, since, agent_id, after)
        query = {**filters.query(), "timeout": _seconds(timeout)}
        try:
            found: dict[str, Any] = self.call(
                "GET", f"/_control/requests/wait?{urlencode(query)}", timeout=timeout + WAIT_MARGIN
            )
        except ControlError as exc:
            if exc.status != 408:
                raise
            raise TimeoutError(
                f"No request matched {filters.describe()} within {_seconds(timeout)} s.\n"
                + self._received(filters)
            ) from None
        return found

    def assert_requested(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        times: int | None = None,
        since: str | None = None,
        agent_id: str | None = None,
        after: int | None = None,
    ) -> list[dict[str, Any]]:
        """Assert that the filters select `times` journaled requests (None: at least one), and
        return them; else AssertionError with the expectation and every request received,
        as unittest.mock's `assert_called_with` shows its calls."""
        filters = RequestFilter(method, path, status, since, agent_id, after)
        found = self._select(filters)
        if (len(found) >= 1) if times is None else (len(found) == times):
            return found
        raise AssertionError(
            f"Expected {filters.describe()} to have been requested {_times(times)}. "
            f"Requested {_times(len(found))}.\n" + self._received(filters, [entry["seq"] for entry in found])
        )

    def _received(self, filters: RequestFilter, matching: list[int] | None = None) -> str:
        """The journal for a failure message, the selected requests marked; a note if unreadable."""
        try:
            received = self._select(RequestFilter())
            if matching is None:
                matching = [entry["seq"] for entry in self._select(filters)]
        except (ControlError, OSError) as exc:
            return f"(the journal could not be read: {exc})"
        return format_received(received, set(matching))

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


def _state_document(
    agents: list[dict[str, Any]] | None,
    logfiles: list[dict[str, Any]] | None,
    generate: list[dict[str, Any]] | None,
    events: list[dict[str, Any]] | None,
    objects: list[dict[str, Any]] | None,
    configurations: list[dict[str, Any]] | None = None,
    jobs: list[dict[str, Any]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """A state document, as POST /_control/state and POST /_control/reset take it."""
    document = {
        "agents": agents or [],
        "logfiles": logfiles or [],
        "generate": generate or [],
        "events": events or [],
        "objects": objects or [],
    }
    if configurations:
        document["configurations"] = configurations
    if jobs:
        document["jobs"] = jobs
    return document
