"""Control plane, agent side: seeded passwords, fingerprints, roles and events (design10: Control plane)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from logfiles import Settings
from tests.conftest import PROJECT, REGISTRATION, TOKEN, Api, assert_fault

OTHER_PROJECT = "220022"
WHEN = "2030-01-02T03:04:05.123456Z"
FIVE_MINUTES_BEFORE = "2030-01-02T02:59:05.123456Z"
ELEVEN_MINUTES_BEFORE = "2030-01-02T02:53:05.123456Z"
TOKENS = {
    TOKEN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
    "token-creator": {"project_id": PROJECT, "roles": ["cloudbackup:creator"]},
}


def seed(api: Api, document: dict[str, Any], method: str = "post") -> dict[str, Any]:
    response = api.control(method, "state", document)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def export(api: Api) -> dict[str, Any]:
    response = api.control("get", "state")
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def agent_item(**extra: Any) -> dict[str, Any]:
    return {"id": "agent-1", "project_id": PROJECT, **extra}


def exported_agent(api: Api, agent_id: str) -> dict[str, Any]:
    (item,) = [a for a in export(api)["agents"] if a["id"] == agent_id]
    return item


def events_of(api: Api, agent_id: str | None = None, project_id: str | None = None) -> list[dict[str, Any]]:
    """A feed oldest first (the project's is newest first by default)."""
    response = api.list_events(agent_id, "sort_dir=asc", project_id=project_id)
    assert response.status_code == 200, response.get_data(as_text=True)
    events: list[dict[str, Any]] = response.get_json()["events"]
    return events


def authenticate(api: Api, agent_id: str, password: str, **extra: Any) -> int:
    return api.authenticate({"id": agent_id, "password": password, **extra}).status_code


# Passwords and fingerprints.


def test_seeded_agent_with_password_authenticates_at_once(api: Api) -> None:
    seed(api, {"agents": [agent_item(password="s3cret", fingerprint="fp-1")]})
    response = api.authenticate({"id": "agent-1", "password": "s3cret"})
    assert response.status_code == 200, response.get_json()
    token = response.get_json()["token"]["id"]
    assert api.get_agent("agent-1", token=token).status_code == 200
    assert authenticate(api, "agent-1", "s3cret", host={"fingerprint": "fp-1"}) == 200
    assert authenticate(api, "agent-1", "wrong") == 401
    assert authenticate(api, "agent-1", "s3cret", project_id="whatever") == 200


def test_seeded_fingerprint_is_the_registered_one(api: Api) -> None:
    seed(api, {"agents": [agent_item(password="s3cret", fingerprint="fp-1")]})
    # The agent's body does not show the fingerprint (the pages' bodies have none); its export does.
    assert "fingerprint" not in api.get_agent("agent-1").get_json()["host"]
    assert exported_agent(api, "agent-1")["registration"]["host"]["fingerprint"] == "fp-1"
    response = api.authenticate({"id": "agent-1", "password": "s3cret", "host": {"fingerprint": "fp-2"}})
    assert "two agents" in assert_fault(response, 409)["message"].lower()


def test_seeded_agent_of_other_project_authenticates_there(api: Api) -> None:
    seed(api, {"agents": [agent_item(project_id=OTHER_PROJECT, password="pw")]})
    assert authenticate(api, "agent-1", "pw") == 401
    response = api.authenticate({"id": "agent-1", "password": "pw"}, project_id=OTHER_PROJECT)
    assert response.status_code == 200


def test_export_shows_password_sha256_not_the_password(api: Api) -> None:
    seed(api, {"agents": [agent_item(password="s3cret")]})
    registered = api.registered()
    for agent_id, password in (("agent-1", "s3cret"), (registered["id"], registered["password"])):
        item = exported_agent(api, agent_id)
        assert "password" not in item, item
        assert isinstance(item["password_sha256"], str) and item["password_sha256"], item
        assert password not in json.dumps(export(api))


def test_export_password_sha256_is_the_hex_digest(api: Api) -> None:
    seed(api, {"agents": [agent_item(password="s3cret")]})
    assert exported_agent(api, "agent-1")["password_sha256"] == hashlib.sha256(b"s3cret").hexdigest()


def test_seeded_password_sha256_authenticates(api: Api) -> None:
    digest = hashlib.sha256(b"pw-from-digest").hexdigest()
    seed(api, {"agents": [agent_item(password_sha256=digest)]})
    assert authenticate(api, "agent-1", "pw-from-digest") == 200
    assert authenticate(api, "agent-1", digest) == 401


def test_password_and_password_sha256_together_is_400(api: Api) -> None:
    before = export(api)
    item = agent_item(password="pw", password_sha256=hashlib.sha256(b"pw").hexdigest())
    errors = assert_fault(api.control("post", "state", {"agents": [item]}), 400)["errors"]
    assert any(e.startswith("agents.0") for e in errors), errors
    assert export(api) == before


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"password": 1}, "agents.0.password"),
        ({"password_sha256": 1}, "agents.0.password_sha256"),
        ({"fingerprint": 7}, "agents.0.fingerprint"),
        ({"roles": "admin"}, "agents.0.roles"),
        ({"roles": [1]}, "agents.0.roles"),
    ],
)
def test_bad_agent_side_members_are_400(api: Api, change: dict[str, Any], where: str) -> None:
    api.agent()
    before = export(api)
    errors = assert_fault(api.control("post", "state", {"agents": [agent_item(**change)]}), 400)["errors"]
    assert any(e.startswith(where) for e in errors), errors
    assert export(api) == before


