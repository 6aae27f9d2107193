"""The dashboard's jobs view: an agent's vault, its backups, restores and cleanups, and the pane
where a person watches one job's progress (fragments through the test client; the job bodies
as the guide's details pages show them)."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from logfiles import Settings
from logfiles.activities import Job, job_document
from logfiles.dashboard.jobs import Step, job_row, progress, size_text, value_text
from logfiles.documents import Document
from tests.conftest import assert_fault

DASHBOARD = "/_control/dashboard"
HOSTILE = '<script>alert("x")</script>'
WHEN = datetime(2014, 8, 5, 18, 22, 22, tzinfo=UTC)
# The finished results of the backup details page's example (its errors without the links).
BACKUP_RESULTS: dict[str, Any] = {
    "started_time": "2014-08-05T18:22:22.238641Z",
    "ended_time": "2014-08-05T18:23:50.489715Z",
    "snapshot_id": 1111,
    "errors": {
        "count": 1,
        "reason": "unable_to_process_some_files",
        "diagnostics": "Some files could not be backed up. Partial list follows.",
    },
    "files_searched": 1222,
    "files_backed_up": 6,
    "bytes_searched": 3700000000,
    "bytes_backed_up": 127000000,
    "bytes_in_db": 49340871,
    "bandwidth_avg_bps": 16628982,
    "restorable": True,
}
RESTORE_RESULTS: dict[str, Any] = {
    "started_time": "2014-10-20T13:11:58.985151Z",
    "ended_time": "2014-10-20T13:12:58.985151Z",
    "errors": {"count": 1, "reason": "unable_to_process_some_files", "diagnostics": None},
    "files_restored": 2,
    "bytes_restored": 1512,
}
CLEANUP_RESULTS: dict[str, Any] = {
    "started_time": "2014-10-10T19:05:44.632393Z",
    "ended_time": "2014-10-10T19:35:44.632393Z",
    "snapshot_ids": [23, 51],
    "errors": {"count": 1, "reason": "Error deleting object. Server returned HTTP 503", "diagnostics": None},
    "bytes_before": 1073741824,
    "bytes_after": 1067030938,
}


def stored(
    kind: str, job_id: str, agent: str, state: str, extra: dict[str, Any] | None = None, **more: Any
) -> dict[str, Any]:
    """A job as the state document's `documents` section takes it: the jobs' own document
    (activities.job_document), with the members its details page shows in `extra`."""
    document = job_document(Job(kind, "p", job_id, agent, state, more.pop("time", WHEN), **more), extra)
    return {
        "kind": document.kind,
        "project_id": document.project_id,
        "id": document.id,
        "parent": document.parent,
        "keys": dict(document.keys),
        "version": 1,
        "body": dict(document.body),
    }


def seed(client: FlaskClient, **sections: Any) -> None:
    document = {"agents": [{"id": "a", "project_id": "p"}, {"id": "b", "project_id": "p"}], **sections}
    response = client.post("/_control/state", json=document)
    assert response.status_code == 200, response.get_json()


def html(response: TestResponse) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def jobs_of(client: FlaskClient, agent: str = "a") -> str:
    return html(client.get(f"{DASHBOARD}/jobs?project=p&agent={agent}"))


def watched(client: FlaskClient, kind: str, job_id: str) -> str:
    return html(client.get(f"{DASHBOARD}/job?project=p&kind={kind}&id={job_id}"))


def rows(text: str, kind: str) -> list[tuple[str, str]]:
    """(id, state) of each row of the kind's table, in order."""
    table = text[text.index(f'<table class="jobs" data-kind="{kind}">') :]
    table = table[: table.index("</table>")]
    return re.findall(r'<tr data-job="([^"]+)".*?data-state="([^"]+)"', table, re.S)


def steps(text: str) -> list[tuple[str, str]]:
    return re.findall(r'data-step="([^"]+)" data-status="([^"]+)"', text)


# The agent's jobs.


