"""The agent pages of the guide, example by example: register, list, details, update, delete.

Written from `guide/api-reference/methods/` (post-register-an-agent, get-list-agents-for-a-
project, get-list-details-about-an-agent, patch-update-an-agent, delete-an-agent) and SPEC
("Agents", "The whole service"): each example request is sent as the page writes it (its
`Host`, headers and body; ids substituted), and the answer has the page's status, headers and
body shape: the key sets of the page's example response, recursively, with its types, its link
rels in its order. The example responses are the pages' own, copied into tests/data.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from logfiles import Settings
from tests.api.support import assert_time, assert_uuid4
from tests.conftest import JSON_PATCH, PROJECT, REGISTRATION, TOKEN, Api, assert_fault

DATA = Path(__file__).resolve().parent.parent / "data"
REGISTER_RESPONSE: dict[str, Any] = json.loads((DATA / "guide-agent-register-response.json").read_text())
LIST_RESPONSE: dict[str, Any] = json.loads((DATA / "guide-agent-list-response.json").read_text())
DETAILS_RESPONSE: dict[str, Any] = json.loads((DATA / "guide-agent-details-response.json").read_text())

# The pages' requests: https://dfw.backup.api.rackspacecloud.com/v2/110011/...
BASE = "https://dfw.backup.api.rackspacecloud.com"
HOST = "dfw.backup.api.rackspacecloud.com"
EXAMPLE_AGENT = "8f135b4f-7a69-4b8a-947f-5e80d772fd97"
EXAMPLE_MACHINE = "55f83711-85ff-49d6-9a1a-58c67d452c6a"
AGENT_RELS = ["self", "activities", "configuration", "configurations", "events", "logfiles", "status"]
VAULT_NOT_EMPTY = "The vault property (region) cannot be updated, reason: vault is not empty."
OTHER_PROJECT = "220022"
OBSERVER = "token-observer"
TOKENS = {
    TOKEN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
    OBSERVER: {"project_id": PROJECT, "roles": ["cloudbackup:observer"]},
    "token-other": {"project_id": OTHER_PROJECT, "roles": ["cloudbackup:admin"]},
}


def shape(value: Any) -> Any:
    """What a body's shape is: objects' key sets, lists' lengths, and the JSON type of each value."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def rels(links: list[dict[str, str]]) -> list[str]:
    return [link["rel"] for link in links]


def page_headers(**extra: str) -> dict[str, str]:
    """The headers the pages' examples send (a `Host` of the real service, and a token)."""
    return {"Host": HOST, "X-Auth-Token": TOKEN, **extra}


def register_as_written(api: Api, body: Any = None) -> Any:
    """The register page's example: `POST .../v2/110011/agents`, its headers and body."""
    return api.client.post(
        f"/v2/{PROJECT}/agents",
        base_url=BASE,
        data=json.dumps(REGISTRATION if body is None else body),
        headers=page_headers(**{"Content-type": "application/json"}),
    )


def registered(api: Api, body: Any = None) -> dict[str, Any]:
    response = register_as_written(api, body)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def on_machine(machine_id: str) -> dict[str, Any]:
    body = copy.deepcopy(REGISTRATION)
    body["host"]["machine"]["id"] = machine_id
    return body


def details(api: Api, agent_id: str) -> dict[str, Any]:
    response = api.client.get(f"/v2/{PROJECT}/agents/{agent_id}", base_url=BASE, headers=page_headers())
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def patch_as_written(api: Api, agent_id: str, document: Any, content_type: str = JSON_PATCH) -> Any:
    """The update page's example request: `PATCH .../agents/{id}` as JSON Patch."""
    return api.client.patch(
        f"/v2/{PROJECT}/agents/{agent_id}",
        base_url=BASE,
        data=json.dumps(document),
        headers=page_headers(**{"Content-Type": content_type}),
    )


def op(path: str, value: Any, name: str = "replace") -> dict[str, Any]:
    return {"op": name, "path": path, "value": value}


