"""The guide's own examples, sent to the app: each page's example request as written, ids
substituted, gets the page's example status, Content-Type, Location and JSON shape.

The operations come from tests/data/guide_operations.json (tools/guide_operations.py made it
from the guide's pages; see docs/development.md). Nothing here is written from the
implementation: the requests and the expected answers are the pages'. What the test adds:
- ids: the example's ids (agent, its password, log file, configuration, project) are replaced
  by those of resources the test created first, through the API (an agent registered from
  tests/data/agent-register-example.json, a log file it requested, a configuration created
  from the create page's own example body);
- `Host` is left out (the test client's own host makes the absolute URLs);
- for a 404 example, the id of the last resource in the path is a new random UUID (a missing
  resource under existing parents);
- a configuration is created first only for the operations about configurations, so that the
  feeds' examples still run where configurations are not served.
The answer: the example's status; a fault body (and the page's message, which SPEC says wins)
for an error; `application/json` whenever the example shows a body, and no body where it shows
none on a 202 or 204 (a `Content-Type` a page writes on a 204 is not asked: no content has no
type); a `Location` where the page shows one, absolute and leading (GET, 200) to the resource
the body shows; and the body's shape (tests/guide_shape.py). Only the 2xx and 404 examples run:
the pages' other error examples need a state they do not give (a vault holding backups).

The tables below say what is expected to fail today; `strict=True`, so an operation that starts
to pass fails the run until its line is removed:
- NOT_SERVED: issue 22's operations not served yet (none now);
- MISMATCHES: served operations where the page and the service disagree (the exact mismatch);
- ISSUE_23: the operations of the next issue (only `test_every_documented_route_answers` sends
  them: their examples need backups, restores and requests to exist first).
ALLOWED lists the differences of shape that are not failures, each with the SPEC rule or the
page's erratum that excuses it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from werkzeug.test import TestResponse

from tests.conftest import PROJECT, REGISTRATION, Api, assert_fault
from tests.guide_shape import Allowed, differences

DATA = Path(__file__).resolve().parents[1] / "data"
OPERATIONS: list[dict[str, Any]] = json.loads((DATA / "guide_operations.json").read_text())["operations"]
Key = tuple[str, str]  # (method, path template)
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
BY_KEY: dict[Key, dict[str, Any]] = {(op["method"], op["path"]): op for op in OPERATIONS}

P = "/v2/{project_id}"
AGENT = f"{P}/agents/{{agent_id}}"
CONFIGURATION = f"{P}/configurations/{{configuration_id}}"

# Issue 22's scope: these sections of the API reference, bar the requests that come with issue 23.
SCOPE_SECTIONS = {
    "bu2-agent-operations",
    "bu2-config-operations",
    "bu2-activity-operations",
    "bu2-event-operations",
    "bu2-healthCheck-operations",  # issue 23's, served
    "bu2-summarySettings-operations",
}
# Issue 23's jobs (backups, restores, cleanups): their examples run against jobs made first.
JOB_SECTIONS = {"bu2-backup-operations", "bu2-restore-operations", "bu2-cleanup-operations"}
LATER_IN_SECTION = ("/browse-requests", "/vault-encryption-requests", "/vault-password-verification-requests")

NOT_SERVED_REASON = "issue 22: not served yet"
NOT_SERVED: set[Key] = set()  # every issue-22 operation is served

# (method, path, example status) -> the exact mismatch between the page and today's service.
MISMATCHES: dict[tuple[str, str, int], str] = {}

ISSUE_23_REASON = "issue 23: not served yet"
ISSUE_23: set[Key] = set()

# Differences of shape that are not failures: (method, path or "*" for every operation, allowance).
# Values are never compared, so the errata in the examples' values need no line here: the apiary
# hosts and the links without the project id, the `Location`s with singular names (the answer's
# own `Location` is checked against the route table instead).
FAULT_ERRORS = Allowed(
    "errors",
    "SPEC 'Common to every /v2 route': the fault body is the page's message and `errors`",
    problem="not in the example",
)
ALLOWED: list[tuple[str, str, Allowed]] = [
    (
        "POST",
        f"{P}/configurations",
        Allowed(
            "next",
            "erratum: the create page shows `next` at the top level; the details, list and agent "
            "pages show it as `backups.next`",
        ),
    ),
    (
        "POST",
        f"{P}/configurations",
        Allowed("backups.next", "erratum: see `next` (the create page's top-level `next`)", problem="not in"),
    ),
    (
        "GET",
        f"{P}/health",
        Allowed(
            "event",
            "the page's response table lists `storage` and `transport` only and its 503 example has "
            "no `event` (RSE): the stub keeps its events in its store, reported as storage.cassandra",
            problem="missing",
        ),
    ),
    (
        "GET",
        f"{P}/health",
        Allowed(
            "storage.swift",
            "SPEC 'The whole service': health reports the object store too (beside the store)",
            problem="not in",
        ),
    ),
]


def allowed_for(op: dict[str, Any], status: int) -> list[Allowed]:
    found = [a for m, p, a in ALLOWED if p == "*" or (m, p) == (op["method"], op["path"])]
    return [*found, FAULT_ERRORS] if status >= 400 else found


def in_scope(op: dict[str, Any]) -> bool:
    return (
        op["section"] in SCOPE_SECTIONS | JOB_SECTIONS
        and not any(part in op["path"] for part in LATER_IN_SECTION)
        and not op["path"].endswith("/vault")
    )


def key_name(key: Key) -> str:
    return f"{key[0]} {key[1]}"


# The ids of the guide's examples, read from its pages, so that they are replaced wherever they show.
def _example_body(method: str, path: str) -> dict[str, Any]:
    body: dict[str, Any] = BY_KEY[(method, path)]["responses"][0]["body"]
    return body


EXAMPLE_AGENT = _example_body("POST", f"{P}/agents")
EXAMPLE_LOGFILE_ID = _example_body("POST", f"{AGENT}/logfiles")["id"]
EXAMPLE_CONFIGURATION_ID = _example_body("POST", f"{P}/configurations")["id"]
# The health details example names `dependentSystemName`, a placeholder: the system its
# answer's link names (storage/cassandra) is asked instead (SPEC contract notes, health).
DEPENDENT_SYSTEM = "cassandra"
EXAMPLE_PROJECT_IDS = ("110011", EXAMPLE_AGENT["project_id"])  # URLs say 110011, bodies 123456
# Each job kind's example id, and the agents they name (a restore's destination is another id).
EXAMPLE_JOB_IDS = {
    kind: _example_body("POST", f"{P}/{kind}s")["id"] for kind in ("backup", "restore", "cleanup")
}
EXAMPLE_DESTINATION_ID = _example_body("POST", f"{P}/restores")["destination_agent"]["id"]


@dataclass
class World:
    """What a test created first, and how the example's ids map onto it."""

    api: Api
    agent: dict[str, Any]
    logfile: dict[str, Any]
    configuration: dict[str, Any] | None = None
    ids: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, str] = field(default_factory=dict)  # `backup_id`... -> the id of the job made

    def placeholders(self) -> dict[str, str]:
        values = {"project_id": PROJECT, "agent_id": self.agent["id"], "logfile_id": self.logfile["id"]}
        values.update(self.jobs)
        values["dependent_system"] = DEPENDENT_SYSTEM
        if self.configuration is not None:
            values["configuration_id"] = self.configuration["id"]
        return values