def test_an_agents_jobs_of_each_kind_newest_first_with_their_results(client: FlaskClient) -> None:
    seed(
        client,
        jobs=[
            {"type": "backup", "id": "b-old", "agent_id": "a", "state": "queued",
             "last_updated_time": "2014-08-05T18:00:00Z", "configuration_id": "c1"},
            {"type": "backup", "id": "b-new", "agent_id": "a", "state": "in_progress",
             "last_updated_time": "2014-08-05T19:00:00Z"},
            {"type": "cleanup", "id": "k-other", "agent_id": "b", "state": "queued"},
        ],
        documents=[
            stored("backup", "b-done", "a", "completed_with_errors", BACKUP_RESULTS, configuration_id="c1"),
            stored("restore", "r1", "a", "completed_with_errors", RESTORE_RESULTS, backup_id="b-done"),
            stored("cleanup", "k1", "a", "completed_with_errors", CLEANUP_RESULTS),
        ],
    )  # fmt: skip
    text = jobs_of(client)
    assert rows(text, "backup") == [
        ("b-new", "in_progress"),  # 19:00
        ("b-done", "completed_with_errors"),  # 18:22
        ("b-old", "queued"),  # 18:00
    ]
    assert rows(text, "restore") == [("r1", "completed_with_errors")]
    assert rows(text, "cleanup") == [("k1", "completed_with_errors")]  # not agent b's
    done = text[text.index('data-job="b-done"') :]
    done = done[: done.index("</tr>")]
    for shown in (
        "2014-08-05T18:22:22.238641Z",
        "2014-08-05T18:23:50.489715Z",
        'data-errors="1"',
        "unable_to_process_some_files",
        "files_searched: 1,222",
        "files_backed_up: 6",
        "bytes_backed_up: 121.1 MiB (127,000,000 B)",
        "bandwidth_avg_bps: 15.9 MiB (16,628,982 B)/s",
        "snapshot_id: 1111",  # an id: no separator
        "restorable: true",
        "c1",
    ):
        assert shown in done, shown
    assert "files_restored: 2" in text and "bytes_restored: 1.5 KiB (1,512 B)" in text
    assert "snapshot_ids: 23, 51" in text and "bytes_before: 1.0 GiB (1,073,741,824 B)" in text
    # Results are shown once a job is final: none for the running ones.
    running = text[text.index('data-job="b-new"') : text.index('data-job="b-done"')]
    assert '<td class="results"></td>' in running and 'data-errors="0"' in running  # the start's


def test_no_jobs_says_so_for_each_kind(client: FlaskClient) -> None:
    seed(client)
    text = jobs_of(client)
    for kind in ("backups", "restores", "cleanups"):
        assert f"No {kind}." in text


def test_only_the_newest_are_shown(client: FlaskClient) -> None:
    jobs = [
        {
            "type": "backup",
            "id": f"b{n:02}",
            "agent_id": "a",
            "last_updated_time": f"2014-08-05T18:00:{n:02}Z",
        }
        for n in range(11)
    ]
    seed(client, jobs=jobs)
    text = jobs_of(client)
    assert [job_id for job_id, _ in rows(text, "backup")] == [f"b{n:02}" for n in range(10, 0, -1)]
    assert "Only the newest 10 are shown" in text


def test_the_vault_shows_its_container_as_it_fills(client: FlaskClient) -> None:
    seed(client)
    vault = client.get("/v2/p/agents/a", headers={"X-Auth-Token": "t"}).get_json()["vault"]
    text = jobs_of(client)
    row = text[text.index(f'<tr data-vault="{vault["id"]}">') :]
    for shown in (
        vault["name"],
        'data-encrypted="no"',
        vault["region"],
        "no container yet",
        'data-objects="0"',
    ):
        assert shown in row, shown
    bundle = base64.b64encode(b"x" * 2048).decode()
    objects = [
        {"project_id": "p", "container": vault["name"], "name": f"bundle-{n}", "content_base64": bundle}
        for n in range(2)
    ]
    assert client.post("/_control/state", json={"objects": objects}).status_code == 200
    text = jobs_of(client)
    assert 'data-objects="2"' in text and 'data-bytes="4096"' in text
    assert "4.0 KiB (4,096 B)" in text
    assert 'data-objects="0"' in jobs_of(client, "b")  # another agent's vault: its own container


# The watched job.


def test_a_watched_backup_shows_its_steps_and_then_its_results(client: FlaskClient) -> None:
    seed(
        client,
        jobs=[
            {"type": "backup", "id": "b1", "agent_id": "a", "state": "preparing", "configuration_id": "c1"}
        ],
        documents=[stored("backup", "b2", "a", "completed_with_errors", BACKUP_RESULTS)],
    )
    text = watched(client, "backup", "b1")
    assert 'data-state="preparing"' in text
    assert steps(text) == [
        ("start_requested", "done"),
        ("queued", "done"),
        ("preparing", "current"),
        ("in_progress", "todo"),
        ("final state", "todo"),
    ]
    assert 'data-errors="0"' in text and "PATCH /v2/p/backups/b1" in text
    done = watched(client, "backup", "b2")
    assert steps(done)[-1] == ("completed_with_errors", "final")
    assert 'data-errors="1"' in done and "1: unable_to_process_some_files" in done
    assert '<dd data-result="bytes_in_db">47.1 MiB (49,340,871 B)</dd>' in done
    assert "no PATCH changes it any more" in done


def test_a_watched_restore_names_its_backup_and_destination(client: FlaskClient) -> None:
    seed(
        client, jobs=[{"type": "restore", "id": "r1", "agent_id": "b", "backup_id": "b9", "state": "queued"}]
    )
    text = watched(client, "restore", "r1")
    assert "destination agent" in text and "<code>b</code>" in text and "<code>b9</code>" in text
    assert steps(text)[:2] == [("start_requested", "done"), ("queued", "current")]


