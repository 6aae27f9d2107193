"""Shared fixtures: an app per test from the factory, a test client, and the `api` helper."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from logfiles import Settings, create_app

# The throw-away PostgreSQL cluster: one per session; per test a fresh empty schema (`pg_url`) or
# a migrated one from the session's pool, emptied between tests (`pg_migrated_url`).
from tests.pgcluster import (  # noqa: F401
    fresh_pg_cluster,
    pg_cluster,
    pg_migrated_url,
    pg_schema_pool,
    pg_url,
)

pytest_plugins = ["pytester"]

SHARED = Path(__file__).resolve().parent / "data"
REGISTRATION: dict[str, Any] = json.loads((SHARED / "agent-register-example.json").read_text())
JSON_PATCH = "application/json-patch+json"
PROJECT = "110011"
TOKEN = "0f6e9f63600142f0a970911583522217"


# The create-a-configuration page's example request (its other examples: the same file).
CONFIGURATION_EXAMPLE: dict[str, Any] = json.loads((SHARED / "guide-configurations.json").read_text())[
    "create_request"
]


def configuration_body(agent_id: str, **changes: Any) -> dict[str, Any]:
    """A deep copy of the create page's example body for `agent_id`, with top-level changes."""
    body = copy.deepcopy(CONFIGURATION_EXAMPLE)
    body.update(agent_id=agent_id, **changes)
    return body


def registration(**changes: Any) -> dict[str, Any]:
    """A deep copy of the guide's example registration body, with top-level changes."""
    body = copy.deepcopy(REGISTRATION)
    body.update(changes)
    return body


def state_patch(*values: Any) -> list[dict[str, Any]]:
    return [{"op": "replace", "path": "/state", "value": v} for v in values]


STORES: tuple[str, ...] = ("memory", "sqlite", "postgres")
# Which stores the app-level suites (tests/api, tests/control, ...) run on: `--stores=all`, or
# LOGFILES_TEST_STORES=all, or a comma-separated list. One by default: what a test there checks
# is the route, and the store contract suite (tests/store) checks every store's behaviour.
STORES_VARIABLE = "LOGFILES_TEST_STORES"
DEFAULT_STORES = "memory"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--stores",
        default=os.environ.get(STORES_VARIABLE) or DEFAULT_STORES,
        help=(
            "stores the app-level tests (fixture store_url) run on: 'all' or a comma-separated list "
            f"of {', '.join(STORES)} (default: ${STORES_VARIABLE}, else {DEFAULT_STORES}). "
            "Tests marked all_stores run on every store whatever this says."
        ),
    )


def chosen_stores(config: pytest.Config) -> tuple[str, ...]:
    """The stores `--stores` names, in STORES' order; a usage error for an unknown one."""
    value = str(config.getoption("--stores")).strip().lower()
    if value == "all":
        return STORES
    names = {name.strip() for name in value.split(",") if name.strip()}
    unknown = names - set(STORES)
    if unknown or not names:
        raise pytest.UsageError(f"--stores={value}: say 'all' or some of {', '.join(STORES)}")
    return tuple(name for name in STORES if name in names)


_CHOSEN = pytest.StashKey[tuple[str, ...]]()