def needs_configuration(op: dict[str, Any]) -> bool:
    """Whether the operation is about configurations (then one exists first, so that a list or
    the agent's configuration document shows one) or its example names one."""
    return "configuration" in op["path"] or EXAMPLE_CONFIGURATION_ID in json.dumps(op["requests"])


def create_configuration(api: Api, agent_id: str) -> dict[str, Any]:
    """A configuration from the create page's own example request, for our agent."""
    (request,) = BY_KEY[("POST", f"{P}/configurations")]["requests"]
    body = dict(request["body"], agent_id=agent_id)
    response = api.client.post(
        api.url("configurations"),
        data=json.dumps(body),
        headers=api.headers(**{"Content-Type": "application/json"}),
    )
    assert response.status_code == 201, (response.status_code, response.get_data(as_text=True))
    created: dict[str, Any] = response.get_json()
    return created


def make_world(api: Api, op: dict[str, Any]) -> World:
    agent = api.registered()
    response = api.request_logfile(agent["id"])
    assert response.status_code == 202, response.get_json()
    world = World(api, agent, response.get_json())
    world.ids = {
        EXAMPLE_AGENT["id"]: agent["id"],
        EXAMPLE_AGENT["password"]: agent["password"],
        EXAMPLE_LOGFILE_ID: world.logfile["id"],
        **dict.fromkeys(EXAMPLE_PROJECT_IDS, PROJECT),
    }
    if needs_configuration(op):
        world.configuration = create_configuration(api, agent["id"])
        world.ids[EXAMPLE_CONFIGURATION_ID] = world.configuration["id"]
    if op["path"].endswith("/activities"):
        seed_marked_jobs(world, op)
    if op["section"] in JOB_SECTIONS:
        make_jobs(world, op)
    return world