def upload_into(api: Api, vault: dict[str, Any], name: str = "bundle-1") -> None:
    """An object in the vault's container, through the object store its publicURL names."""
    public = {link["rel"]: link["href"] for link in vault["links"]}["publicURL"]
    path = urlsplit(public).path
    assert api.client.put(path, headers={"X-Auth-Token": TOKEN}).status_code in (201, 202)
    response = api.client.put(
        f"{path}/{name}",
        data=b"bytes",
        headers={"X-Auth-Token": TOKEN},
        environ_overrides={"CONTENT_LENGTH": "5"},
    )
    assert response.status_code == 201, response.get_data()


# Register an agent.


def test_register_example_is_201_with_the_pages_headers_and_body_shape(api: Api) -> None:
    response = register_as_written(api)
    assert response.status_code == 201, response.get_json()
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert shape(body) == shape(REGISTER_RESPONSE)
    # SPEC: Location is the `self` link, with the project (the page's example drops it: an erratum).
    assert response.headers["Location"] == f"{BASE}/v2/{PROJECT}/agents/{body['id']}"
    assert rels(body["links"]) == rels(REGISTER_RESPONSE["links"]) == AGENT_RELS


def test_register_example_shows_what_was_sent_and_what_the_service_assigned(api: Api) -> None:
    body = registered(api)
    for member in ("name", "version"):
        assert body[member] == REGISTRATION[member]
    sent_host = REGISTRATION["host"]
    assert body["host"]["flavor"] == sent_host["flavor"]
    assert body["host"]["region"] == sent_host["region"]
    assert body["host"]["os"] == sent_host["os"]
    assert body["host"]["addresses"] == sent_host["addresses"]
    assert body["host"]["machine"]["id"] == sent_host["machine"]["id"]
    assert body["rsa_public_key"] == REGISTRATION["rsa_public_key"]
    assert body["project_id"] == PROJECT
    assert_uuid4(body["id"])
    assert_uuid4(body["password"])
    assert body["enabled"] is True
    assert body["log_level"] == "warn"  # as the register and details pages show
    assert_time(body["registered_time"])


def test_register_example_has_a_new_vault_as_the_pages_show(api: Api) -> None:
    body = registered(api)
    vault = body["vault"]
    assert_uuid4(vault["id"])
    assert vault["id"] not in (body["id"], body["password"])
    assert vault["name"] == f"phoenix_{vault['id']}"
    assert (vault["state"], vault["flavor"], vault["encrypted"]) == ("created", "swift", False)
    assert vault["region"] == "DFW"  # LOGFILES_REGION's default
    assert vault["use_internal"] is True  # as the example request sends it
    container = f"{BASE}/cloudfiles/v1/MossoCloudFS_{PROJECT}/{vault['name']}"
    assert vault["links"] == [
        {"href": container, "rel": "publicURL"},
        {"href": container, "rel": "internalURL"},
    ]


def test_register_twice_gives_two_vaults(api: Api) -> None:
    first, second = registered(api)["vault"], registered(api)["vault"]
    assert first["id"] != second["id"]


def test_register_example_links_are_the_agents_sub_resources(api: Api) -> None:
    body = registered(api)
    agent = f"{BASE}/v2/{PROJECT}/agents/{body['id']}"
    assert body["links"] == [
        {"href": agent if rel == "self" else f"{agent}/{rel}", "rel": rel} for rel in AGENT_RELS
    ]
    # Each names a route the service answers (configuration and activities come with their
    # resources; the ones served here answer 200).
    for rel in ("self", "events", "logfiles", "status"):
        href = agent if rel == "self" else f"{agent}/{rel}"
        assert api.client.get(urlsplit(href).path, base_url=BASE, headers=page_headers()).status_code == 200


def test_register_example_machine_link_is_the_pages_full_link(api: Api) -> None:
    body = registered(api)
    (link,) = body["host"]["machine"]["links"]
    assert link["rel"] == "full"
    assert link["href"] == f"{BASE}/cloudservers/v2/{PROJECT}/servers/{EXAMPLE_MACHINE}"
    # It points nowhere (SPEC: no Cloud Servers here): a 404 with the fault body, not a 500.
    assert_fault(api.client.get(urlsplit(link["href"]).path, headers=page_headers()), 404)


def test_register_body_shows_no_fingerprint(api: Api) -> None:
    # The pages' bodies do not show it (the authentication still compares it).
    assert "fingerprint" not in registered(api)["host"]


