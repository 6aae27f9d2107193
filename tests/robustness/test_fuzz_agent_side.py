"""Arbitrary bodies and query strings on the agent side: never a 5xx, faults only, rejects change nothing.

Covers POST agents/tokens, PATCH of an agent, posted events (both routes) and the query strings of
both event feeds and of the agents list (design10).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from logfiles import Settings, create_app
from logfiles.events import SHOWN_AS
from tests.conftest import JSON_PATCH, REGISTRATION, Api, assert_fault

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
as_bytes = st.binary(max_size=256)
# Mostly the right type, so that most examples reach the body's checks.
content_types = st.sampled_from(["application/json"] * 4 + ["application/json; charset=utf-8", "text/plain"])

# Placeholders replaced by the example's own agent id and password.
AGENT_ID, PASSWORD, FINGERPRINT = "$agent", "$password", "$fingerprint"

token_bodies = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from([AGENT_ID, "nobody", ""]) | json_values,
        "password": st.sampled_from([PASSWORD, "wrong", ""]) | json_values,
        "project_id": st.sampled_from(["110011", "220022"]) | json_values,
        "name": st.just("Web Server") | json_values,
        "version": st.just("1.0") | json_values,
        "host": st.fixed_dictionaries(
            {},
            optional={
                "fingerprint": st.sampled_from([FINGERPRINT, "other"]) | json_values,
                "os": st.just({"name": "Ubuntu"}) | json_values,
                "addresses": st.just([]) | json_values,
            },
        )
        | json_values,
    },
)
# Near misses: the credentials mostly right, so that 200, 401 and 409 all come up.
likely_token_bodies = st.fixed_dictionaries(
    {
        "id": st.sampled_from([AGENT_ID] * 3 + ["nobody"]),
        "password": st.sampled_from([PASSWORD] * 3 + ["wrong"]),
    },
    optional={
        "project_id": st.sampled_from(["110011", "220022", 7]),
        "host": st.fixed_dictionaries(
            {}, optional={"fingerprint": st.sampled_from([FINGERPRINT, "other", 1])}
        ),
        "name": st.sampled_from(["Web Server", None]),
    },
)
enabled_operations = st.fixed_dictionaries(
    {},
    optional={
        "op": st.sampled_from(["replace", "add", "test", "remove"]) | json_values,
        "path": st.sampled_from(["/enabled", "/state", "enabled", "/enabled/x"]) | json_values,
        "value": st.sampled_from([True, False, "true", 0, None]) | json_values,
        "from": st.just("/enabled"),
    },
)
valid_operations = st.fixed_dictionaries(
    {"op": st.just("replace"), "path": st.just("/enabled"), "value": st.booleans()}
)
agent_patches = (
    st.lists(valid_operations, min_size=1, max_size=3)
    | st.lists(valid_operations | enabled_operations | json_values, max_size=4)
    | json_values
)
event_bodies = st.fixed_dictionaries(
    {"event": st.sampled_from(["startup", "shutdown", "heartbeat", "agent_activate", "backup"])},
    optional={"mode": st.sampled_from(["active", "idle", "real_time", "busy"]), "extra": json_values},
) | st.fixed_dictionaries(
    {},
    optional={
        "event": st.sampled_from(["startup", "agent_activate", "", "x" * 256]) | json_values,
        "mode": st.sampled_from(["active", "idle", "busy", None]) | json_values,
        "extra": json_values,
    },
)
query_values = st.sampled_from(["", "0", "1", "2", "1000", "1001", "-1", "asc", "desc", "9" * 19]) | st.text(
    max_size=20
)
queries = st.dictionaries(
    st.sampled_from(["marker", "limit", "sort_dir", "other"]) | st.text(max_size=6), query_values, max_size=4
)

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def fuzz_api() -> Api:
    return Api(create_app(Settings()).test_client())


def substitute(value: Any, agent: dict[str, Any]) -> Any:
    """The document with the placeholders filled in from the example's agent."""
    if isinstance(value, dict):
        return {k: substitute(v, agent) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, agent) for v in value]
    if isinstance(value, str):
        known = {
            AGENT_ID: agent["id"],
            PASSWORD: agent["password"],
            FINGERPRINT: REGISTRATION["host"]["fingerprint"],  # the body shows none: the registered one
        }
        return known.get(value, value)
    return value


def encode(document: Any) -> bytes:
    return document if isinstance(document, bytes) else json.dumps(document).encode()


def fresh(api: Api) -> dict[str, Any]:
    """A reset service with one registered agent; its 201 body."""
    api.reset()
    return api.registered()


def snapshot(api: Api, agent_id: str) -> tuple[Any, ...]:
    """Everything a request could change: the state, both feeds and the agent's status."""
    state = api.control("get", "state").get_json()
    project = api.list_events(query="limit=1000").get_json()
    agent = api.list_events(agent_id, query="limit=1000").get_json()
    status = api.agent_status(agent_id).get_json()
    return state, project, agent, status


def assert_answer(response: TestResponse, allowed: set[int]) -> None:
    event(f"status {response.status_code}")  # shown by --hypothesis-show-statistics
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.status_code in allowed, (response.status_code, response.get_data(as_text=True))
    if response.status_code >= 400:
        assert_fault(response, response.status_code)