def _created(api: Api, collection: str, body: dict[str, Any]) -> str:
    response = api.client.post(api.url(collection), json=body, headers=api.headers())
    assert response.status_code == 201, (response.status_code, response.get_data(as_text=True))
    job_id: str = response.get_json()["id"]
    return job_id


def make_jobs(world: World, op: dict[str, Any]) -> None:
    """A backup (completed, so that a restore may start from it, unless the example PATCHes it),
    and for the restores' and cleanups' pages one of those (not final, for their PATCH examples);
    the examples' job and agent ids name them."""
    api, agent_id = world.api, world.agent["id"]
    if world.configuration is None:
        world.configuration = create_configuration(api, agent_id)
        world.ids[EXAMPLE_CONFIGURATION_ID] = world.configuration["id"]
    backup_id = _created(
        api, "backups", {"configuration_id": world.configuration["id"], "state": "start_requested"}
    )
    if (op["method"], op["path"]) != ("PATCH", f"{P}/backups/{{backup_id}}"):
        done = api.client.patch(
            api.url("backups", backup_id),
            json=[{"op": "replace", "path": "/state", "value": "completed"}],
            headers=api.headers(**{"Content-Type": "application/json-patch+json"}),
        )
        assert done.status_code == 204, done.get_data(as_text=True)
    world.jobs["backup_id"] = backup_id
    if op["section"] == "bu2-restore-operations":
        world.jobs["restore_id"] = _created(
            api,
            "restores",
            {
                "backup_id": backup_id,
                "destination_agent_id": agent_id,
                "destination_path": None,
                "encrypted_password_hex": "00",
                "inclusions": [],
                "exclusions": [],
            },
        )
    if op["section"] == "bu2-cleanup-operations":
        world.jobs["cleanup_id"] = _created(
            api, "cleanups", {"agent_id": agent_id, "state": "start_requested"}
        )
    for kind, example_id in EXAMPLE_JOB_IDS.items():
        if f"{kind}_id" in world.jobs:
            world.ids[example_id] = world.jobs[f"{kind}_id"]
    world.ids[EXAMPLE_DESTINATION_ID] = agent_id


def seed_marked_jobs(world: World, op: dict[str, Any]) -> None:
    """The activities examples page after a job (`marker`): seed it, a backup of our agent under
    the example's own id (SPEC, ours: an unknown marker is a 400, as on every list)."""
    markers = {
        value for request in op["requests"] for name, value in parse_qsl(request["query"]) if name == "marker"
    }
    configuration_id = None if world.configuration is None else world.configuration["id"]
    jobs = [
        {"type": "backup", "agent_id": world.agent["id"], "id": marker, "configuration_id": configuration_id}
        for marker in sorted(markers)
    ]
    for job in jobs:
        if job["configuration_id"] is None:
            del job["configuration_id"]
    seeded = world.api.client.post("/_control/state", json={"jobs": jobs})
    assert seeded.status_code == 200, seeded.get_data(as_text=True)


