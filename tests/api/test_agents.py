"""Agents: register, details, delete, and the registration body's validation (SPEC: Agents)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.support import assert_time, assert_uuid4, links_by_rel
from tests.conftest import PROJECT, REGISTRATION, Api, assert_fault, registration

REQUEST_FIELDS = {"name", "version", "host", "rsa_public_key"}
ADDED_FIELDS = {"project_id", "id", "password", "enabled", "log_level", "registered_time", "vault", "links"}


def changed(path: str, value: Any) -> dict[str, Any]:
    """The example registration with the member at dotted `path` set to `value` (`...` deletes it)."""
    body = copy.deepcopy(REGISTRATION)
    *parents, last = path.split(".")
    target: Any = body
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    elif value is ...:
        del target[last]
    else:
        target[last] = value
    return body


def test_register_agent_example_is_201_with_agent_body(api: Api) -> None:
    before = datetime.now(UTC)
    response = api.register_agent()
    after = datetime.now(UTC)
    assert response.status_code == 201, response.get_json()
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) >= REQUEST_FIELDS | ADDED_FIELDS
    for field in ("name", "version"):
        assert body[field] == REGISTRATION[field]
    # The pages' bodies show the host without its fingerprint, and with the machine's links.
    host = {k: v for k, v in REGISTRATION["host"].items() if k != "fingerprint"}
    assert {k: v for k, v in body["host"].items() if k != "machine"} == {
        k: v for k, v in host.items() if k != "machine"
    }
    assert body["host"]["machine"]["id"] == REGISTRATION["host"]["machine"]["id"]
    assert body["rsa_public_key"]["modulus"] == REGISTRATION["rsa_public_key"]["modulus"]
    assert body["project_id"] == PROJECT
    assert_uuid4(body["id"])
    assert_uuid4(body["password"])
    assert body["id"] != body["password"]
    assert body["enabled"] is True
    assert body["log_level"] == "warn"
    registered = assert_time(body["registered_time"])
    assert before - timedelta(seconds=1) <= registered <= after + timedelta(seconds=1)
    assert isinstance(body["vault"], dict)


def test_register_agent_location_equals_absolute_self_link(api: Api) -> None:
    response = api.register_agent()
    body = response.get_json()
    expected = f"http://localhost/v2/{PROJECT}/agents/{body['id']}"
    assert response.headers["Location"] == expected
    assert links_by_rel(body)["self"] == expected


def test_register_agent_other_host_and_scheme_in_self_link(api: Api) -> None:
    response = api.client.post(
        "/v2/77/agents",
        json=registration(),
        headers=api.headers(),
        base_url="https://backup.example.test:8443",
    )
    assert response.status_code == 201, response.get_json()
    expected = f"https://backup.example.test:8443/v2/77/agents/{response.get_json()['id']}"
    assert response.headers["Location"] == expected
    assert links_by_rel(response.get_json())["self"] == expected


def test_register_agent_twice_gives_new_ids(api: Api) -> None:
    first = api.register_agent().get_json()
    second = api.register_agent().get_json()
    assert first["id"] != second["id"]
    assert first["password"] != second["password"]


def test_register_agent_without_vault_is_201_with_vault_object(api: Api) -> None:
    body = registration()
    del body["vault"]
    response = api.register_agent(body)
    assert response.status_code == 201, response.get_json()
    assert isinstance(response.get_json()["vault"], dict)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("host.region", None),
        ("rsa_public_key.exponent", "10001"),
        ("rsa_public_key.exponent", 65537),
        ("vault.use_internal", False),
        ("host.addresses.0.version", 6),
    ],
    ids=["region-null", "exponent-string", "exponent-int", "use-internal-false", "address-v6"],
)
def test_register_agent_allowed_variant_is_201(api: Api, path: str, value: Any) -> None:
    response = api.register_agent(changed(path, value))
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "Application/JSON", "APPLICATION/JSON; Charset=UTF-8"],
)
def test_register_agent_content_type_variant_is_201(api: Api, content_type: str) -> None:
    assert api.register_agent(content_type=content_type).status_code == 201


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/json-patch+json", "application/xml", "application/x-www-form-urlencoded", ""],
)
def test_register_agent_wrong_content_type_is_415(api: Api, content_type: str) -> None:
    assert_fault(api.register_agent(content_type=content_type), 415)


def test_register_agent_without_content_type_is_415(api: Api) -> None:
    response = api.client.post(api.url("agents"), data=b"{}", headers=api.headers())
    assert_fault(response, 415)


@pytest.mark.parametrize(
    "data",
    ["", "{", "not json", "{'name': 'x'}", "\xff"],
    ids=["empty", "truncated", "text", "quotes", "latin1"],
)
def test_register_agent_body_not_json_is_400(api: Api, data: str) -> None:
    assert_fault(api.register_agent(data=data.encode("latin-1")), 400)


@pytest.mark.parametrize(
    "body", [[], [REGISTRATION], "agent", 1, None], ids=["list", "list-of-body", "str", "int", "null"]
)
def test_register_agent_body_not_object_is_400(api: Api, body: Any) -> None:
    assert_fault(api.register_agent(data=json.dumps(body)), 400)


def test_register_agent_empty_object_lists_every_missing_field(api: Api) -> None:
    errors = assert_fault(api.register_agent({}), 400)["errors"]
    for field in sorted(REQUEST_FIELDS):
        assert any(e.startswith(f"{field}: ") for e in errors), (field, errors)


@pytest.mark.parametrize(
    "path",
    [
        "name",
        "version",
        "host",
        "rsa_public_key",
        "host.flavor",
        "host.region",
        "host.machine",
        "host.machine.id",
        "host.os",
        "host.os.name",
        "host.os.version",
        "host.os.architecture",
        "host.fingerprint",
        "host.addresses",
        "rsa_public_key.modulus",
        "rsa_public_key.exponent",
    ],
)
def test_register_agent_missing_field_is_400_naming_it(api: Api, path: str) -> None:
    errors = assert_fault(api.register_agent(changed(path, ...)), 400)["errors"]
    assert any(e.startswith(f"{path}: ") for e in errors), errors


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("name", 1),
        ("name", None),
        ("name", ["Web Server"]),
        ("version", 1.23),
        ("host", "nova"),
        ("host.flavor", 1),
        ("host.region", 1),
        ("host.machine", "55f83711"),
        ("host.machine.id", 5),
        ("host.os", []),
        ("host.os.name", 1),
        ("host.os.name", None),
        ("host.os.version", 14.04),
        ("host.os.architecture", True),
        ("host.fingerprint", {}),
        ("host.addresses", "67.23.10.132"),
        ("rsa_public_key", "E14F"),
        ("rsa_public_key.modulus", 1),
        ("rsa_public_key.exponent", True),
        ("rsa_public_key.exponent", 1.5),
        ("rsa_public_key.exponent", None),
        ("rsa_public_key.exponent", [10001]),
        ("vault", True),
        ("vault.use_internal", "yes"),
        ("vault.use_internal", "true"),
        ("vault.use_internal", 1),
        ("vault.use_internal", None),
    ],
)
def test_register_agent_mistyped_field_is_400_naming_it(api: Api, path: str, value: Any) -> None:
    errors = assert_fault(api.register_agent(changed(path, value)), 400)["errors"]
    assert any(e.startswith(f"{path}: ") for e in errors), errors


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("version", 5),
        ("version", "4"),
        ("version", True),
        ("version", None),
        ("addr", 1),
        ("addr", None),
        ("version", ...),
        ("addr", ...),
    ],
)
def test_register_agent_bad_address_is_400_naming_it(api: Api, member: str, value: Any) -> None:
    body = changed(f"host.addresses.1.{member}", value)
    errors = assert_fault(api.register_agent(body), 400)["errors"]
    where = (f"host.addresses.1.{member}: ", f"host.addresses[1].{member}: ")
    assert any(e.startswith(where) for e in errors), errors


def test_register_agent_address_not_object_is_400(api: Api) -> None:
    errors = assert_fault(api.register_agent(changed("host.addresses.0", "67.23.10.132")), 400)["errors"]
    assert any(e.startswith(("host.addresses.0", "host.addresses[0]")) for e in errors), errors


def test_register_agent_many_problems_lists_every_one(api: Api) -> None:
    body = registration(name=1, rsa_public_key={"modulus": "E1"})
    del body["version"]
    body["host"]["os"]["name"] = 7
    del body["host"]["fingerprint"]
    errors = assert_fault(api.register_agent(body), 400)["errors"]
    for where in ("name", "version", "host.os.name", "host.fingerprint", "rsa_public_key.exponent"):
        assert any(e.startswith(f"{where}: ") for e in errors), (where, errors)


def test_register_agent_invalid_creates_nothing(api: Api) -> None:
    response = api.register_agent(registration(name=1))
    assert_fault(response, 400)
    assert "Location" not in response.headers


def test_get_agent_is_200_with_body_without_password(api: Api) -> None:
    created = api.register_agent().get_json()
    response = api.get_agent(created["id"])
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert "password" not in body
    expected = {k: v for k, v in created.items() if k != "password"}
    assert body == expected


def test_get_agent_accept_xml_still_json(api: Api) -> None:
    agent_id = api.agent()
    response = api.client.get(api.url("agents", agent_id), headers=api.headers(Accept="application/xml"))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json()["id"] == agent_id


@pytest.mark.parametrize("agent_id", [pytest.param(str(uuid.uuid4()), id="a-new-uuid"), "not-a-uuid", "0"])
def test_get_agent_unknown_is_404(api: Api, agent_id: str) -> None:
    assert_fault(api.get_agent(agent_id), 404)


def test_get_agent_of_other_project_is_404(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.get_agent(agent_id, project_id="220022"), 404)
    assert api.get_agent(agent_id).status_code == 200


def test_delete_agent_of_other_project_is_404_and_keeps_it(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.delete_agent(agent_id, project_id="220022"), 404)
    assert api.get_agent(agent_id).status_code == 200


def test_delete_agent_is_204_then_404(api: Api) -> None:
    agent_id = api.agent()
    response = api.delete_agent(agent_id)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_fault(api.get_agent(agent_id), 404)
    assert_fault(api.delete_agent(agent_id), 404)
    assert_fault(api.request_logfile(agent_id), 404)
    assert_fault(api.list_logfiles(agent_id), 404)


def test_delete_agent_removes_its_logfiles(api: Api) -> None:
    agent_id = api.agent()
    logfile_ids = [api.logfile(agent_id) for _ in range(3)]
    assert api.patch_state(agent_id, logfile_ids[1], "started").status_code == 204
    assert api.patch_state(agent_id, logfile_ids[2], "completed").status_code == 204
    assert api.delete_agent(agent_id).status_code == 204
    for logfile_id in logfile_ids:
        assert_fault(api.get_logfile(agent_id, logfile_id), 404)
        assert_fault(api.patch_state(agent_id, logfile_id, "completed"), 404)
        assert_fault(api.delete_logfile(agent_id, logfile_id), 404)


def test_delete_agent_keeps_other_agents(api: Api) -> None:
    doomed, kept = api.agent(), api.agent()
    logfile_id = api.logfile(kept)
    assert api.delete_agent(doomed).status_code == 204
    assert api.get_agent(kept).status_code == 200
    assert api.get_logfile(kept, logfile_id).status_code == 200


@pytest.mark.parametrize("project_id", ["110011", "abc", "MossoCloudFS_1", "a-b_c.d"])
def test_register_agent_any_project_id_is_201(api: Api, project_id: str) -> None:
    response = api.register_agent(project_id=project_id)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["project_id"] == project_id
    assert api.get_agent(body["id"], project_id=project_id).status_code == 200
