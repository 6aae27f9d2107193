"""The dashboard's agent view lists the agent's configurations beside its log files."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask.testing import FlaskClient

from logfiles.dashboard.configurations import ConfigurationRow, row
from logfiles.documents import Document

DASHBOARD = "/_control/dashboard"
HOSTILE = '<script>alert("x")</script>'
SCHEDULE = {
    "start": "2014-08-05T18:22:21Z",
    "recurrence": ["RRULE:FREQ=HOURLY;INTERVAL=2"],
    "time_zone": "US/Central",
}


def seed(client: FlaskClient) -> None:
    document = {
        "agents": [{"id": "a", "project_id": "p"}, {"id": "b", "project_id": "p"}],
        "configurations": [
            {"id": "c1", "agent_id": "a", "name": "Every Other Hour", "enabled": True, "schedule": SCHEDULE},
            {"id": "c2", "agent_id": "a", "name": HOSTILE, "enabled": False},
            {"id": "c3", "agent_id": "b", "name": "not a's"},
        ],
    }  # fmt: skip
    assert client.post("/_control/state", json=document).status_code == 200


def test_an_agents_configurations_show_beside_its_logfiles(client: FlaskClient) -> None:
    seed(client)
    response = client.get(f"{DASHBOARD}/logfiles?project=p&agent=a")
    assert response.status_code == 200 and response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert re.findall(r'<tr data-configuration="([^"]+)"', text) == ["c1", "c2"]
    # The next backup's time is the one the details page shows, on the service clock.
    details = client.get("/v2/p/configurations/c1", headers={"X-Auth-Token": "t"}).get_json()
    next_time = details["backups"]["next"]["scheduled_time"]
    first = text[text.index('data-configuration="c1"') : text.index('data-configuration="c2"')]
    for shown in (
        "Every Other Hour",
        "yes",
        "RRULE:FREQ=HOURLY;INTERVAL=2",
        "US/Central",
        next_time,
    ):
        assert shown in first, shown
    assert HOSTILE not in text and "&lt;script&gt;" in text  # autoescaped


def test_no_configurations_says_so(client: FlaskClient) -> None:
    assert (
        client.post("/_control/state", json={"agents": [{"id": "a", "project_id": "p"}]}).status_code == 200
    )
    text = client.get(f"{DASHBOARD}/logfiles?project=p&agent=a").get_data(as_text=True)
    assert "No configurations." in text


def test_a_row_reads_odd_bodies_leniently() -> None:
    odd = Document(
        "configuration", "p", "c", {"name": 5, "enabled": "yes", "schedule": [], "backups": 1}, "a"
    )
    now = datetime(2026, 12, 7, tzinfo=UTC)
    assert row(odd, now) == ConfigurationRow("c", "", None, "", "")
    partial = Document(
        "configuration", "p", "c", {"schedule": {"recurrence": ["R", 3], "time_zone": None}}, "a"
    )
    assert row(partial, now).schedule == "R"