@pytest.mark.parametrize(
    ("flavor", "use_internal"),
    [("nova", True), ("rackspace_dedicated", False), ("rackspace_private_cloud", True), ("other", False)],
)
def test_register_without_vault_use_internal_defaults_by_flavor(
    api: Api, flavor: str, use_internal: bool
) -> None:
    body = copy.deepcopy(REGISTRATION)
    body["host"]["flavor"] = flavor
    del body["vault"]
    assert registered(api, body)["vault"]["use_internal"] is use_internal
    body["vault"] = {}
    assert registered(api, body)["vault"]["use_internal"] is use_internal


@pytest.mark.parametrize("use_internal", [True, False])
def test_register_vault_use_internal_given_wins(api: Api, use_internal: bool) -> None:
    body = copy.deepcopy(REGISTRATION)
    body["host"]["flavor"] = "rackspace_dedicated"
    body["vault"] = {"use_internal": use_internal}
    assert registered(api, body)["vault"]["use_internal"] is use_internal


def test_register_vault_members_of_the_service_are_not_the_clients(api: Api) -> None:
    body = copy.deepcopy(REGISTRATION)
    body["vault"] = {"use_internal": False, "id": "mine", "name": "x", "region": "LON", "encrypted": True}
    vault = registered(api, body)["vault"]
    assert vault["id"] != "mine" and vault["name"] == f"phoenix_{vault['id']}"
    assert (vault["region"], vault["encrypted"], vault["use_internal"]) == ("DFW", False, False)


def test_register_errors_of_the_page(api: Api) -> None:
    assert_fault(register_as_written(api, {}), 400)
    assert_fault(api.client.post(f"/v2/{PROJECT}/agents", base_url=BASE, json=REGISTRATION), 401)
    assert_fault(api.client.put(f"/v2/{PROJECT}/agents", base_url=BASE, headers=page_headers()), 405)


# Retrieve agents for a project.


def list_as_written(api: Api, query: str) -> Any:
    """The list page's example: `GET .../v2/110011/agents?host_machine_id=...`."""
    return api.client.get(
        f"/v2/{PROJECT}/agents?{query}",
        base_url=BASE,
        headers=page_headers(**{"Accept": "application/json", "Content-type": "application/json"}),
    )


def test_list_example_is_200_with_the_pages_body_shape(api: Api) -> None:
    # The page's query names the id of its example agent; the agent on that machine is listed.
    mine = registered(api, on_machine(EXAMPLE_AGENT))
    registered(api)  # on another machine: not listed
    response = list_as_written(api, f"host_machine_id={EXAMPLE_AGENT}")
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert shape(body) == shape(LIST_RESPONSE)
    (listed,) = body["agents"]
    assert listed == {key: value for key, value in mine.items() if key != "password"}
    assert rels(listed["links"]) == AGENT_RELS


def test_list_without_agents_is_an_empty_array(api: Api) -> None:
    response = list_as_written(api, f"host_machine_id={EXAMPLE_AGENT}")
    assert response.status_code == 200
    assert response.get_json() == {"agents": []}
    assert list_as_written(api, "").get_json() == {"agents": []}


def test_list_host_machine_id_only_that_machines_agents_in_order(api: Api) -> None:
    a = registered(api, on_machine("m-1"))["id"]
    registered(api, on_machine("m-2"))
    c = registered(api, on_machine("m-1"))["id"]
    registered(api, on_machine("m-1x"))
    listed = list_as_written(api, "host_machine_id=m-1").get_json()["agents"]
    assert [agent["id"] for agent in listed] == [a, c]
    assert len(list_as_written(api, "").get_json()["agents"]) == 4