def substitute(value: Any, ids: dict[str, str]) -> Any:
    """The value with every example id (a whole string) replaced by the test's."""
    if isinstance(value, dict):
        return {k: substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, ids) for v in value]
    if isinstance(value, str):
        return ids.get(value, value)
    return value


# Query parameters whose example value is not the id of what the test made under that value.
QUERY_VALUES = {"host_machine_id": str(REGISTRATION["host"]["machine"]["id"])}


@dataclass(frozen=True)
class Outgoing:
    method: str
    url: str
    headers: list[tuple[str, str]]
    data: str | None


def build(
    op: dict[str, Any], request: dict[str, Any], values: dict[str, str], ids: dict[str, str]
) -> Outgoing:
    """The page's request as written: the path from the route block with `values`, the query,
    headers (bar `Host`) and body with the example's ids replaced by `ids`."""
    path = op["path"].format(**values)
    query = [
        (name, QUERY_VALUES.get(name) or substitute(value, ids))
        for name, value in parse_qsl(request["query"], keep_blank_values=True)
    ]
    url = path + (f"?{urlencode(query)}" if query else "")
    headers = [(name, substitute(value, ids)) for name, value in request["headers"] if name.lower() != "host"]
    data = None if request["body"] is None else json.dumps(substitute(request["body"], ids))
    return Outgoing(request["method"], url, headers, data)


def send(
    world: World, op: dict[str, Any], request: dict[str, Any], missing: str | None = None
) -> TestResponse:
    """The page's request for `world` (`missing`: that placeholder a new UUID)."""
    values = world.placeholders()
    if missing is not None:
        values[missing] = str(uuid.uuid4())
    out = build(op, request, values, world.ids)
    return world.api.client.open(out.url, method=out.method, headers=out.headers, data=out.data)


def header(headers: list[list[str]], name: str) -> str | None:
    return next((value for n, value in headers if n.lower() == name.lower()), None)


def example_cases() -> Iterator[Any]:
    for op in OPERATIONS:
        if not in_scope(op):
            continue
        key = (op["method"], op["path"])
        for response in op["responses"]:
            status = response["status"]
            if not (200 <= status < 300 or status == 404):
                continue  # other errors need a state the example does not give (a full vault)
            marks = []
            if key in NOT_SERVED:
                marks.append(pytest.mark.xfail(strict=True, reason=NOT_SERVED_REASON))
            elif (*key, status) in MISMATCHES:
                marks.append(pytest.mark.xfail(strict=True, reason=MISMATCHES[(*key, status)]))
            yield pytest.param(op, response, id=f"{key_name(key)} {status}", marks=marks)


@pytest.mark.parametrize(("op", "example"), list(example_cases()))
def test_the_page_example_gets_the_page_answer(api: Api, op: dict[str, Any], example: dict[str, Any]) -> None:
    world = make_world(api, op)
    (request,) = op["requests"]
    status = example["status"]
    missing = op["path"].rsplit("{", 1)[1].rstrip("}") if status == 404 else None
    response = send(world, op, request, missing)
    assert response.status_code == status, response.get_data(as_text=True)
    if header(example["headers"], "Location") is not None:
        assert_location(world.api, response)
    expected_body = example["body"]
    if status >= 400:
        fault = assert_fault(response, status)
        if isinstance(expected_body, dict) and "message" in expected_body:
            # SPEC "The whole service": a page wins on the messages it states.
            assert fault["message"] == expected_body["message"]
    if expected_body is not None:
        assert response.mimetype == "application/json", response.headers
        found = differences(response.get_json(), expected_body, allowed_for(op, status))
        assert not found, "the answer's shape differs from the page's example:\n" + "\n".join(found)
    elif status in (202, 204):
        assert response.get_data() == b"", "the page shows no body"


def assert_location(api: Api, response: TestResponse) -> None:
    """The page shows a Location: absolute, and it leads to the resource the body shows."""
    location = response.headers.get("Location")
    assert location, response.headers
    parts = urlsplit(location)
    assert parts.scheme in ("http", "https") and parts.netloc, location
    assert parts.path.startswith(f"/v2/{PROJECT}/"), location
    body = response.get_json(silent=True)
    if isinstance(body, dict) and "id" in body:
        assert parts.path.rsplit("/", 1)[1] == body["id"], (location, body["id"])
    target = api.client.get(parts.path, headers=api.headers())
    assert target.status_code == 200, (location, target.get_data(as_text=True))


