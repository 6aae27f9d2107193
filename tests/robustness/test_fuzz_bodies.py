"""Arbitrary JSON values and bytes as PATCH and registration bodies: never a 5xx, never half-applied."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logfiles import Settings, create_app
from tests.conftest import Api, assert_fault, registration

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
state_words = st.sampled_from(["started", "completed", "requested", "Started", "", None, 1])
operations = st.fixed_dictionaries(
    {},
    optional={
        "op": st.sampled_from(["replace", "add", "test", "remove", "move", "copy"]) | json_values,
        "path": st.sampled_from(["/state", "/id", "state", "/state/x", ""]) | json_values,
        "value": state_words | json_values,
        "from": st.just("/state"),
    },
)
patch_documents = st.lists(operations | json_values, max_size=4) | json_values
as_bytes = st.binary(max_size=256)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def fuzz_api() -> Api:
    return Api(create_app(Settings()).test_client())


def encode(document: Any) -> bytes:
    return document if isinstance(document, bytes) else json.dumps(document).encode()


@FUZZ
@given(
    start=st.sampled_from([(), ("started",), ("completed",)]),
    document=patch_documents | as_bytes,
)
def test_update_logfile_any_body_is_204_or_a_fault_and_rejects_change_nothing(
    fuzz_api: Api, start: tuple[str, ...], document: Any
) -> None:
    api = fuzz_api
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    if start:
        assert api.patch_state(agent_id, logfile_id, *start).status_code == 204
    before = api.get_logfile(agent_id, logfile_id).get_json()

    response = api.patch_logfile(agent_id, logfile_id, data=encode(document))

    after = api.get_logfile(agent_id, logfile_id).get_json()
    if response.status_code == 204:
        assert isinstance(document, list) and document
        assert after["state"] == document[-1]["value"]
    else:
        assert response.status_code in (400, 409), response.status_code
        assert_fault(response, response.status_code)
        assert after["state"] == before["state"]


@FUZZ
@given(document=json_values | as_bytes)
def test_register_agent_any_body_is_201_or_400_and_a_400_adds_nothing(fuzz_api: Api, document: Any) -> None:
    store = fuzz_api.client.application.extensions["logfiles"].store
    added: list[object] = []
    original = store.add_agent

    def recording_add_agent(agent: object) -> Any:
        added.append(agent)
        return original(agent)

    store.add_agent = recording_add_agent
    try:
        response = fuzz_api.register_agent(data=encode(document))
    finally:
        del store.add_agent
    if response.status_code == 201:
        assert len(added) == 1
    else:
        assert_fault(response, 400)
        assert added == []


@FUZZ
@given(
    path=st.sampled_from(["name", "host", "host.os", "host.addresses", "rsa_public_key", "vault"]),
    value=json_values,
)
def test_register_agent_any_field_value_is_201_or_400(fuzz_api: Api, path: str, value: Any) -> None:
    body = registration()
    target = body
    *parents, last = path.split(".")
    for key in parents:
        target = target[key]
    target[last] = value
    response = fuzz_api.register_agent(body)
    if response.status_code != 201:
        problems = assert_fault(response, 400)["errors"]
        assert all(p.startswith(path) for p in problems), problems


def test_update_logfile_deeply_nested_body_is_400_not_500(fuzz_api: Api) -> None:
    agent_id = fuzz_api.agent()
    logfile_id = fuzz_api.logfile(agent_id)
    response = fuzz_api.patch_logfile(agent_id, logfile_id, data="[" * 100_000 + "]" * 100_000)
    assert_fault(response, 400)
