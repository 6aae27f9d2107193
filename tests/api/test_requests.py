"""Browse, vault encryption and password verification requests, and moving a vault, through the
app (their pages; SPEC "The whole service": the panel asks with 202, the agent sees the event
its page names in its feed, the agent reports, the results are 404 until then).

Each page's example request is sent as written (ids substituted, tests/data/guide_operations.json)
and gets the page's status, `Location` and body shape; the flows and the documented errors after.
Backups are seeded through the control plane (`jobs`), not made by the backup routes.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from werkzeug.test import TestResponse

from logfiles import Settings, create_app
from logfiles.schemas.requests import MAX_ITEMS, MAX_NAME_LENGTH, MAX_PATH_DEPTH
from tests.api.support import MIB
from tests.conftest import PROJECT, Api, assert_fault
from tests.guide_shape import differences

DATA = Path(__file__).resolve().parents[1] / "data" / "guide_operations.json"
OPERATIONS = {(op["method"], op["path"]): op for op in json.loads(DATA.read_text())["operations"]}
P = "/v2/{project_id}"
AGENT = P + "/agents/{agent_id}"
PASSWORD = "0bff42a526c78076a3d986fa75eecd 83211f166fd7692797cdde2317faee544e3300614fd54b8c0d81f975"
JSON = {"Content-Type": "application/json"}


def example(method: str, path: str) -> tuple[Any, dict[str, Any]]:
    """The page's example request body and its first example answer."""
    op = OPERATIONS[(method, path)]
    (request,) = op["requests"]
    return request["body"], op["responses"][0]


def post(
    api: Api, *parts: str, body: Any = None, data: bytes | None = None, content_type: str = "application/json"
) -> TestResponse:
    payload = data if data is not None else json.dumps(body)
    return api.client.post(
        api.url(*parts), data=payload, headers=api.headers(**{"Content-Type": content_type})
    )


def get(api: Api, *parts: str) -> TestResponse:
    return api.client.get(api.url(*parts), headers=api.headers())


def asked(response: TestResponse, *path: str) -> str:
    """A 202 with no body and its Location (absolute, at the route's plural collection): the id."""
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.get_data() == b""
    location = response.headers["Location"]
    prefix = "http://localhost" + "/".join(["", "v2", PROJECT, *path]) + "/"
    assert location.startswith(prefix), location
    request_id = location[len(prefix) :]
    assert str(uuid.UUID(request_id)) == request_id
    return request_id


def feed(api: Api, agent_id: str) -> list[dict[str, Any]]:
    response = api.list_events(agent_id)
    assert response.status_code == 200
    events: list[dict[str, Any]] = response.get_json()["events"]
    return events


def last_event(api: Api, agent_id: str, name: str) -> dict[str, Any]:
    found = [event for event in feed(api, agent_id) if event["event"] == name]
    assert found, feed(api, agent_id)
    return found[-1]


def assert_like_page(found: Any, page: dict[str, Any]) -> None:
    problems = differences(found, page["body"], [])
    assert not problems, problems


def not_reported(response: TestResponse) -> None:
    body = assert_fault(response, 404)
    assert "not been reported" in body["message"], body


def seed_backup(api: Api, agent_id: str, backup_id: str | None = None, **extra: Any) -> str:
    backup_id = backup_id or str(uuid.uuid4())
    job = {"type": "backup", "id": backup_id, "agent_id": agent_id, "state": "completed", **extra}
    response = api.client.post("/_control/state", json={"jobs": [job]})
    assert response.status_code == 200, response.get_data(as_text=True)
    return backup_id