def pytest_configure(config: pytest.Config) -> None:
    """Read `--stores` once, at start: a bad value is a usage error before anything is collected."""
    config.stash[_CHOSEN] = chosen_stores(config)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise `store_url`: every store for an `all_stores` test, else the chosen ones."""
    if "store_url" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("all_stores") is not None:
        stores = STORES
    else:
        stores = metafunc.config.stash[_CHOSEN]
    metafunc.parametrize("store_url", stores, indirect=True)


# Every test in these directories starts servers, browsers or processes, or runs long: `slow`.
SLOW_DIRECTORIES = frozenset({"blackbox", "browser", "bench", "robustness"})
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow directories' tests `slow`, so that `-m "not slow"` leaves them out."""
    for item in items:
        path = item.path.resolve()
        parts = path.relative_to(TESTS).parts if path.is_relative_to(TESTS) else ()
        if len(parts) > 1 and parts[0] in SLOW_DIRECTORIES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of the store this test runs on (see `pytest_generate_tests`).

    PostgreSQL: a migrated schema of the session's throw-away cluster, emptied before the test
    (`pg_migrated_url`; skipped without PostgreSQL).
    """
    name = request.param  # every user is parametrised by pytest_generate_tests
    if name == "memory":
        return "memory"
    if name == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_migrated_url"))


@pytest.fixture
def settings(store_url: str) -> Settings:
    """Override in a test module to run the app with other settings (keep `store_url`)."""
    return Settings(store_url=store_url)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["logfiles"].store.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Api:
    """Guide operations with the defaults filled in, so tests say only what differs."""

    def __init__(self, client: FlaskClient, project_id: str = PROJECT, token: str = TOKEN):
        self.client = client
        self.project_id = project_id
        self.token = token

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        headers = {"X-Auth-Token": self.token if token is None else token}
        headers.update(extra)
        return headers

    def url(self, *parts: str, project_id: str | None = None) -> str:
        return "/".join(["", "v2", project_id or self.project_id, *parts])

    def register_agent(
        self,
        body: Any = None,
        *,
        token: str | None = None,
        project_id: str | None = None,
        content_type: str = "application/json",
        data: bytes | str | None = None,
    ) -> TestResponse:
        payload = data if data is not None else json.dumps(registration() if body is None else body)
        return self.client.post(
            self.url("agents", project_id=project_id),
            data=payload,
            headers=self.headers(token, **{"Content-Type": content_type}),
        )

    def agent(self, **kwargs: Any) -> str:
        """Register an agent and return its id."""
        response = self.register_agent(**kwargs)
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["id"])

    def get_agent(self, agent_id: str, **kw: Any) -> TestResponse:
        return self._call("get", ("agents", agent_id), **kw)

    def delete_agent(self, agent_id: str, **kw: Any) -> TestResponse:
        return self._call("delete", ("agents", agent_id), **kw)

    def request_logfile(self, agent_id: str, **kw: Any) -> TestResponse:
        return self._call("post", ("agents", agent_id, "logfiles"), **kw)

    def logfile(self, agent_id: str) -> str:
        """Request a log file and return its id."""
        response = self.request_logfile(agent_id)
        assert response.status_code == 202, response.get_json()
        return str(response.get_json()["id"])

    def list_logfiles(self, agent_id: str, query: str = "", **kw: Any) -> TestResponse:
        path = ("agents", agent_id, "logfiles")
        return self._call("get", path, query=query, **kw)

    def get_logfile(self, agent_id: str, logfile_id: str, **kw: Any) -> TestResponse:
        return self._call("get", ("agents", agent_id, "logfiles", logfile_id), **kw)

    def delete_logfile(self, agent_id: str, logfile_id: str, **kw: Any) -> TestResponse:
        return self._call("delete", ("agents", agent_id, "logfiles", logfile_id), **kw)

    def patch_logfile(
        self,
        agent_id: str,
        logfile_id: str,
        document: Any = None,
        *,
        data: bytes | str | None = None,
        content_type: str = JSON_PATCH,
        **kw: Any,
    ) -> TestResponse:
        payload = data if data is not None else json.dumps(document)
        headers = {"Content-Type": content_type}
        return self._call(
            "patch",
            ("agents", agent_id, "logfiles", logfile_id),
            data=payload,
            extra_headers=headers,
            **kw,
        )

    def patch_state(self, agent_id: str, logfile_id: str, *values: str, **kw: Any) -> TestResponse:
        return self.patch_logfile(agent_id, logfile_id, state_patch(*values), **kw)

    # Agents: the rest of the resource (list, PATCH, status, authentication).

    def registered(self, **kwargs: Any) -> dict[str, Any]:
        """Register an agent and return the whole 201 body (it alone shows the password)."""
        response = self.register_agent(**kwargs)
        assert response.status_code == 201, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    def list_agents(self, query: str = "", **kw: Any) -> TestResponse:
        return self._call("get", ("agents",), query=query, **kw)

    def patch_agent(
        self,
        agent_id: str,
        document: Any = None,
        *,
        data: bytes | str | None = None,
        content_type: str = JSON_PATCH,
        **kw: Any,
    ) -> TestResponse:
        payload = data if data is not None else json.dumps(document)
        headers = {"Content-Type": content_type}
        return self._call("patch", ("agents", agent_id), data=payload, extra_headers=headers, **kw)

    def set_enabled(self, agent_id: str, *values: Any, **kw: Any) -> TestResponse:
        document = [{"op": "replace", "path": "/enabled", "value": v} for v in values]
        return self.patch_agent(agent_id, document, **kw)

    def agent_status(self, agent_id: str, **kw: Any) -> TestResponse:
        return self._call("get", ("agents", agent_id, "status"), **kw)

    def authenticate(
        self,
        body: Any = None,
        *,
        project_id: str | None = None,
        content_type: str | None = "application/json",
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        """POST /v2/{p}/agents/tokens; sends no X-Auth-Token unless `headers` has one."""
        payload = data if data is not None else json.dumps(body)
        all_headers = {} if content_type is None else {"Content-Type": content_type}
        all_headers.update(headers or {})
        url = self.url("agents", "tokens", project_id=project_id)
        return self.client.post(url, data=payload, headers=all_headers)

    def agent_token(self, agent_id: str, password: str, *, project_id: str | None = None) -> str:
        """Authenticate an agent and return its token's id."""
        response = self.authenticate({"id": agent_id, "password": password}, project_id=project_id)
        assert response.status_code == 200, response.get_json()
        return str(response.get_json()["token"]["id"])

    # Events.

    def events_url(self, agent_id: str | None = None, *, project_id: str | None = None) -> str:
        parts = ("events",) if agent_id is None else ("agents", agent_id, "events")
        return self.url(*parts, project_id=project_id)

    def list_events(self, agent_id: str | None = None, query: str = "", **kw: Any) -> TestResponse:
        parts = ("events",) if agent_id is None else ("agents", agent_id, "events")
        return self._call("get", parts, query=query, **kw)

    def post_event(
        self,
        body: Any = None,
        agent_id: str | None = None,
        *,
        data: bytes | str | None = None,
        content_type: str = "application/json",
        **kw: Any,
    ) -> TestResponse:
        parts = ("events",) if agent_id is None else ("agents", agent_id, "events")
        payload = data if data is not None else json.dumps(body)
        headers = {"Content-Type": content_type}
        return self._call("post", parts, data=payload, extra_headers=headers, **kw)

    # The control plane.

    def control(self, method: str, path: str, body: Any = None) -> TestResponse:
        call = getattr(self.client, method)
        url = f"/_control/{path}"
        response: TestResponse = call(url, json=body) if body is not None else call(url)
        return response

    def freeze_clock(self, at: str = "now") -> str:
        """Freeze the service clock (at an ISO time, or its current time); returns the time."""
        response = self.control("post", "clock", {"freeze": at})
        assert response.status_code == 200, response.get_json()
        return str(response.get_json()["now"])

    def advance_clock(self, seconds: float) -> str:
        response = self.control("post", "clock", {"advance": seconds})
        assert response.status_code == 200, response.get_json()
        return str(response.get_json()["now"])

    def reset(self) -> None:
        assert self.control("post", "reset").status_code == 204

    def _call(
        self,
        method: str,
        parts: tuple[str, ...],
        *,
        token: str | None = None,
        project_id: str | None = None,
        query: str = "",
        data: Any = None,
        extra_headers: dict[str, str] | None = None,
    ) -> TestResponse:
        url = self.url(*parts, project_id=project_id) + (f"?{query}" if query else "")
        headers = self.headers(token, **(extra_headers or {}))
        return getattr(self.client, method)(url, data=data, headers=headers)


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)


def assert_fault(response: TestResponse, status: int) -> dict[str, Any]:
    """The guide's fault body: a message and at least one error string."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict), body
    assert set(body) == {"message", "errors"}, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], list) and body["errors"], body
    assert all(isinstance(e, str) and e for e in body["errors"]), body
    return body
