"""The state document's documents: `documents` (export and import, every kind), and what a test
seeds with `configurations` and `jobs` (docs/control-plane.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from logfiles import state_document
from logfiles.schemas.state import MAX_SEEDED_DOCUMENTS
from tests.conftest import PROJECT, assert_fault

AGENT = "agent-1"
SEED: dict[str, Any] = {
    "agents": [{"id": AGENT, "project_id": PROJECT}, {"id": "agent-2", "project_id": PROJECT}],
    "logfiles": [{"id": "lf-1", "agent_id": AGENT}],
    "configurations": [
        {"id": "c1", "agent_id": AGENT, "name": "nightly", "enabled": True, "schedule": {"hour": 3}}
    ],
    "jobs": [
        {"type": "backup", "id": "b1", "agent_id": AGENT, "configuration_id": "c1",
         "last_updated_time": "2020-01-01T00:00:00.000001Z"},
        {"type": "restore", "id": "r1", "agent_id": "agent-2", "configuration_id": "c1", "backup_id": "b1",
         "state": "queued", "last_updated_time": "2020-01-01T00:00:01Z"},
        {"type": "cleanup", "id": "k1", "agent_id": AGENT, "state": "in_progress"},
    ],
}  # fmt: skip


def post(client: FlaskClient, document: Any, method: str = "post") -> Any:
    return getattr(client, method)("/_control/state", json=document)


def export(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/_control/state")
    assert response.status_code == 200
    body: dict[str, Any] = json.loads(response.get_data())
    return body


@pytest.mark.all_stores
def test_export_replace_export_is_identical(client: FlaskClient) -> None:
    answer = post(client, SEED)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["counts"]["documents"] == 4
    first = export(client)
    assert [(d["kind"], d["id"]) for d in first["documents"]] == [
        ("configuration", "c1"),
        ("backup", "b1"),
        ("restore", "r1"),
        ("cleanup", "k1"),
    ]
    response = post(client, first, "put")
    assert response.status_code == 200, response.get_json()
    assert export(client) == first


def test_seeded_documents_as_exported(client: FlaskClient) -> None:
    post(client, SEED)
    documents = {d["id"]: d for d in export(client)["documents"]}
    assert documents["c1"] == {
        "kind": "configuration",
        "project_id": PROJECT,
        "id": "c1",
        "parent": AGENT,
        "version": 1,
        "keys": {},
        "body": {**SEED["configurations"][0], "project_id": PROJECT},
    }
    restore = documents["r1"]
    assert restore["parent"] == "agent-2" and restore["version"] == 1
    assert restore["keys"] == {
        "backup_id": "b1",
        "configuration_id": "c1",
        "state": "queued",
        "time": "2020-01-01T00:00:01.000000Z",
    }
    assert restore["body"]["last_updated_time"] == "2020-01-01T00:00:01.000000Z"
    assert documents["b1"]["body"]["state"] == "completed"  # the default
    assert documents["k1"]["keys"]["configuration_id"] == ""  # none
    assert "configuration_id" not in documents["k1"]["body"]


def test_a_seeded_job_gets_an_id_and_the_seeds_time(client: FlaskClient) -> None:
    post(
        client,
        {"agents": [{"id": AGENT, "project_id": PROJECT}], "jobs": [{"type": "backup", "agent_id": AGENT}]},
    )
    (document,) = export(client)["documents"]
    assert document["id"] and document["body"]["last_updated_time"].endswith("Z")


def test_adding_to_a_stored_agent_takes_its_project(client: FlaskClient) -> None:
    post(client, {"agents": [{"id": AGENT, "project_id": "p9"}]})
    assert post(client, {"jobs": [{"type": "cleanup", "agent_id": AGENT}]}).status_code == 200
    assert export(client)["documents"][0]["project_id"] == "p9"


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"jobs": [{"type": "backup", "agent_id": "nobody"}]}, "jobs.0.agent_id: no agent 'nobody'"),
        ({"configurations": [{"agent_id": "nobody"}]}, "configurations.0.agent_id: no agent"),
        ({"jobs": [{"type": "snapshot", "agent_id": AGENT}]}, "jobs.0.type: "),
        ({"jobs": [{"type": "cleanup", "agent_id": AGENT, "state": "skipped"}]}, "jobs.0.state: a cleanup"),
        ({"jobs": [{"type": "backup", "agent_id": AGENT, "backup_id": "b"}]}, "jobs.0.backup_id: only"),
        ({"jobs": [{"type": "backup", "agent_id": AGENT, "last_updated_time": "yesterday"}]},
         "jobs.0.last_updated_time: "),
        ({"jobs": {"type": "backup"}}, "jobs: Not a valid list."),
        ({"configurations": [{"agent_id": AGENT, "name": ""}]}, "configurations.0.name: "),
        ({"configurations": [{"agent_id": AGENT, **{f"m{n}": n for n in range(101)}}]}, "configurations.0"),
        ({"documents": [{"kind": "snapshot_request", "project_id": PROJECT, "id": "x", "parent": AGENT,
                         "version": 1, "body": {}}]}, "documents.0.kind: "),
        ({"documents": [{"kind": "configuration", "project_id": PROJECT, "id": "x", "parent": AGENT,
                         "version": 0, "body": {}}]}, "documents.0.version: "),
        ({"documents": [{"kind": "configuration", "project_id": PROJECT, "id": "x", "parent": "nobody",
                         "version": 1, "body": {}}]}, "documents: configuration 'x' names agent 'nobody'"),
        ({"documents": [{"kind": "backup", "project_id": PROJECT, "id": "x", "parent": AGENT, "version": 1,
                         "keys": {"state": "queued"}, "body": {}}]}, "documents: kind backup indexes"),
        ({"documents": [{"kind": "configuration", "project_id": PROJECT, "id": "x", "parent": AGENT,
                         "version": 1, "keys": {"k": "v" * 256}, "body": {}}]}, "documents.0.keys"),
    ],
)  # fmt: skip
def test_a_bad_document_is_400_and_seeds_nothing(client: FlaskClient, document: Any, where: str) -> None:
    post(client, {"agents": [{"id": AGENT, "project_id": PROJECT}]})
    before = export(client)
    body = assert_fault(post(client, document), 400)
    assert body["errors"][0].startswith(where), body
    assert export(client) == before


def test_a_taken_document_id_is_409_and_seeds_nothing(client: FlaskClient) -> None:
    post(client, SEED)
    before = export(client)
    again = {
        "agents": [{"id": "agent-3", "project_id": PROJECT}],
        "jobs": [{"type": "backup", "id": "b1", "agent_id": "agent-3"}],
    }
    assert_fault(post(client, again), 409)
    assert export(client) == before
    twice = {
        "agents": [{"id": "agent-9", "project_id": PROJECT}],
        "configurations": [{"id": "z", "agent_id": "agent-9"}] * 2,
    }
    assert_fault(post(client, twice), 409)
    assert export(client) == before


def test_reset_with_a_bad_document_keeps_the_store(client: FlaskClient) -> None:
    post(client, SEED)
    before = export(client)
    twice = {
        "agents": [{"id": "a", "project_id": PROJECT}],
        "jobs": [{"type": "backup", "id": "x", "agent_id": "a"}] * 2,
    }
    assert_fault(client.post("/_control/reset", json=twice), 409)
    assert export(client) == before
    assert client.post("/_control/reset", json=SEED).status_code == 200
    assert len(export(client)["documents"]) == 4


def test_reset_and_replace_clear_the_documents(client: FlaskClient) -> None:
    post(client, SEED)
    assert post(client, {"agents": SEED["agents"]}, "put").status_code == 200
    assert export(client)["documents"] == []
    post(client, SEED, "put")
    assert client.post("/_control/reset").status_code == 204
    assert export(client)["documents"] == []


def test_too_many_documents_is_400(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sections count together (the bound itself, MAX_SEEDED_DOCUMENTS, lowered to keep it quick)."""
    monkeypatch.setattr(state_document, "MAX_SEEDED_DOCUMENTS", 10)
    post(client, {"agents": [{"id": AGENT, "project_id": PROJECT}]})
    document = {
        "configurations": [{"agent_id": AGENT}] * 6,
        "jobs": [{"type": "backup", "agent_id": AGENT}] * 5,
    }
    body = assert_fault(post(client, document), 400)
    assert body["errors"][0].startswith("jobs: at most 10 documents"), body
    assert export(client)["documents"] == []
    document["jobs"] = document["jobs"][:4]
    assert post(client, document).status_code == 200
    assert MAX_SEEDED_DOCUMENTS == 100_000