def test_unwatchable_jobs(client: FlaskClient) -> None:
    seed(client, jobs=[{"type": "backup", "id": "b1", "agent_id": "a"}])
    body = assert_fault(client.get(f"{DASHBOARD}/job?project=p&kind=restore&id=b1"), 404)
    assert body["errors"] == ["restore_id: no restore 'b1'"]
    body = assert_fault(client.get(f"{DASHBOARD}/job?project=p&kind=snapshot&id=b1"), 400)
    assert body["message"] == "The job is not valid."
    assert body["errors"][0].startswith("kind: ")
    body = assert_fault(client.get(f"{DASHBOARD}/job?project=p&kind=backup"), 400)
    assert body["errors"] == ["id: Missing data for required field."]


@pytest.mark.parametrize(
    ("query", "status", "problem"),
    [
        ("project=p", 400, "agent: Missing data for required field."),
        ("project=p&agent=a&kind=backup", 400, "kind: Unknown field."),
        ("project=p&agent=nobody", 404, None),
    ],
)
def test_jobs_filter_problems(client: FlaskClient, query: str, status: int, problem: str | None) -> None:
    seed(client)
    body = assert_fault(client.get(f"{DASHBOARD}/jobs?{query}"), status)
    if problem is not None:
        assert body == {"message": "The jobs filter is not valid.", "errors": [problem]}


def test_hostile_job_texts_are_escaped(client: FlaskClient) -> None:
    hostile = {"errors": {"count": 2, "reason": HOSTILE}, "started_time": HOSTILE, "snapshot_id": HOSTILE}
    seed(client, documents=[stored("backup", "b1", "a", "failed", hostile, configuration_id=HOSTILE[:-9])])
    for text in (jobs_of(client), watched(client, "backup", "b1")):
        assert "<script" not in text and "&lt;script&gt;" in text


class TestControlToken:
    TOKEN = "s3cret-control"

    @pytest.fixture
    def settings(self, store_url: str) -> Settings:
        return Settings(store_url=store_url, control_token=self.TOKEN)

    @pytest.mark.parametrize("path", ["jobs?project=p&agent=a", "job?project=p&kind=backup&id=b1"])
    def test_the_jobs_fragments_need_the_control_token(self, client: FlaskClient, path: str) -> None:
        body = assert_fault(client.get(f"{DASHBOARD}/{path}"), 401)
        assert body["message"] == "The control plane needs its token."
        answer = client.get(f"{DASHBOARD}/{path}", headers={"X-Control-Token": self.TOKEN})
        assert answer.status_code == 404  # past the token: nothing seeded
        assert "Content-Security-Policy" in answer.headers and answer.headers["Cache-Control"] == "no-store"


# The pure parts.


def test_each_kinds_progress_from_its_states() -> None:
    assert [s.state for s in progress("backup", "start_scheduled")] == [
        "start_scheduled", "queued", "preparing", "in_progress", "final state",
    ]  # fmt: skip
    assert [s.state for s in progress("cleanup", "queued")] == [
        "start_requested", "queued", "in_progress", "final state",
    ]  # fmt: skip
    assert progress("cleanup", "stopped")[-1] == Step("stopped", "final")
    assert {s.status for s in progress("backup", "skipped")[:-1]} == {"not_run"}
    stopping = progress("restore", "stop_requested")
    assert {s.status for s in stopping[:-1]} == {"unknown"} and stopping[-1] == Step(
        "stop_requested", "current"
    )


def test_a_row_reads_odd_bodies_leniently() -> None:
    odd = Document(
        "backup",
        "p",
        "b",
        {
            "state": "completed",
            "errors": [1],
            "files_searched": "many",
            "bytes_searched": True,
            "snapshot_id": {},
        },
        parent="a",
    )
    row = job_row(odd)
    assert (row.agent_id, row.state, row.final, row.errors, row.reason) == ("a", "completed", True, None, "")
    assert row.results == (("files_searched", "many"), ("bytes_searched", "true"), ("snapshot_id", "{}"))
    assert row.last_updated_time == "1970-01-01T00:00:00.000000Z"
    assert value_text("bytes_after", -5) == "-5 B" and size_text(1023) == "1,023 B"


def test_the_pane_follows_the_agents_patches_with_the_jobs_events(client: FlaskClient) -> None:
    seed(client, jobs=[{"type": "backup", "id": "b1", "agent_id": "a", "state": "start_requested"}])
    headers = {"X-Auth-Token": "agent", "Content-Type": "application/json-patch+json"}
    for state in ("queued", "in_progress"):  # the agent may skip `preparing`
        moved = client.patch(
            "/v2/p/backups/b1", json=[{"op": "replace", "path": "/state", "value": state}], headers=headers
        )
        assert moved.status_code == 204, moved.get_json()
    text = watched(client, "backup", "b1")
    assert steps(text) == [
        ("start_requested", "done"),
        ("queued", "done"),
        ("preparing", "done"),
        ("in_progress", "current"),
        ("final state", "todo"),
    ]
    assert re.findall(r'<li data-event="([^"]+)"', text) == ["backup_queued", "backup_in_progress"]
    assert rows(jobs_of(client), "backup") == [("b1", "in_progress")]