@pytest.mark.parametrize("method", ["put", "post"])
def test_export_import_round_trip_keeps_authentication(api: Api, method: str) -> None:
    seed(api, {"agents": [agent_item(password="s3cret", fingerprint="fp-1")]})
    registered = api.registered()
    exported = export(api)
    api.reset()
    assert authenticate(api, registered["id"], registered["password"]) == 401
    seed(api, exported, method)
    assert authenticate(api, registered["id"], registered["password"]) == 200
    assert authenticate(api, "agent-1", "s3cret") == 200
    assert authenticate(api, "agent-1", "s3cret", host={"fingerprint": "fp-2"}) == 409
    fingerprint = REGISTRATION["host"]["fingerprint"]
    assert (
        authenticate(api, registered["id"], registered["password"], host={"fingerprint": fingerprint}) == 200
    )
    again = export(api)
    assert again["agents"] == exported["agents"]


def test_tokens_are_not_exported(api: Api) -> None:
    agent = api.registered()
    token = api.agent_token(agent["id"], agent["password"])
    exported = export(api)
    assert token not in json.dumps(exported)


# Events.


def test_seeded_events_show_in_the_feeds(api: Api) -> None:
    seed(
        api,
        {
            "agents": [agent_item(), {"id": "agent-2", "project_id": PROJECT}],
            "events": [
                {"agent_id": "agent-1", "event": "startup"},
                {"project_id": PROJECT, "event": "agent_activate", "mode": "active"},
                {"agent_id": "agent-2", "project_id": PROJECT, "event": "backup_now", "request_id": "r-1"},
            ],
        },
    )
    mine = [e for e in events_of(api, "agent-1") if e["event"] != "agent_registered"]
    assert [e["event"] for e in mine] == ["startup", "agent_activate"]
    assert mine[0]["agent"] == {"id": "agent-1"}
    assert "agent" not in mine[1] and mine[1]["mode"] == "active"
    theirs = [e for e in events_of(api, "agent-2") if e["event"] != "agent_registered"]
    assert [e["event"] for e in theirs] == ["agent_activate", "backup_now"]
    assert theirs[1]["request_id"] == "r-1"
    project = [e["event"] for e in events_of(api) if e["event"] != "agent_registered"]
    assert project == ["startup", "agent_activate", "backup_now"]
    ids = [int(e["id"]) for e in events_of(api)]
    assert ids == sorted(set(ids))


def test_seeded_event_time_mode_and_links_are_shown(api: Api) -> None:
    api.freeze_clock(WHEN)
    links = [{"href": "https://storage.example/v1/x/CloudBackupLogs/y.gz", "rel": "logfile"}]
    seed(
        api,
        {
            "agents": [agent_item()],
            "events": [
                {
                    "agent_id": "agent-1",
                    "event": "logfile_upload",
                    "time": FIVE_MINUTES_BEFORE,
                    "request_id": "lf-1",
                    "links": links,
                },
                {"agent_id": "agent-1", "event": "startup", "mode": "idle"},
            ],
        },
    )
    upload, startup = [e for e in events_of(api, "agent-1") if e["event"] != "agent_registered"]
    assert upload["time"] == FIVE_MINUTES_BEFORE
    assert upload["request_id"] == "lf-1"
    assert upload["links"] == links
    assert startup["time"] == WHEN
    assert startup["mode"] == "idle"


def test_seeded_event_older_than_retention_is_not_listed(api: Api) -> None:
    api.freeze_clock(WHEN)
    seed(
        api,
        {
            "agents": [agent_item()],
            "events": [
                {"agent_id": "agent-1", "event": "old", "time": ELEVEN_MINUTES_BEFORE},
                {"agent_id": "agent-1", "event": "recent", "time": FIVE_MINUTES_BEFORE},
            ],
        },
    )
    names = [e["event"] for e in events_of(api, "agent-1")]
    assert "old" not in names and "recent" in names


def test_seeded_events_for_an_existing_agent(api: Api) -> None:
    agent_id = api.agent()
    seed(api, {"events": [{"agent_id": agent_id, "event": "startup"}]})
    assert [e["event"] for e in events_of(api, agent_id)] == ["agent_registered", "startup"]


