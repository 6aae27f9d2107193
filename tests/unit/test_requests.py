"""The requests' pure core (logfiles/requests.py) and schemas: what each page asks, the
results and their retries, the pages' 403s, moving a vault."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from marshmallow import ValidationError

from logfiles import requests
from logfiles.activities import Job, job_document
from logfiles.errors import Conflict, Forbidden, Invalid, NotFound
from logfiles.model import Agent, agent_vault, new_vault, with_vault
from logfiles.schemas.requests import BROWSE_RESULTS, ENCRYPTION_REQUEST, HOST_BROWSE, VERIFICATION_RESULTS

T0 = datetime(2014, 10, 9, 12, 26, 26, 233501, tzinfo=UTC)
REGION = "DFW"
HEX = "0bff42a526c78076a3d986fa75eecd 83211f166fd7692797cdde2317faee544e3300614fd54b8c0d81f975"


def agent(agent_id: str, encrypted: bool = False, use_internal: bool = False) -> Agent:
    plain = Agent(id=agent_id, project_id="p", registered_time=T0)
    vault = dataclasses.replace(new_vault(f"v-{agent_id}", REGION, use_internal), encrypted=encrypted)
    return with_vault(plain, vault)


def browse() -> Any:
    document, event = requests.browse_host("p", "r1", "a1", T0, {"path": "/etc", "path_encoded": None})
    return document, event


def test_a_browse_request_and_its_event() -> None:
    document, event = browse()
    assert (document.kind, document.parent, document.keys) == ("browse_request", "a1", {"backup_id": ""})
    assert document.body["state"] == requests.REQUESTED
    assert (event.agent_id, event.event) == ("a1", "host_browse")
    assert event.details == {"agent": {"id": "a1"}, "request_id": "r1", "path": "/etc", "path_encoded": None}


def test_results_are_404_until_reported_then_the_page_body() -> None:
    document, _ = browse()
    with pytest.raises(NotFound):
        requests.results_body(document)
    kept = requests.browse_results(document, {"succeeded": True, "items": []})
    after = requests.reported(document, kept, T0 + timedelta(seconds=1))
    body = requests.results_body(after)
    assert list(body) == [
        "id", "time", "event", "agent", "request_id", "succeeded", "path", "path_encoded", "items",
    ]  # fmt: skip
    assert body["event"] == "host_browsed" and body["path"] == "/etc"
    assert body["id"].isdigit() and body["id"] == requests.results_body(after)["id"]
    assert body["time"] == "2014-10-09T12:26:27.233501Z"


def test_a_retry_writes_nothing_and_other_results_conflict() -> None:
    document, _ = browse()
    kept = requests.browse_results(document, {"succeeded": True})
    after = requests.reported(document, kept, T0)
    assert requests.reported(after, kept, T0 + timedelta(hours=1)) is after
    with pytest.raises(Conflict):
        requests.reported(after, {**kept, "succeeded": False}, T0)


def test_a_backup_browse_event_shows_the_vault_holding_the_backup() -> None:
    backup = job_document(Job("backup", "p", "b1", "a1", "completed", T0, configuration_id="c1"))
    asked = {"agent_id": "a2", "path": "/", "path_encoded": None, "encrypted_password_hex": HEX}
    vault = agent_vault(agent("a1", encrypted=True), REGION)
    document, event = requests.browse_backup("p", "r1", backup, vault, T0, asked)
    assert document.parent == "a2" and document.keys == {"backup_id": "b1"}
    assert event.agent_id == "a2" and event.event == "backup_browse"
    assert event.details["agent"] == {"id": "a2", "vault": {"id": "v-a1", "encrypted": True}}
    assert event.details["configuration"] == {"id": "c1"} and event.details["backup"] == {
        "id": "b1",
        "snapshot_id": None,
    }
    assert "encrypted_password_hex" not in document.body
    assert requests.backup_agent_id(backup) == "a1"
    with pytest.raises(NotFound):
        requests.request_of(document, backup_id="b2")
    assert requests.request_of(document, backup_id="b1") is document


@pytest.mark.parametrize(
    ("encrypted", "old_given", "expected"),
    [(False, False, "enabled"), (True, True, "changed"), (False, True, None), (True, False, None)],
)
def test_the_encryption_pages_403s(encrypted: bool, old_given: bool, expected: str | None) -> None:
    vault = agent_vault(agent("a1", encrypted=encrypted), REGION)
    if expected is None:
        with pytest.raises(Forbidden):
            requests.encryption_action(vault, old_given)
    else:
        assert requests.encryption_action(vault, old_given) == expected


def test_an_enable_that_succeeded_encrypts_and_a_mismatched_action_conflicts() -> None:
    asked = {"old_encrypted_password_hex": None, "new_encrypted_password_hex": HEX}
    document, event = requests.encryption_request("p", "r1", "a1", T0, "enabled", asked)
    assert event.event == "vault_encryption_enable" and event.details["encrypted_password_hex"] == HEX
    assert HEX not in str(document.body)
    with pytest.raises(Conflict):
        requests.encryption_results(document, {"action": "changed", "succeeded": True})
    after = requests.reported(
        document, requests.encryption_results(document, {"action": "enabled", "succeeded": True}), T0
    )
    assert requests.encrypted_by(after)
    assert "action" not in requests.results_body(after)
    changed = requests.encrypted(agent("a1"), REGION)
    assert agent_vault(changed, REGION).encrypted is True
    assert requests.encrypted(changed, REGION) is changed


def test_verification_needs_an_encrypted_vault() -> None:
    with pytest.raises(Forbidden) as refused:
        requests.verification_target(agent_vault(agent("a2"), REGION), "a2")
    assert refused.value.message == "Encryption is not enabled for this agent's vault."
    requests.verification_target(agent_vault(agent("a2", encrypted=True), REGION), "a2")


def test_moving_a_vault() -> None:
    source, destination = agent("s", use_internal=True), agent("d", use_internal=False)
    move = requests.VaultMove("s", "d", "fresh", REGION)
    move.check(source, destination, 0)
    after = move.moved({"s": source, "d": destination})
    moved, fresh = agent_vault(after["d"], REGION), agent_vault(after["s"], REGION)
    assert (moved.id, moved.name, moved.use_internal) == ("v-s", "phoenix_v-s", False)
    assert (fresh.id, fresh.name, fresh.use_internal, fresh.encrypted) == (
        "fresh",
        "phoenix_fresh",
        True,
        False,
    )
    with pytest.raises(Forbidden):
        move.check(source, destination, 3)
    with pytest.raises(Forbidden):
        move.check(agent("s", encrypted=True), destination, 0)
    with pytest.raises(Forbidden):
        move.moved({"s": agent("s", encrypted=True), "d": destination})
    backup = job_document(Job("backup", "p", "b1", "s", "completed", T0))
    rehomed = move.rehomed(backup)
    assert (rehomed.parent, rehomed.body["agent_id"], rehomed.id) == ("d", "d", "b1")
    with pytest.raises(Invalid):
        requests.check_move_body("d", "d")


# Schemas: the pages' members, and our bounds.


def test_password_hex_takes_the_pages_spacing_and_never_repeats_a_value() -> None:
    assert ENCRYPTION_REQUEST.load({"old_encrypted_password_hex": None, "new_encrypted_password_hex": HEX})
    with pytest.raises(ValidationError) as bad:
        ENCRYPTION_REQUEST.load({"old_encrypted_password_hex": "secret!", "new_encrypted_password_hex": " "})
    assert "secret!" not in str(bad.value.messages)
    assert set(bad.value.messages) == {"old_encrypted_password_hex", "new_encrypted_password_hex"}


def test_browse_bodies() -> None:
    assert HOST_BROWSE.load({"path": "/", "path_encoded": None}) == {"path": "/", "path_encoded": None}
    with pytest.raises(ValidationError):
        HOST_BROWSE.load({"path": ""})
    loaded = BROWSE_RESULTS.load({"succeeded": False})
    assert loaded == {"succeeded": False, "items": []}
    with pytest.raises(ValidationError):
        BROWSE_RESULTS.load({"succeeded": True, "items": [{"name": "x", "bytes": True, "mime_type": "t"}]})


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("false", False)])
def test_verified_is_a_boolean_or_its_text(value: Any, expected: bool) -> None:
    assert VERIFICATION_RESULTS.load({"verified": value}) == {"verified": expected}


def test_verified_refuses_anything_else() -> None:
    with pytest.raises(ValidationError):
        VERIFICATION_RESULTS.load({"verified": 1})