def test_list_host_machine_id_pages_and_the_next_link_keeps_it(api: Api) -> None:
    wanted = []
    for _ in range(3):
        wanted.append(registered(api, on_machine("m-1"))["id"])
        registered(api, on_machine("m-2"))
    response = list_as_written(api, "host_machine_id=m-1&limit=2")
    body = response.get_json()
    assert [agent["id"] for agent in body["agents"]] == wanted[:2]
    (link,) = body["links"]
    assert link["rel"] == "next"
    parts = urlsplit(link["href"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE}/v2/{PROJECT}/agents"
    assert parse_qs(parts.query) == {"host_machine_id": ["m-1"], "limit": ["2"], "marker": [wanted[1]]}
    following = api.client.get(f"{parts.path}?{parts.query}", base_url=BASE, headers=page_headers())
    assert following.get_json() == {"agents": [details(api, wanted[2])]}


def test_list_host_machine_id_is_encoded_in_the_next_link(api: Api) -> None:
    for _ in range(2):
        registered(api, on_machine("a b&c=d"))
    body = list_as_written(api, "host_machine_id=a%20b%26c%3Dd&limit=1").get_json()
    query = parse_qs(urlsplit(body["links"][0]["href"]).query)
    assert query["host_machine_id"] == ["a b&c=d"]


@pytest.mark.parametrize("value", ["", "x" * 1025], ids=["empty", "too-long"])
def test_list_host_machine_id_out_of_bounds_is_400(api: Api, value: str) -> None:
    errors = assert_fault(list_as_written(api, f"host_machine_id={value}"), 400)["errors"]
    assert errors[0].startswith("host_machine_id: "), errors


def test_list_host_machine_id_at_its_bound_is_200(api: Api) -> None:
    assert list_as_written(api, "host_machine_id=" + "x" * 1024).get_json() == {"agents": []}


def test_list_errors_of_the_page(api: Api) -> None:
    assert_fault(api.client.get(f"/v2/{PROJECT}/agents", base_url=BASE), 401)
    assert_fault(list_as_written(api, "limit=0"), 400)
    assert_fault(api.client.delete(f"/v2/{PROJECT}/agents", base_url=BASE, headers=page_headers()), 405)


# Retrieve details about an agent.


def test_details_example_is_200_with_the_pages_body_shape(api: Api) -> None:
    created = registered(api)
    response = api.client.get(
        f"/v2/{PROJECT}/agents/{created['id']}",
        base_url=BASE,
        headers=page_headers(**{"Accept": "application/json", "Content-type": "application/json"}),
    )
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert shape(body) == shape(DETAILS_RESPONSE)
    assert body == {key: value for key, value in created.items() if key != "password"}


def test_details_errors_of_the_page(api: Api) -> None:
    agent_id = registered(api)["id"]
    assert_fault(api.client.get(f"/v2/{PROJECT}/agents/{agent_id}", base_url=BASE), 401)
    body = assert_fault(
        api.client.get(f"/v2/{PROJECT}/agents/{EXAMPLE_AGENT}", base_url=BASE, headers=page_headers()), 404
    )
    assert body["message"] == "Agent not found."
    other = f"/v2/{OTHER_PROJECT}/agents/{agent_id}"
    assert_fault(api.client.get(other, base_url=BASE, headers=page_headers()), 404)


class TestRegion:
    @pytest.fixture
    def settings(self, store_url: str) -> Settings:
        return Settings(store_url=store_url, region="LON")

    def test_vaults_are_in_the_services_region(self, api: Api) -> None:
        # LOGFILES_REGION is the vaults' region.
        created = registered(api)
        assert created["vault"]["region"] == "LON"
        assert details(api, created["id"])["vault"]["region"] == "LON"


# Update an agent.


def test_update_example_is_204_without_a_body(api: Api) -> None:
    agent_id = registered(api)["id"]
    assert patch_as_written(api, agent_id, [op("/enabled", False)]).status_code == 204
    response = patch_as_written(api, agent_id, [op("/enabled", True)])  # the page's document
    assert response.status_code == 204
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers
    assert details(api, agent_id)["enabled"] is True


@pytest.mark.parametrize("name", ["replace", "add"])
@pytest.mark.parametrize(
    ("path", "value", "member"),
    [
        ("/enabled", False, ("enabled",)),
        ("/log_level", "debug", ("log_level",)),
        ("/log-level", "fatal", ("log_level",)),
        ("/vault/region", "LON", ("vault", "region")),
        ("/vault/use_internal", False, ("vault", "use_internal")),
    ],
)
def test_update_each_path_with_add_or_replace_shows(
    api: Api, name: str, path: str, value: Any, member: tuple[str, ...]
) -> None:
    before = registered(api)
    before.pop("password")
    response = patch_as_written(api, before["id"], [op(path, value, name)])
    assert response.status_code == 204, response.get_json()
    after = details(api, before["id"])
    expected = copy.deepcopy(before)
    target = expected
    for part in member[:-1]:
        target = target[part]
    target[member[-1]] = value
    assert after == expected  # that member changed, nothing else


@pytest.mark.parametrize("level", ["all", "trace", "debug", "info", "warn", "error", "fatal"])
def test_update_every_log_level_of_the_page(api: Api, level: str) -> None:
    agent_id = registered(api)["id"]
    assert patch_as_written(api, agent_id, [op("/log_level", level)]).status_code == 204
    assert details(api, agent_id)["log_level"] == level


@pytest.mark.parametrize("region", ["DFW", "ORD", "IAD", "LON", "SYD", "HKG"])
def test_update_every_region_while_the_vault_is_empty(api: Api, region: str) -> None:
    agent_id = registered(api)["id"]
    assert patch_as_written(api, agent_id, [op("/vault/region", region, "add")]).status_code == 204
    assert details(api, agent_id)["vault"]["region"] == region


def test_update_several_operations_apply_in_order(api: Api) -> None:
    created = registered(api)
    document = [
        op("/log_level", "debug"),
        op("/enabled", False, "add"),
        op("/vault/region", "SYD"),
        op("/log-level", "error", "add"),
        op("/vault/use_internal", False),
    ]
    assert patch_as_written(api, created["id"], document).status_code == 204
    after = details(api, created["id"])
    assert (after["log_level"], after["enabled"]) == ("error", False)
    assert (after["vault"]["region"], after["vault"]["use_internal"]) == ("SYD", False)
    assert after["vault"]["id"] == created["vault"]["id"]
    assert after["vault"]["links"] == created["vault"]["links"]


def test_update_as_application_json_is_204(api: Api) -> None:
    # SPEC (ours): the service's own Python SDK sends application/json.
    agent_id = registered(api)["id"]
    response = patch_as_written(api, agent_id, [op("/log_level", "info")], content_type="application/json")
    assert response.status_code == 204
    assert details(api, agent_id)["log_level"] == "info"


def test_update_region_of_a_vault_holding_an_object_is_the_pages_403(api: Api) -> None:
    created = registered(api)
    upload_into(api, created["vault"])
    response = patch_as_written(api, created["id"], [op("/vault/region", "LON")])
    body = assert_fault(response, 403)
    assert body["message"] == VAULT_NOT_EMPTY
    assert len(body["errors"]) == 1 and body["errors"][0].startswith("/vault/region: "), body
    assert details(api, created["id"])["vault"]["region"] == "DFW"


def test_update_region_403_changes_nothing_else_of_the_document(api: Api) -> None:
    created = registered(api)
    upload_into(api, created["vault"])
    document = [op("/enabled", False), op("/vault/region", "ORD"), op("/log_level", "info")]
    assert_fault(patch_as_written(api, created["id"], document), 403)
    after = details(api, created["id"])
    assert (after["enabled"], after["log_level"], after["vault"]["region"]) == (True, "warn", "DFW")


def test_update_region_of_a_full_vault_to_its_own_region_is_204(api: Api) -> None:
    # Not an update of the region: nothing to refuse.
    created = registered(api)
    upload_into(api, created["vault"])
    assert patch_as_written(api, created["id"], [op("/vault/region", "DFW")]).status_code == 204
    document = [op("/vault/region", "LON"), op("/vault/region", "DFW")]
    assert patch_as_written(api, created["id"], document).status_code == 204


def test_update_other_members_of_a_full_vault_are_204(api: Api) -> None:
    created = registered(api)
    upload_into(api, created["vault"])
    document = [op("/vault/use_internal", False), op("/log_level", "all"), op("/enabled", False)]
    assert patch_as_written(api, created["id"], document).status_code == 204


def test_update_region_once_the_vault_is_empty_again_is_204(api: Api) -> None:
    created = registered(api)
    upload_into(api, created["vault"])
    public = urlsplit(created["vault"]["links"][0]["href"]).path
    assert api.client.delete(f"{public}/bundle-1", headers={"X-Auth-Token": TOKEN}).status_code == 204
    assert patch_as_written(api, created["id"], [op("/vault/region", "HKG")]).status_code == 204
    assert details(api, created["id"])["vault"]["region"] == "HKG"


def test_update_region_of_an_empty_existing_container_is_204(api: Api) -> None:
    created = registered(api)
    public = urlsplit(created["vault"]["links"][0]["href"]).path
    assert api.client.put(public, headers={"X-Auth-Token": TOKEN}).status_code in (201, 202)
    assert patch_as_written(api, created["id"], [op("/vault/region", "IAD")]).status_code == 204


def test_update_region_another_agents_full_vault_does_not_count(api: Api) -> None:
    full, empty = registered(api), registered(api)
    upload_into(api, full["vault"])
    assert patch_as_written(api, empty["id"], [op("/vault/region", "IAD")]).status_code == 204


def test_update_bad_op_path_and_value_are_three_entries(api: Api) -> None:
    agent_id = registered(api)["id"]
    document = [op("/enabled", False), {"op": "remove", "path": "/name", "value": "x"}]
    errors = assert_fault(patch_as_written(api, agent_id, document), 400)["errors"]
    assert sorted(entry.split(":")[0] for entry in errors) == ["/1/op", "/1/path", "/1/value"], errors
    assert details(api, agent_id)["enabled"] is True  # all or nothing


@pytest.mark.parametrize(
    ("operation", "where"),
    [
        (op("/log_level", "verbose"), "/0/value"),
        (op("/log_level", "WARN"), "/0/value"),
        (op("/log-level", True), "/0/value"),
        (op("/vault/region", "dfw"), "/0/value"),
        (op("/vault/region", "XYZ"), "/0/value"),
        (op("/vault/region", None), "/0/value"),
        (op("/vault/use_internal", "false"), "/0/value"),
        (op("/vault/use_internal", 0), "/0/value"),
        (op("/enabled", "true"), "/0/value"),
        (op("/vault", "LON"), "/0/path"),
        (op("/vault/id", "DFW"), "/0/path"),
        (op("/vault/encrypted", True), "/0/path"),
        (op("/log_level", "info", "test"), "/0/op"),
        (op("/log_level", "info", "remove"), "/0/op"),
        (op("/log_level", "info", "Add"), "/0/op"),
    ],
)
def test_update_one_bad_member_is_400_naming_it(api: Api, operation: dict[str, Any], where: str) -> None:
    agent_id = registered(api)["id"]
    errors = assert_fault(patch_as_written(api, agent_id, [operation]), 400)["errors"]
    assert len(errors) == 1 and errors[0].startswith(f"{where}: "), errors


def test_update_a_bad_operation_after_good_ones_changes_nothing(api: Api) -> None:
    created = registered(api)
    created.pop("password")
    document = [op("/log_level", "debug"), op("/vault/region", "LON"), op("/enabled", "no")]
    errors = assert_fault(patch_as_written(api, created["id"], document), 400)["errors"]
    assert [entry.split(":")[0] for entry in errors] == ["/2/value"]
    assert details(api, created["id"]) == created


def test_update_bad_document_is_400_before_the_vault_is_looked_at(api: Api) -> None:
    # 400 (the body) comes before the 403 of the vault's state.
    created = registered(api)
    upload_into(api, created["vault"])
    assert_fault(patch_as_written(api, created["id"], [op("/vault/region", "LON"), op("/x", 1)]), 400)


def test_update_unknown_agent_is_the_pages_404(api: Api) -> None:
    body = assert_fault(patch_as_written(api, EXAMPLE_AGENT, [op("/enabled", True)]), 404)
    assert body["message"] == "Agent not found."


def test_update_other_errors_of_the_page(api: Api) -> None:
    agent_id = registered(api)["id"]
    url = f"/v2/{PROJECT}/agents/{agent_id}"
    document = json.dumps([op("/enabled", True)])
    assert_fault(api.client.patch(url, base_url=BASE, data=document), 401)
    assert_fault(patch_as_written(api, agent_id, [op("/enabled", True)], content_type="text/plain"), 415)
    assert_fault(api.client.put(url, base_url=BASE, headers=page_headers()), 405)


# Delete an agent.


def test_delete_example_is_204_then_the_agent_is_gone(api: Api) -> None:
    agent_id = registered(api)["id"]
    response = api.client.delete(
        f"/v2/{PROJECT}/agents/{agent_id}",
        base_url=BASE,
        headers=page_headers(**{"Content-Type": "application/json"}),
    )
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_fault(api.client.get(f"/v2/{PROJECT}/agents/{agent_id}", headers=page_headers()), 404)
    assert list_as_written(api, "").get_json() == {"agents": []}


def test_delete_unknown_agent_is_the_pages_404(api: Api) -> None:
    response = api.client.delete(
        f"/v2/{PROJECT}/agents/{EXAMPLE_AGENT}",
        base_url=BASE,
        headers=page_headers(**{"Content-Type": "application/json"}),
    )
    assert_fault(response, 404)
    assert response.mimetype == "application/json"  # the page's Content-Type


def test_delete_keeps_the_vaults_objects(api: Api) -> None:
    # SPEC: deleting an agent removes its resources; its vault's objects stay until a reset.
    created = registered(api)
    upload_into(api, created["vault"])
    assert api.delete_agent(created["id"]).status_code == 204
    public = urlsplit(created["vault"]["links"][0]["href"]).path
    assert api.client.head(f"{public}/bundle-1", headers={"X-Auth-Token": TOKEN}).status_code == 200


# The pages' other statuses: rights (403) and the fault injection of 500 and 503.


class TestRights:
    @pytest.fixture
    def settings(self, tmp_path: Path, store_url: str) -> Settings:
        path = tmp_path / "tokens.json"
        path.write_text(json.dumps(TOKENS))
        return Settings(store_url=store_url, tokens_file=str(path), control_open=True)

    def test_each_page_is_403_for_another_projects_token(self, api: Api) -> None:
        agent_id = registered(api)["id"]
        other = {"Host": HOST, "X-Auth-Token": "token-other"}
        url = f"/v2/{PROJECT}/agents"
        assert_fault(api.client.post(url, base_url=BASE, json=REGISTRATION, headers=other), 403)
        assert_fault(api.client.get(url, base_url=BASE, headers=other), 403)
        assert_fault(api.client.get(f"{url}/{agent_id}", base_url=BASE, headers=other), 403)
        patch = {**other, "Content-Type": JSON_PATCH}
        document = json.dumps([op("/enabled", False)])
        assert_fault(api.client.patch(f"{url}/{agent_id}", base_url=BASE, data=document, headers=patch), 403)
        assert_fault(api.client.delete(f"{url}/{agent_id}", base_url=BASE, headers=other), 403)

    def test_an_observer_reads_but_may_not_update(self, api: Api) -> None:
        agent_id = registered(api)["id"]
        observer = {"Host": HOST, "X-Auth-Token": OBSERVER}
        assert api.client.get(f"/v2/{PROJECT}/agents/{agent_id}", headers=observer).status_code == 200
        headers = {**observer, "Content-Type": JSON_PATCH}
        document = json.dumps([op("/log_level", "info")])
        assert_fault(
            api.client.patch(f"/v2/{PROJECT}/agents/{agent_id}", data=document, headers=headers), 403
        )


@pytest.mark.parametrize("status", [500, 503])
def test_injected_faults_answer_the_pages_other_statuses(api: Api, status: int) -> None:
    agent_id = registered(api)["id"]
    rule = {"path": f"/v2/{PROJECT}/agents*", "status": status, "times": 5}
    assert api.control("post", "faults", rule).status_code == 201
    url = f"/v2/{PROJECT}/agents"
    assert_fault(api.client.post(url, json=REGISTRATION, headers=page_headers()), status)
    assert_fault(api.client.get(url, headers=page_headers()), status)
    assert_fault(api.client.get(f"{url}/{agent_id}", headers=page_headers()), status)
    patch = page_headers(**{"Content-Type": JSON_PATCH})
    assert_fault(api.client.patch(f"{url}/{agent_id}", data="[]", headers=patch), status)
    assert_fault(api.client.delete(f"{url}/{agent_id}", headers=page_headers()), status)


def test_agent_ids_in_the_example_format(api: Api) -> None:
    # The pages' ids are UUIDs; ours are UUID4 (SPEC).
    body = registered(api)
    for value in (body["id"], body["vault"]["id"]):
        assert uuid.UUID(value).version == 4


# Seeded and imported agents have a vault too (SPEC "The whole service"; docs/SPEC.md).


def seed(api: Api, document: dict[str, Any], method: str = "post") -> None:
    response = api.control(method, "state", document)
    assert response.status_code == 200, response.get_json()


def exported_agents(api: Api) -> list[dict[str, Any]]:
    response = api.control("get", "state")
    assert response.status_code == 200, response.get_json()
    agents: list[dict[str, Any]] = response.get_json()["agents"]
    return agents


def test_a_seeded_agent_has_a_vault_the_same_on_every_read(api: Api) -> None:
    seed(api, {"agents": [{"id": "seeded-1", "project_id": PROJECT}]})
    body = details(api, "seeded-1")
    assert set(body) == set(DETAILS_RESPONSE)
    assert shape(body["vault"]) == shape(DETAILS_RESPONSE["vault"])
    vault = body["vault"]
    assert_uuid4(vault["id"])
    assert vault["name"] == f"phoenix_{vault['id']}"
    assert (vault["state"], vault["flavor"], vault["encrypted"], vault["region"]) == (
        "created",
        "swift",
        False,
        "DFW",
    )
    assert details(api, "seeded-1")["vault"] == vault
    # The same agent id seeded again (after a reset) has the same vault.
    api.reset()
    seed(api, {"agents": [{"id": "seeded-1", "project_id": PROJECT}]})
    assert details(api, "seeded-1")["vault"] == vault
    seed(api, {"agents": [{"id": "seeded-2", "project_id": PROJECT}]})
    assert details(api, "seeded-2")["vault"]["id"] != vault["id"]


def test_a_seeded_vault_is_kept_as_given(api: Api) -> None:
    registration = {
        **REGISTRATION,
        "vault": {"id": "v-1", "region": "LON", "use_internal": False, "encrypted": True},
    }
    seed(api, {"agents": [{"id": "seeded-1", "project_id": PROJECT, "registration": registration}]})
    vault = details(api, "seeded-1")["vault"]
    assert (vault["id"], vault["name"], vault["region"], vault["encrypted"]) == (
        "v-1",
        "phoenix_v-1",
        "LON",
        True,
    )
    assert vault["use_internal"] is False


@pytest.mark.parametrize(
    ("vault", "where"),
    [({"region": "XYZ"}, "region"), ({"use_internal": "no"}, "use_internal"), ({"name": "a/b"}, "name")],
)
def test_a_seeded_vault_member_of_the_wrong_kind_is_400(api: Api, vault: dict[str, Any], where: str) -> None:
    registration = {**REGISTRATION, "vault": vault}
    response = api.control(
        "post", "state", {"agents": [{"project_id": PROJECT, "registration": registration}]}
    )
    errors = assert_fault(response, 400)["errors"]
    assert any(f"registration.vault.{where}" in entry for entry in errors), errors


@pytest.mark.parametrize("method", ["put", "post"])
def test_export_and_import_keep_a_registered_agents_vault(api: Api, method: str) -> None:
    created = registered(api)
    assert patch_as_written(api, created["id"], [op("/vault/region", "SYD")]).status_code == 204
    before = details(api, created["id"])
    exported = api.control("get", "state").get_json()
    (item,) = exported["agents"]
    assert item["registration"]["vault"]["id"] == created["vault"]["id"]
    api.reset()
    seed(api, exported, method)
    assert details(api, created["id"]) == before
    assert exported_agents(api) == exported["agents"]


def test_a_patch_of_a_seeded_agents_vault_keeps_it(api: Api) -> None:
    seed(api, {"agents": [{"id": "seeded-1", "project_id": PROJECT}]})
    vault = details(api, "seeded-1")["vault"]
    assert patch_as_written(api, "seeded-1", [op("/vault/use_internal", True)]).status_code == 204
    after = details(api, "seeded-1")["vault"]
    assert after == {**vault, "use_internal": True}
    (item,) = exported_agents(api)
    assert item["registration"]["vault"]["id"] == vault["id"]