def test_export_shows_events_and_import_keeps_them_with_their_ids(api: Api) -> None:
    agent_id = api.agent()
    api.post_event({"event": "shutdown"}, agent_id)
    api.post_event({"event": "agent_activate", "mode": "active"})
    exported = export(api)
    items = exported["events"]
    assert [e["event"] for e in items] == ["agent_registered", "agent_shutdown", "agent_activate"]
    assert all(isinstance(e["id"], str) and e["id"].isdigit() for e in items), items
    listed = events_of(api)
    assert [e["id"] for e in items] == [e["id"] for e in listed]
    seed(api, exported, "put")
    assert events_of(api) == listed  # the same feed: ids, members and order
    assert export(api) == exported
    # A taken id is a conflict, and nothing changes.
    assert_fault(api.client.post("/_control/state", json={"events": items[:1]}), 409)
    assert export(api) == exported
    # An event without an id is numbered after the newest.
    seed(api, {"events": [{"project_id": api.project_id, "event": "later"}]})
    newest = events_of(api)[-1]
    assert newest["event"] == "later"
    assert int(newest["id"]) > int(items[-1]["id"])


BAD_EVENTS: list[tuple[Any, str]] = [
    ([{"event": "x"}], "events.0"),
    ([{"agent_id": "nobody", "event": "x"}], "events.0.agent_id"),
    ([{"agent_id": "agent-1", "project_id": OTHER_PROJECT, "event": "x"}], "events.0"),
    ([{"project_id": PROJECT}], "events.0.event"),
    ([{"agent_id": "agent-1"}], "events.0.event"),
    ([{"project_id": PROJECT, "event": 1}], "events.0.event"),
    ([{"project_id": PROJECT, "event": None}], "events.0.event"),
    ([{"project_id": PROJECT, "event": "x", "time": "yesterday"}], "events.0.time"),
    ([{"project_id": 1, "event": "x"}], "events.0.project_id"),
    ([{"project_id": PROJECT, "event": "x"}, "startup"], "events.1"),
    ("startup", "events"),
]


@pytest.mark.parametrize(("events", "where"), BAD_EVENTS, ids=range(len(BAD_EVENTS)))
@pytest.mark.parametrize("method", ["put", "post"])
def test_bad_event_items_are_400_and_change_nothing(api: Api, method: str, events: Any, where: str) -> None:
    seed(api, {"agents": [agent_item()]})
    before = export(api)
    feed_before = events_of(api)
    document = {"agents": [agent_item()] if method == "put" else [], "events": events}
    errors = assert_fault(api.control(method, "state", document), 400)["errors"]
    assert any(e.startswith(where) for e in errors), errors
    assert export(api) == before
    assert events_of(api) == feed_before


class TestWithTokensFile:
    @pytest.fixture
    def settings(self, tmp_path: Path, store_url: str) -> Settings:
        path = tmp_path / "tokens.json"
        path.write_text(json.dumps(TOKENS))
        return Settings(store_url=store_url, tokens_file=str(path), control_open=True)

    def test_seeded_roles_are_the_agent_tokens_roles(self, api: Api) -> None:
        seed(api, {"agents": [agent_item(password="pw", roles=["cloudbackup:observer"])]})
        token = api.agent_token("agent-1", "pw")
        assert api.get_agent("agent-1", token=token).status_code == 200
        assert_fault(api.set_enabled("agent-1", False, token=token), 403)
        assert_fault(api.delete_agent("agent-1", token=token), 403)

    def test_seeded_roles_null_is_full_rights_on_the_project(self, api: Api) -> None:
        seed(api, {"agents": [agent_item(password="pw", roles=None), {"id": "b", "project_id": PROJECT}]})
        token = api.agent_token("agent-1", "pw")
        assert api.delete_agent("b", token=token).status_code == 204
        assert_fault(api.list_agents(token=token, project_id=OTHER_PROJECT), 403)

    def test_export_shows_the_registering_tokens_roles_and_they_round_trip(self, api: Api) -> None:
        agent = api.registered(token="token-creator")
        assert exported_agent(api, agent["id"])["roles"] == ["cloudbackup:creator"]
        exported = export(api)
        api.reset()
        seed(api, exported, "put")
        token = api.agent_token(agent["id"], agent["password"])
        assert api.get_agent(agent["id"], token=token).status_code == 200
        assert_fault(api.delete_agent(agent["id"], token=token), 403)


def test_export_of_an_agents_own_activation_imports_as_the_same_feed(api: Api) -> None:
    """An `agent_activate` posted for one agent shows no `agent` (the feed pages' shape), and
    an export of it imports as it was."""
    agent_id = api.agent()
    assert api.post_event({"event": "agent_activate", "mode": "idle"}, agent_id).status_code == 202
    listed = events_of(api, agent_id)
    assert "agent" not in listed[-1]
    exported = export(api)
    seed(api, exported, "put")
    assert events_of(api, agent_id) == listed
    assert export(api) == exported
