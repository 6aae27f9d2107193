"""Text no store can keep (lone surrogates) or that Swift refuses (NUL in names), on every store."""

from __future__ import annotations

import base64
import json

from flask.testing import FlaskClient

from tests.conftest import TOKEN, registration

AUTH = {"X-Auth-Token": TOKEN}


def test_a_lone_surrogate_escape_in_a_body_is_400(client: FlaskClient) -> None:
    answer = client.post(
        "/v2/p/events", data=b'{"event": "a\\ud800b"}', headers=AUTH, content_type="application/json"
    )
    assert answer.status_code == 400
    assert "lone surrogate" in answer.get_json()["errors"][0]


def register_named(client: FlaskClient, name_json: bytes) -> str:
    """Register an agent whose `name` is the JSON string `name_json` (escapes as written)."""
    body = json.dumps(registration(name="NAME")).encode().replace(b'"NAME"', name_json)
    answer = client.post("/v2/p/agents", data=body, headers=AUTH, content_type="application/json")
    assert answer.status_code == 201, answer.get_json()
    agent_id: str = answer.get_json()["id"]
    return agent_id


def test_a_paired_surrogate_escape_is_text(client: FlaskClient) -> None:
    agent_id = register_named(client, b'"\\ud83d\\ude00"')
    assert client.get(f"/v2/p/agents/{agent_id}", headers=AUTH).get_json()["name"] == "\U0001f600"
    (event,) = client.get(f"/v2/p/agents/{agent_id}/events", headers=AUTH).get_json()["events"]
    assert event["agent"]["name"] == "\U0001f600"


def test_a_name_with_nul_is_kept_as_sent(client: FlaskClient) -> None:
    agent_id = register_named(client, b'"a\\u0000b"')
    assert client.get(f"/v2/p/agents/{agent_id}", headers=AUTH).get_json()["name"] == "a\u0000b"
    (event,) = client.get(f"/v2/p/agents/{agent_id}/events", headers=AUTH).get_json()["events"]
    assert event["agent"]["name"] == "a\u0000b"


def test_a_state_document_with_a_lone_surrogate_is_400_and_changes_nothing(client: FlaskClient) -> None:
    document = b'{"agents": [{"id": "a\\udc80", "project_id": "p"}]}'
    answer = client.post("/_control/state", data=document, content_type="application/json")
    assert answer.status_code == 400
    assert client.get("/_control/state").get_json()["agents"] == []


def test_a_seeded_object_named_with_nul_is_400_and_seeds_nothing(client: FlaskClient) -> None:
    document = {
        "agents": [{"id": "agent", "project_id": "p"}],
        "objects": [
            {
                "project_id": "p",
                "container": "c",
                "name": "a\u0000b",
                "content_base64": base64.b64encode(b"x").decode(),
            }
        ],
    }
    answer = client.post("/_control/state", json=document)
    assert answer.status_code == 400
    assert "NUL" in " ".join(answer.get_json()["errors"])
    assert client.get("/_control/state").get_json()["agents"] == []