def vault(api: Api, agent_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.get_agent(agent_id).get_json()["vault"]
    return found


def encrypt(api: Api, agent_id: str) -> None:
    request_id = asked(
        post(api, "agents", agent_id, "vault-encryption-requests",
             body={"old_encrypted_password_hex": None, "new_encrypted_password_hex": PASSWORD}),
        "agents", agent_id, "vault-encryption-requests",
    )  # fmt: skip
    report = {"action": "enabled", "succeeded": True}
    assert (
        post(api, "agents", agent_id, "vault-encryption-requests", request_id, body=report).status_code == 204
    )


# The pages' examples.


def test_browse_an_agent_as_the_pages_show(api: Api) -> None:
    agent_id = api.agent()
    body, answer = example("POST", AGENT + "/browse-requests")
    assert answer["status"] == 202
    request_id = asked(
        post(api, "agents", agent_id, "browse-requests", body=body), "agents", agent_id, "browse-requests"
    )
    event = last_event(api, agent_id, "host_browse")
    assert event["request_id"] == request_id
    assert (event["path"], event["path_encoded"]) == (body["path"], body["path_encoded"])
    assert event["agent"] == {"id": agent_id}
    not_reported(get(api, "agents", agent_id, "browse-requests", request_id))
    # SPEC: the agent reports the GET page's body where the GET is.
    _, results = example("GET", AGENT + "/browse-requests/{request_id}")
    report = post(api, "agents", agent_id, "browse-requests", request_id, body=results["body"])
    assert report.status_code == 204, report.get_data(as_text=True)
    shown = get(api, "agents", agent_id, "browse-requests", request_id)
    assert shown.status_code == 200 and shown.mimetype == "application/json"
    found = shown.get_json()
    assert_like_page(found, results)
    assert found["event"] == "host_browsed" and found["request_id"] == request_id
    assert found["agent"] == {"id": agent_id} and found["id"].isdigit()
    assert found["items"] == results["body"]["items"]


def test_browse_a_backup_as_the_pages_show(api: Api) -> None:
    agent_id = api.agent()
    backup_id = seed_backup(api, agent_id, configuration_id="7c8ee069-568f-4d5a-932f-fb2af86b5fd5")
    body, answer = example("POST", P + "/backups/{backup_id}/browse-requests")
    assert answer["status"] == 202
    body = {**body, "agent_id": agent_id}
    request_id = asked(
        post(api, "backups", backup_id, "browse-requests", body=body), "backups", backup_id, "browse-requests"
    )
    event = last_event(api, agent_id, "backup_browse")
    assert event["request_id"] == request_id
    assert event["agent"] == {"id": agent_id, "vault": {"id": vault(api, agent_id)["id"], "encrypted": False}}
    assert event["backup"] == {"id": backup_id, "snapshot_id": None}
    assert event["configuration"] == {"id": "7c8ee069-568f-4d5a-932f-fb2af86b5fd5"}
    assert event["path"] == body["path"] and event["encrypted_password_hex"] is None
    not_reported(get(api, "backups", backup_id, "browse-requests", request_id))
    _, results = example("GET", P + "/backups/{backup_id}/browse-requests/{request_id}")
    assert (
        post(api, "backups", backup_id, "browse-requests", request_id, body=results["body"]).status_code
        == 204
    )
    shown = get(api, "backups", backup_id, "browse-requests", request_id)
    assert shown.status_code == 200
    assert_like_page(shown.get_json(), results)
    assert shown.get_json()["event"] == "backup_browsed"
    # A backup's request is not found under an agent, nor under another backup.
    assert_fault(get(api, "agents", agent_id, "browse-requests", request_id), 404)
    other = seed_backup(api, agent_id)
    assert_fault(get(api, "backups", other, "browse-requests", request_id), 404)


def test_encryption_as_the_pages_show(api: Api) -> None:
    agent_id = api.agent()
    body, answer = example("POST", AGENT + "/vault-encryption-requests")
    assert answer["status"] == 202
    request_id = asked(
        post(api, "agents", agent_id, "vault-encryption-requests", body=body),
        "agents", agent_id, "vault-encryption-requests",
    )  # fmt: skip
    event = last_event(api, agent_id, "vault_encryption_enable")
    assert event["request_id"] == request_id
    assert event["encrypted_password_hex"] == body["new_encrypted_password_hex"]
    not_reported(get(api, "agents", agent_id, "vault-encryption-requests", request_id))
    assert vault(api, agent_id)["encrypted"] is False
    report, reported = example("POST", AGENT + "/vault-encryption-requests/{request_id}")
    assert reported["status"] == 204
    answer_ = post(api, "agents", agent_id, "vault-encryption-requests", request_id, body=report)
    assert answer_.status_code == 204 and answer_.get_data() == b""
    # The report page: an enable that succeeded turns `encrypted` on.
    assert vault(api, agent_id)["encrypted"] is True
    _, results = example("GET", AGENT + "/vault-encryption-requests/{request_id}")
    shown = get(api, "agents", agent_id, "vault-encryption-requests", request_id)
    assert shown.status_code == 200
    assert_like_page(shown.get_json(), results)
    assert shown.get_json()["event"] == "vault_encryption_enabled" and shown.get_json()["succeeded"] is True
    # The same report again (a retry) is accepted; other results are a conflict.
    assert (
        post(api, "agents", agent_id, "vault-encryption-requests", request_id, body=report).status_code == 204
    )
    other = {"action": "enabled", "succeeded": False}
    assert_fault(post(api, "agents", agent_id, "vault-encryption-requests", request_id, body=other), 409)


def test_password_verification_as_the_pages_show(api: Api) -> None:
    agent_id, target = api.agent(), api.agent()
    verifications = ("agents", agent_id, "vault-password-verification-requests")
    body, answer = example("POST", AGENT + "/vault-password-verification-requests")
    # The page's 403: the vault to verify (the body's agent's) is not encrypted.
    refused = assert_fault(
        post(
            api, "agents", agent_id, "vault-password-verification-requests", body={**body, "agent_id": target}
        ),
        403,
    )
    assert (
        refused["message"]
        == OPERATIONS[("POST", AGENT + "/vault-password-verification-requests")]["responses"][1]["body"][
            "message"
        ]
    )
    encrypt(api, target)
    assert answer["status"] == 202
    request_id = asked(post(api, *verifications, body={**body, "agent_id": target}), *verifications)
    event = last_event(api, agent_id, "vault_password_verify")  # to the agent that verifies
    assert (
        event["request_id"] == request_id
        and event["encrypted_password_hex"] == body["encrypted_password_hex"]
    )
    not_reported(get(api, "agents", agent_id, "vault-password-verification-requests", request_id))
    report, reported = example("POST", AGENT + "/vault-password-verification-requests/{request_id}")
    assert reported["status"] == 204
    assert (
        post(
            api, "agents", agent_id, "vault-password-verification-requests", request_id, body=report
        ).status_code
        == 204
    )
    _, results = example("GET", AGENT + "/vault-password-verification-requests/{request_id}")
    shown = get(api, "agents", agent_id, "vault-password-verification-requests", request_id)
    assert shown.status_code == 200
    assert_like_page(shown.get_json(), results)
    assert shown.get_json()["valid"] is True and shown.get_json()["event"] == "vault_password_verified"


def test_verification_answers_as_reported_and_null_means_the_agents_own_vault(api: Api) -> None:
    agent_id = api.agent()
    asking = {"encrypted_password_hex": PASSWORD, "agent_id": None}
    assert_fault(post(api, "agents", agent_id, "vault-password-verification-requests", body=asking), 403)
    encrypt(api, agent_id)
    request_id = asked(
        post(api, "agents", agent_id, "vault-password-verification-requests", body=asking),
        "agents", agent_id, "vault-password-verification-requests",
    )  # fmt: skip
    report = {"verified": "false"}  # the page's table says String
    assert (
        post(
            api, "agents", agent_id, "vault-password-verification-requests", request_id, body=report
        ).status_code
        == 204
    )
    assert (
        get(api, "agents", agent_id, "vault-password-verification-requests", request_id).get_json()["valid"]
        is False
    )


def test_move_a_vault_as_the_page_shows(api: Api) -> None:
    source, destination = api.agent(), api.agent()
    moved, kept = vault(api, source), vault(api, destination)
    backup_id = seed_backup(api, source)
    container = f"/cloudfiles/v1/MossoCloudFS_{PROJECT}/{moved['name']}"
    assert api.client.put(container, headers=api.headers()).status_code == 201
    assert api.client.put(f"{container}/bundle", data=b"bytes", headers=api.headers()).status_code == 201
    body, answer = example("POST", AGENT + "/vault")
    assert answer["status"] == 204
    response = post(api, "agents", destination, "vault", body={**body, "source_agent_id": source})
    assert response.status_code == 204 and response.get_data() == b"", response.get_data(as_text=True)
    # The destination holds the source's vault (the same container); the source a new empty one.
    now_there = vault(api, destination)
    assert (now_there["id"], now_there["name"], now_there["links"]) == (
        moved["id"],
        moved["name"],
        moved["links"],
    )
    fresh = vault(api, source)
    assert fresh["id"] not in (moved["id"], kept["id"])
    assert fresh["name"] == "phoenix_" + fresh["id"] and fresh["encrypted"] is False
    # The container kept its objects: the destination's vault links lead to them.
    listing = api.client.get(urlsplit(now_there["links"][0]["href"]).path, headers=api.headers())
    assert listing.get_data(as_text=True).split() == ["bundle"]
    # Its backups are the destination's now (contract notes).
    activities = get(api, "agents", destination, "activities").get_json()["activities"]
    assert [a["id"] for a in activities] == [backup_id]
    assert activities[0]["agent"]["id"] == destination
    assert get(api, "agents", source, "activities").get_json()["activities"] == []


# Moving a vault: the page's 403s, and the rest of the check order.


def test_move_refusals(api: Api) -> None:
    source, destination = api.agent(), api.agent()
    url = ("agents", destination, "vault")
    # 404: no such destination, no such source.
    assert_fault(post(api, "agents", str(uuid.uuid4()), "vault", body={"source_agent_id": source}), 404)
    assert_fault(post(api, *url, body={"source_agent_id": str(uuid.uuid4())}), 404)
    # The page's 403: an agent of another project, either way.
    elsewhere = api.agent(project_id="220022")
    assert_fault(post(api, *url, body={"source_agent_id": elsewhere}), 403)
    assert_fault(post(api, "agents", elsewhere, "vault", body={"source_agent_id": source}), 403)
    # 415, 413, 400.
    assert_fault(post(api, *url, body={"source_agent_id": source}, content_type="text/plain"), 415)
    assert_fault(post(api, *url, data=b" " * (MIB + 1)), 413)
    assert_fault(post(api, *url, data=b"{"), 400)
    missing = assert_fault(post(api, *url, body={}), 400)
    assert missing["errors"] == ["source_agent_id: Missing data for required field."]
    same = assert_fault(post(api, *url, body={"source_agent_id": destination}), 400)
    assert same["errors"][0].startswith("source_agent_id: ")
    # The page's 403: the destination's vault holds data (an object in its container).
    container = vault(api, destination)["name"]
    base = f"/cloudfiles/v1/MossoCloudFS_{PROJECT}/{container}"
    assert api.client.put(base, headers=api.headers()).status_code == 201
    put = api.client.put(f"{base}/data", data=b"x", headers=api.headers())
    assert put.status_code == 201, put.get_data(as_text=True)
    full = assert_fault(post(api, *url, body={"source_agent_id": source}), 403)
    assert "contains data" in full["message"]
    # The page's 403: the vault is encrypted.
    empty = api.agent()
    encrypt(api, source)
    locked = assert_fault(post(api, "agents", empty, "vault", body={"source_agent_id": source}), 403)
    assert "encrypted" in locked["message"]
    assert vault(api, source)["encrypted"] is True  # nothing moved


# Encryption: the page's 403s and the reports.


def test_encryption_refusals_and_change(api: Api) -> None:
    agent_id = api.agent()
    collection = ("agents", agent_id, "vault-encryption-requests")
    change = {"old_encrypted_password_hex": PASSWORD, "new_encrypted_password_hex": PASSWORD}
    refused = assert_fault(post(api, *collection, body=change), 403)
    assert refused["message"] == "An old password was supplied, but the vault is unencrypted."
    encrypt(api, agent_id)
    enable = {"old_encrypted_password_hex": None, "new_encrypted_password_hex": PASSWORD}
    assert_fault(post(api, *collection, body=enable), 403)
    request_id = asked(post(api, *collection, body=change), *collection)
    event = last_event(api, agent_id, "vault_encryption_change")
    assert event["old_encrypted_password_hex"] == PASSWORD and event["new_encrypted_password_hex"] == PASSWORD
    mismatch = assert_fault(
        post(api, *collection, request_id, body={"action": "enabled", "succeeded": True}), 409
    )
    assert mismatch["errors"][0].startswith("action: ")
    assert (
        post(api, *collection, request_id, body={"action": "changed", "succeeded": False}).status_code == 204
    )
    shown = get(api, *collection, request_id).get_json()
    assert (shown["event"], shown["succeeded"]) == ("vault_encryption_changed", False)
    assert vault(api, agent_id)["encrypted"] is True


def test_a_failed_enable_leaves_the_vault_unencrypted(api: Api) -> None:
    agent_id = api.agent()
    collection = ("agents", agent_id, "vault-encryption-requests")
    enable = {"old_encrypted_password_hex": None, "new_encrypted_password_hex": PASSWORD}
    request_id = asked(post(api, *collection, body=enable), *collection)
    assert (
        post(api, *collection, request_id, body={"action": "enabled", "succeeded": False}).status_code == 204
    )
    assert vault(api, agent_id)["encrypted"] is False


# Bad bodies: one entry per problem, the password never repeated.


@pytest.mark.parametrize(
    ("parts", "body", "where"),
    [
        (("browse-requests",), {"path_encoded": None}, "path"),
        (("browse-requests",), {"path": "/" + "a/" * (MAX_PATH_DEPTH + 1), "path_encoded": None}, "path"),
        (("vault-encryption-requests",),
         {"old_encrypted_password_hex": None, "new_encrypted_password_hex": "zz-secret"},
         "new_encrypted_password_hex"),
        (("vault-password-verification-requests",), {"encrypted_password_hex": 5, "agent_id": None},
         "encrypted_password_hex"),
    ],
)  # fmt: skip
def test_bad_request_bodies(api: Api, parts: tuple[str, ...], body: dict[str, Any], where: str) -> None:
    agent_id = api.agent()
    fault = assert_fault(post(api, "agents", agent_id, *parts, body=body), 400)
    assert [e.split(":")[0] for e in fault["errors"]] == [where]
    assert "zz-secret" not in json.dumps(fault)


def test_browse_results_are_bounded(api: Api) -> None:
    agent_id = api.agent()
    request_id = asked(
        post(api, "agents", agent_id, "browse-requests", body={"path": "/", "path_encoded": None}),
        "agents", agent_id, "browse-requests",
    )  # fmt: skip
    url = ("agents", agent_id, "browse-requests", request_id)
    item = {"name": "a", "bytes": 1, "mime_type": "text/plain"}
    many = assert_fault(post(api, *url, body={"succeeded": True, "items": [item] * (MAX_ITEMS + 1)}), 400)
    assert many["errors"][0].startswith("items: at most")
    long = {**item, "name": "n" * (MAX_NAME_LENGTH + 1)}
    bad = {**item, "bytes": -1, "mime_type": 7}
    fault = assert_fault(post(api, *url, body={"succeeded": "yes", "items": [long, bad]}), 400)
    assert sorted(e.split(":")[0] for e in fault["errors"]) == [
        "items.0.name", "items.1.bytes", "items.1.mime_type", "succeeded",
    ]  # fmt: skip
    not_reported(get(api, *url))
    # Members the page's item does not show are dropped: what is kept is the page's depth.
    deep = {**item, "extra": {"a": [{"b": 1}]}}
    assert post(api, *url, body={"succeeded": True, "items": [deep]}).status_code == 204
    assert get(api, *url).get_json()["items"] == [{**item, "name_encoded": None}]


# 404s: the agent, the backup, the request.


def test_unknown_parents_and_requests_are_404(api: Api) -> None:
    agent_id = api.agent()
    unknown = str(uuid.uuid4())
    for collection in (
        "browse-requests",
        "vault-encryption-requests",
        "vault-password-verification-requests",
    ):
        assert_fault(get(api, "agents", agent_id, collection, unknown), 404)
        assert_fault(get(api, "agents", unknown, collection, unknown), 404)
        assert_fault(post(api, "agents", agent_id, collection, unknown, body={}), 404)
        assert_fault(post(api, "agents", unknown, collection, body={}), 404)
    browse = {"agent_id": agent_id, "encrypted_password_hex": None, "path": "/", "path_encoded": None}
    assert_fault(post(api, "backups", unknown, "browse-requests", body=browse), 404)
    assert_fault(get(api, "backups", unknown, "browse-requests", unknown), 404)
    backup_id = seed_backup(api, agent_id)
    nobody = assert_fault(
        post(api, "backups", backup_id, "browse-requests", body={**browse, "agent_id": unknown}), 404
    )
    assert nobody["message"] == "Agent not found."
    # A request of one agent is not found under another.
    request_id = asked(
        post(api, "agents", agent_id, "browse-requests", body={"path": "/", "path_encoded": None}),
        "agents", agent_id, "browse-requests",
    )  # fmt: skip
    assert_fault(get(api, "agents", api.agent(), "browse-requests", request_id), 404)


def test_requests_go_with_their_agent(api: Api) -> None:
    agent_id = api.agent()
    request_id = asked(
        post(api, "agents", agent_id, "browse-requests", body={"path": "/", "path_encoded": None}),
        "agents", agent_id, "browse-requests",
    )  # fmt: skip
    assert api.delete_agent(agent_id).status_code == 204
    assert_fault(get(api, "agents", agent_id, "browse-requests", request_id), 404)


def test_the_journal_masks_the_passwords(api: Api) -> None:
    agent_id = api.agent()
    body = {"old_encrypted_password_hex": None, "new_encrypted_password_hex": PASSWORD}
    asked(post(api, "agents", agent_id, "vault-encryption-requests", body=body),
          "agents", agent_id, "vault-encryption-requests")  # fmt: skip
    post(
        api,
        "agents",
        agent_id,
        "vault-encryption-requests",
        body={**body, "x": 1, "old_encrypted_password_hex": 3},
    )
    entries = api.client.get("/_control/requests").get_json()["requests"]
    assert PASSWORD not in json.dumps([e["body"] for e in entries])
    assert any("****" in (e["body"] or "") for e in entries)


def test_without_a_token_is_401(api: Api) -> None:
    agent_id = api.agent()
    body = json.dumps({"path": "/", "path_encoded": None})
    response = api.client.post(api.url("agents", agent_id, "browse-requests"), data=body, headers=JSON)
    assert_fault(response, 401)


def test_rights_by_role(tmp_path: Path, store_url: str) -> None:
    """Asking needs create, reporting and moving update, reading results read (SPEC's roles);
    a token of another project is 403 before anything is looked up."""
    tokens = {
        "admin": {"project_id": PROJECT, "roles": ["admin"]},
        "observer": {"project_id": PROJECT, "roles": ["observer"]},
        "creator": {"project_id": PROJECT, "roles": ["cloudbackup:creator"]},
        "other": {"project_id": "220022", "roles": ["admin"]},
    }
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(tokens))
    app = create_app(Settings(store_url=store_url, tokens_file=str(path), control=False))
    try:
        api = Api(app.test_client(), token="admin")
        agent_id, other = api.agent(), api.agent()
        browse = {"path": "/", "path_encoded": None}
        for token in ("observer", "other"):
            as_them = Api(api.client, token=token)
            assert_fault(post(as_them, "agents", agent_id, "browse-requests", body=browse), 403)
            assert_fault(post(as_them, "agents", other, "vault", body={"source_agent_id": agent_id}), 403)
        creator = Api(api.client, token="creator")
        request_id = asked(
            post(creator, "agents", agent_id, "browse-requests", body=browse),
            "agents",
            agent_id,
            "browse-requests",
        )
        url = ("agents", agent_id, "browse-requests", request_id)
        assert_fault(post(Api(api.client, token="observer"), *url, body={"succeeded": True}), 403)
        assert post(creator, *url, body={"succeeded": True}).status_code == 204
        assert get(Api(api.client, token="observer"), *url).status_code == 200
    finally:
        app.extensions["logfiles"].store.close()
