"""Seeded ids every URL can reach, and event numbers that stay within the feeds' markers
(issue 20, points 5 and 7)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from logfiles.events import MAX_SEEDED_EVENT_ID
from tests.conftest import PROJECT, Api, assert_fault


def seed(client: FlaskClient, document: dict[str, Any]) -> Any:
    return client.post("/_control/state", json=document)


def test_seed_event_id_of_18_digits_is_400_and_seeds_nothing(client: FlaskClient) -> None:
    document = {
        "agents": [{"id": "a1", "project_id": PROJECT}],
        "events": [{"id": "999999999999999999", "agent_id": "a1", "event": "x"}],
    }
    body = assert_fault(seed(client, document), 400)
    assert any(error.startswith("events.0.id:") for error in body["errors"]), body
    assert client.get("/_control/state").get_json()["agents"] == []


def test_seed_event_id_at_the_bound_keeps_feed_links_working(api: Api, client: FlaskClient) -> None:
    document = {
        "agents": [{"id": "a1", "project_id": PROJECT}],
        "events": [{"id": str(MAX_SEEDED_EVENT_ID), "agent_id": "a1", "event": "x"}],
    }
    assert seed(client, document).status_code == 200
    assert api.post_event({"event": "heartbeat"}, "a1").status_code == 202
    page = api.list_events("a1", "limit=1")
    assert page.status_code == 200
    (next_link,) = [link["href"] for link in page.get_json()["links"] if link["rel"] == "next"]
    assert client.get(next_link, headers=api.headers()).status_code == 200
    assert [int(e["id"]) for e in client.get("/_control/state").get_json()["events"]] == [
        MAX_SEEDED_EVENT_ID,
        MAX_SEEDED_EVENT_ID + 1,
    ]


def test_export_after_seeding_a_big_event_id_imports_again(api: Api, client: FlaskClient) -> None:
    document = {
        "agents": [{"id": "a1", "project_id": PROJECT}],
        "events": [{"id": "123456789012345", "agent_id": "a1", "event": "x"}],
    }
    assert seed(client, document).status_code == 200
    assert api.post_event({"event": "heartbeat"}, "a1").status_code == 202
    exported = client.get("/_control/state").get_json()
    assert client.put("/_control/state", json=exported).status_code == 200
    assert client.get("/_control/state").get_json()["events"] == exported["events"]


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("project_id", "a/b"),
        ("project_id", "."),
        ("project_id", ".."),
        ("project_id", "p.xml"),
        ("id", "x/y"),
        ("id", "tokens"),
        ("id", "a.XML"),
    ],
)
def test_seed_agent_that_no_url_reaches_is_400(client: FlaskClient, member: str, value: str) -> None:
    agent = {"id": "a1", "project_id": PROJECT, member: value}
    body = assert_fault(seed(client, {"agents": [agent]}), 400)
    assert any(error.startswith(f"agents.0.{member}:") for error in body["errors"]), body
    assert client.get("/_control/state").get_json()["agents"] == []


def test_seed_logfile_or_event_that_no_url_reaches_is_400(client: FlaskClient) -> None:
    document = {
        "agents": [{"id": "a1", "project_id": PROJECT}],
        "logfiles": [{"id": "l/1", "agent_id": "a1"}],
        "events": [{"project_id": "p/q", "event": "x"}],
    }
    body = assert_fault(seed(client, document), 400)
    assert {error.split(":")[0] for error in body["errors"]} == {"logfiles.0.id", "events.0.project_id"}