@FUZZ
@given(document=likely_token_bodies | token_bodies | json_values | as_bytes, content_type=content_types)
def test_authenticate_any_body_is_200_or_a_fault_and_rejects_change_nothing(
    fuzz_api: Api, document: Any, content_type: str
) -> None:
    api = fuzz_api
    agent = fresh(api)
    before = snapshot(api, agent["id"])
    data = encode(substitute(document, agent))
    response = api.authenticate(data=data, content_type=content_type)
    assert_answer(response, {200, 400, 401, 409, 415})
    if response.status_code == 200:
        sent = json.loads(data)
        assert (sent["id"], sent["password"]) == (agent["id"], agent["password"])
        assert api.agent_status(agent["id"]).get_json()["online"] is True
        token = response.get_json()["token"]["id"]
        assert api.get_agent(agent["id"], token=token).status_code == 200
    else:
        assert snapshot(api, agent["id"]) == before


@FUZZ
@given(
    document=agent_patches | as_bytes, content_type=st.sampled_from([JSON_PATCH] * 5 + ["application/json"])
)
def test_update_agent_any_body_is_204_or_a_fault_and_rejects_change_nothing(
    fuzz_api: Api, document: Any, content_type: str
) -> None:
    api = fuzz_api
    agent = fresh(api)
    assert api.set_enabled(agent["id"], False).status_code == 204
    before = snapshot(api, agent["id"])
    response = api.patch_agent(agent["id"], data=encode(document), content_type=content_type)
    assert_answer(response, {204, 400, 415})
    enabled = api.get_agent(agent["id"]).get_json()["enabled"]
    if response.status_code == 204:
        assert isinstance(document, list) and document
        assert enabled is document[-1]["value"]
    else:
        assert enabled is False
        assert snapshot(api, agent["id"]) == before


@FUZZ
@given(document=event_bodies | json_values | as_bytes, content_type=content_types, for_agent=st.booleans())
def test_post_event_any_body_is_202_or_a_fault_and_rejects_change_nothing(
    fuzz_api: Api, document: Any, content_type: str, for_agent: bool
) -> None:
    api = fuzz_api
    agent = fresh(api)
    before = snapshot(api, agent["id"])
    target = agent["id"] if for_agent else None
    response = api.post_event(data=encode(document), agent_id=target, content_type=content_type)
    assert_answer(response, {202, 400, 415})
    if response.status_code == 202:
        assert response.get_data() == b""
        events = api.list_events(target, query="limit=1000&sort_dir=asc").get_json()["events"]
        shown = SHOWN_AS[document["event"]]  # startup: none (a fresh agent has nothing pending)
        assert len(events) == len(before[2 if for_agent else 1]["events"]) + (shown is not None)
        if shown is not None:
            assert events[-1]["event"] == shown
            assert ("agent" in events[-1]) is (for_agent and shown != "agent_activate")
    else:
        assert snapshot(api, agent["id"]) == before


@FUZZ
@given(query=queries, feed=st.sampled_from(["project", "agent", "agents"]))
def test_list_query_is_200_or_400(fuzz_api: Api, query: dict[str, str], feed: str) -> None:
    api = fuzz_api
    agent = fresh(api)
    before = snapshot(api, agent["id"])
    path = {"project": ("events",), "agent": ("agents", agent["id"], "events"), "agents": ("agents",)}[feed]
    response = api.client.get(api.url(*path), query_string=urlencode(query), headers=api.headers())
    assert_answer(response, {200, 400})
    if response.status_code == 200:
        body = response.get_json()
        assert set(body) <= {"events", "agents", "links"}
    assert snapshot(api, agent["id"]) == before


@FUZZ
@given(
    key=st.sampled_from([b"marker=", b"limit=", b"sort_dir=", b"limit=1&marker=", b""]),
    raw=st.binary(max_size=64),
    feed=st.sampled_from(["project", "agent", "agents"]),
)
def test_raw_query_bytes_never_5xx(fuzz_api: Api, key: bytes, raw: bytes, feed: str) -> None:
    """Any bytes as the query string (as Latin-1 text: the test client passes it on unchanged)."""
    api = fuzz_api
    agent = fresh(api)
    path = {"project": ("events",), "agent": ("agents", agent["id"], "events"), "agents": ("agents",)}[feed]
    response = api.client.get(
        api.url(*path), query_string=(key + raw).decode("latin-1"), headers=api.headers()
    )
    assert_answer(response, {200, 400})


def test_deeply_nested_bodies_are_400_not_500(fuzz_api: Api) -> None:
    agent = fresh(fuzz_api)
    deep = "[" * 100_000 + "]" * 100_000
    assert_fault(fuzz_api.authenticate(data=deep), 400)
    assert_fault(fuzz_api.patch_agent(agent["id"], data=deep), 400)
    assert_fault(fuzz_api.post_event(data=deep, agent_id=agent["id"]), 400)
    assert_fault(fuzz_api.post_event(data='{"event": ' + deep + "}"), 400)