# Every route of the guide exists: the answer is not "no such route" nor "method not allowed".


def unknown_route(response: TestResponse) -> bool:
    """Whether the service says the route does not exist (not that a resource is missing).

    The service words an unknown route's 404 `<path>: no such route` (logfiles/api/errors.py);
    a missing agent or log file is a 404 with its own message.
    """
    if response.status_code != 404:
        return False
    body = response.get_json(silent=True) or {}
    return any(str(e).endswith(": no such route") for e in body.get("errors", []))


def route_cases() -> Iterator[Any]:
    for key in BY_KEY:
        marks = []
        if key in ISSUE_23:
            marks.append(pytest.mark.xfail(strict=True, reason=ISSUE_23_REASON))
        elif key in NOT_SERVED:
            marks.append(pytest.mark.xfail(strict=True, reason=NOT_SERVED_REASON))
        yield pytest.param(key, id=key_name(key), marks=marks)


@pytest.mark.parametrize("key", list(route_cases()))
def test_every_documented_route_answers(api: Api, key: Key) -> None:
    method, template = key
    fixed = {"project_id": PROJECT, "dependent_system": "storage"}
    path = PLACEHOLDER.sub(lambda m: fixed.get(m.group(1)) or str(uuid.uuid4()), template)
    response = api.client.open(path, method=method, headers=api.headers())
    assert response.status_code != 405, response.get_data(as_text=True)
    assert not unknown_route(response), response.get_data(as_text=True)


SCOPE = [op for op in OPERATIONS if in_scope(op)]


@pytest.mark.parametrize("op", SCOPE, ids=[key_name((op["method"], op["path"])) for op in SCOPE])
def test_every_example_id_is_replaced_in_what_is_sent(op: dict[str, Any]) -> None:
    """The harness itself: no id of the guide's examples reaches the app, whatever the operation
    (so an operation that is not served yet is sent right once it is)."""
    created = {"project_id": "P", "agent_id": "A", "logfile_id": "L", "configuration_id": "C"}
    created["dependent_system"] = DEPENDENT_SYSTEM
    ids = {
        EXAMPLE_AGENT["id"]: "A",
        EXAMPLE_AGENT["password"]: "W",
        EXAMPLE_LOGFILE_ID: "L",
        EXAMPLE_CONFIGURATION_ID: "C",
        **dict.fromkeys(EXAMPLE_PROJECT_IDS, "P"),
        **{example_id: kind[0].upper() for kind, example_id in EXAMPLE_JOB_IDS.items()},
        EXAMPLE_DESTINATION_ID: "A",
    }
    created.update({f"{kind}_id": kind[0].upper() for kind in EXAMPLE_JOB_IDS})
    (request,) = op["requests"]
    out = build(op, request, created, ids)
    assert out.method == op["method"]
    assert out.url.startswith("/v2/P/") and "{" not in out.url and "//" not in out.url
    assert not any(name.lower() == "host" for name, _ in out.headers)
    sent = json.dumps([out.url, out.headers, out.data])
    assert not [example for example in ids if example in sent]
    if request["body"] is not None:
        assert out.data is not None and json.loads(out.data) is not None


def test_the_tables_name_only_documented_operations() -> None:
    """A typo in a table would excuse nothing and hide nothing: every key is a guide operation."""
    assert set(BY_KEY) >= NOT_SERVED | ISSUE_23
    assert {(m, p) for m, p, _ in MISMATCHES} <= set(BY_KEY)
    assert {(m, p) for m, p, _ in ALLOWED if p != "*"} <= set(BY_KEY)
    assert all(in_scope(BY_KEY[key]) for key in NOT_SERVED)
    assert all(key in BY_KEY for key in ISSUE_23)
    assert not any(in_scope(BY_KEY[key]) for key in ISSUE_23)
    assert len(BY_KEY) == 62
