"""Backups, restores and cleanups through the app (SPEC "The whole service": the jobs' tables;
each kind's pages for bodies, defaults, messages and events)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.test import TestResponse

from tests.api.support import MIB, assert_time, assert_uuid4, links_by_rel
from tests.conftest import JSON_PATCH, Api, assert_fault, configuration_body

FINAL_MESSAGES = {
    "backup": "Modifying a backup that is already in a state of ['completed', 'completed_with_errors', "
    "'failed', 'stopped', 'skipped', 'missed'] is not allowed.",
    "restore": "Modifying a restore that is already in a state of ['completed', 'completed_with_errors', "
    "'failed', 'stopped'] is not allowed.",
    "cleanup": "Modifying a cleanup that is already in a state of ['completed', 'completed_with_errors', "
    "'failed', 'stopped'] is not allowed.",
}
BACKUP_ERRORS: dict[str, Any] = {
    "count": 1,
    "reason": "unable_to_process_some_files",
    "diagnostics": "Some files could not be backed up. Partial list follows.",
    "list": [
        {
            "index": 0,
            "path": "C:\\Users\\admin\\AppData\\Local\\Temp\\3\\AdobeARM.log",
            "type": "file_or_folder_missing",
            "exception": {
                "code": 3015,
                "description": "GetLastError(...)",
                "details": "1: [phx::WindowsFs::Open]",
            },
        }
    ],
}


class Jobs:
    """The jobs' routes with their defaults, over the `api` helper."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.agent_id = api.agent()
        self.configuration_id = self.configuration(self.agent_id)

    def configuration(self, agent_id: str) -> str:
        response = self.api.client.post(
            self.api.url("configurations"), json=configuration_body(agent_id), headers=self.api.headers()
        )
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["id"])

    def post(self, collection: str, body: Any, **headers: str) -> TestResponse:
        return self.api.client.post(self.api.url(collection), json=body, headers=self.api.headers(**headers))

    def backup(self, state: str = "start_requested", **headers: str) -> dict[str, Any]:
        response = self.post(
            "backups", {"configuration_id": self.configuration_id, "state": state}, **headers
        )
        assert response.status_code == 201, response.get_json()
        created: dict[str, Any] = response.get_json()
        return created

    def completed_backup(self) -> str:
        backup_id = str(self.backup()["id"])
        assert self.patch("backups", backup_id, state("completed")).status_code == 204
        return backup_id

    def restore_body(self, backup_id: str, **changes: Any) -> dict[str, Any]:
        body = {
            "backup_id": backup_id,
            "destination_agent_id": self.agent_id,
            "destination_path": "/srv/restore",
            "overwrite_files": False,
            "encrypted_password_hex": "0bff42",
            "inclusions": [{"type": "folder", "path": "/web/"}],
            "exclusions": [{"type": "file", "path": "/web/cache.jpg"}],
        }
        body.update(changes)
        return body

    def restore(self, backup_id: str | None = None, **changes: Any) -> dict[str, Any]:
        response = self.post("restores", self.restore_body(backup_id or self.completed_backup(), **changes))
        assert response.status_code == 201, response.get_json()
        created: dict[str, Any] = response.get_json()
        return created

    def cleanup(self, agent_id: str | None = None) -> dict[str, Any]:
        response = self.post("cleanups", {"agent_id": agent_id or self.agent_id, "state": "start_requested"})
        assert response.status_code == 201, response.get_json()
        created: dict[str, Any] = response.get_json()
        return created

    def patch(
        self, collection: str, job_id: str, *operations: dict[str, Any], content_type: str = JSON_PATCH
    ) -> TestResponse:
        return self.api.client.patch(
            self.api.url(collection, job_id),
            data=json.dumps(list(operations)),
            headers=self.api.headers(**{"Content-Type": content_type}),
        )

    def get(self, *parts: str, query: str = "") -> TestResponse:
        return self.api.client.get(
            self.api.url(*parts) + (f"?{query}" if query else ""), headers=self.api.headers()
        )

    def ok(self, *parts: str, query: str = "") -> dict[str, Any]:
        response = self.get(*parts, query=query)
        assert response.status_code == 200, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    def event_types(self, *parts: str, query: str = "") -> list[str]:
        return [event["event"] for event in self.ok(*parts, query=query)["events"]]


def state(value: str) -> dict[str, Any]:
    return {"op": "replace", "path": "/state", "value": value}


def add(path: str, value: Any) -> dict[str, Any]:
    return {"op": "add", "path": path, "value": value}


@pytest.fixture
def jobs(api: Api) -> Jobs:
    return Jobs(api)


# Create.


def test_a_backup_starts_with_the_pages_body(jobs: Jobs) -> None:
    response = jobs.post("backups", {"configuration_id": jobs.configuration_id, "state": "start_requested"})
    assert response.status_code == 201
    body = response.get_json()
    assert_uuid4(body["id"])
    assert response.headers["Location"] == links_by_rel(body)["self"]
    assert links_by_rel(body)["self"].endswith(f"/v2/{jobs.api.project_id}/backups/{body['id']}")
    assert links_by_rel(body)["events"] == links_by_rel(body)["self"] + "/events"
    assert body["agent"]["id"] == jobs.agent_id and body["configuration"]["id"] == jobs.configuration_id
    assert body["state"] == "start_requested" and body["restorable"] is False
    assert (body["started_time"], body["ended_time"], body["snapshot_id"]) == (None, None, None)
    assert {k: v for k, v in body["errors"].items() if k != "links"} == {
        "count": 0,
        "reason": "",
        "diagnostics": "",
    }
    assert body["files_searched"] == body["bytes_in_db"] == body["bandwidth_avg_bps"] == 0
    assert jobs.ok("backups", body["id"]) == body


def test_a_scheduled_backup_needs_the_configurations_agent(jobs: Jobs) -> None:
    body = {"configuration_id": jobs.configuration_id, "state": "start_scheduled"}
    assert_fault(jobs.post("backups", body), 400)
    other = jobs.api.agent()
    wrong = assert_fault(jobs.post("backups", body, **{"X-Agent-Id": other}), 400)
    assert wrong["errors"][0].startswith("X-Agent-Id:")
    made = jobs.backup("start_scheduled", **{"X-Agent-Id": jobs.agent_id})
    assert made["state"] == "start_scheduled"
    assert "backup_start" in jobs.event_types("agents", jobs.agent_id, "events")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, ["configuration_id", "state"]),
        ({"configuration_id": 7, "state": "queued"}, ["configuration_id", "state"]),
    ],
)
def test_a_bad_backup_body_lists_every_problem(jobs: Jobs, body: dict[str, Any], where: list[str]) -> None:
    fault = assert_fault(jobs.post("backups", body), 400)
    assert sorted(entry.split(":")[0] for entry in fault["errors"]) == where


def test_create_checks_in_spec_order(jobs: Jobs) -> None:
    api = jobs.api
    unknown = {"configuration_id": "0d95d699-d16b-11e4-93bd-c8e0eb190e3d", "state": "bogus"}
    assert_fault(api.client.post(api.url("backups"), json=unknown), 401)
    assert_fault(api.client.post(api.url("backups"), data="x", headers=api.headers()), 415)
    big = api.client.post(
        api.url("backups"), data=b" " * (MIB + 1), headers=api.headers(**{"Content-Type": "application/json"})
    )
    assert_fault(big, 413)
    assert_fault(jobs.post("backups", unknown), 404)  # the configuration before the bad state
    assert_fault(jobs.post("cleanups", {"agent_id": "nobody", "state": "start_requested"}), 404)


def test_a_restore_starts_from_a_completed_backup_only(jobs: Jobs) -> None:
    pending = jobs.backup()["id"]
    fault = assert_fault(jobs.post("restores", jobs.restore_body(pending)), 409)
    assert pending in fault["errors"][0]
    assert_fault(jobs.post("restores", jobs.restore_body("missing-backup")), 404)
    done = jobs.completed_backup()
    assert_fault(jobs.post("restores", jobs.restore_body(done, destination_agent_id="nobody")), 404)
    bad = assert_fault(jobs.post("restores", jobs.restore_body(done, inclusions=[{"type": "disk"}])), 400)
    assert sorted(e.split(":")[0] for e in bad["errors"]) == ["inclusions.0.path", "inclusions.0.type"]
    restore = jobs.restore(done, overwrite_files=True, destination_path=None)
    assert restore["backup"]["id"] == done and restore["destination_agent"]["id"] == jobs.agent_id
    assert restore["state"] == "start_requested" and restore["overwrite_files"] is True
    assert restore["destination_path"] is None
    assert restore["files_restored"] == restore["bytes_restored"] == 0
    assert restore["inclusions"] == [{"type": "folder", "path": "/web/"}]


def test_a_restores_events_go_to_the_destination_agent(jobs: Jobs) -> None:
    destination = jobs.api.agent()
    backup_id = jobs.completed_backup()
    restore = jobs.restore(backup_id, destination_agent_id=destination)
    feed = jobs.ok("agents", destination, "events")["events"]
    (start,) = [e for e in feed if e["event"] == "restore_start_request"]
    assert start["restore"]["id"] == restore["id"] and start["restore"]["destination_path"] == "/srv/restore"
    assert start["source_agent"]["vault"]["encrypted"] is False
    assert "restore_start_request" not in jobs.event_types("agents", jobs.agent_id, "events")
    assert "restore_start_request" in jobs.event_types("events")


def test_a_cleanup_starts_with_the_pages_body(jobs: Jobs) -> None:
    cleanup = jobs.cleanup()
    assert cleanup["agent"]["id"] == jobs.agent_id and cleanup["state"] == "start_requested"
    assert cleanup["snapshot_ids"] == [] and cleanup["bytes_before"] == cleanup["bytes_after"] == 0
    (event,) = [
        e for e in jobs.ok("agents", jobs.agent_id, "events")["events"] if e["event"].startswith("cleanup")
    ]
    assert event["event"] == "cleanup_start_request" and event["cleanup"] == {"id": cleanup["id"]}
    assert set(event["agent"]["vault"]) == {"id", "encrypted"}
    scheduled = {"agent_id": jobs.agent_id, "state": "start_scheduled"}
    assert_fault(jobs.post("cleanups", scheduled), 400)
    assert jobs.post("cleanups", scheduled, **{"X-Agent-Id": jobs.agent_id}).status_code == 201


# PATCH.


@pytest.mark.parametrize(
    ("collection", "steps"),
    [
        ("backups", ["queued", "preparing", "in_progress", "completed"]),
        ("restores", ["queued", "preparing", "in_progress", "failed"]),
        ("cleanups", ["queued", "in_progress", "completed_with_errors"]),
    ],
)
def test_each_state_in_turn_then_the_final_409(jobs: Jobs, collection: str, steps: list[str]) -> None:
    makers: dict[str, Callable[[], dict[str, Any]]] = {
        "backups": jobs.backup,
        "restores": jobs.restore,
        "cleanups": jobs.cleanup,
    }
    made = makers[collection]()
    job_id = made["id"]
    for step in steps:
        response = jobs.patch(collection, job_id, state(step))
        assert response.status_code == 204 and response.get_data() == b""
        assert jobs.ok(collection, job_id)["state"] == step
        retry = jobs.patch(collection, job_id, state(step))  # a same value: 204 until final
        assert retry.status_code == (409 if step == steps[-1] else 204)
    kind = collection[:-1]
    fault = assert_fault(jobs.patch(collection, job_id, state(steps[-1])), 409)
    assert fault["message"] == FINAL_MESSAGES[kind]
    types = jobs.event_types(collection, job_id, "events")
    assert types == [f"{kind}_start_request", *(f"{kind}_{step}" for step in steps)]
    details = jobs.ok(collection, job_id)
    assert_time(details["started_time"])
    assert_time(details["ended_time"])


def test_a_same_value_retry_is_204_and_emits_nothing(jobs: Jobs) -> None:
    backup_id = jobs.backup()["id"]
    assert jobs.patch("backups", backup_id, state("queued")).status_code == 204
    assert jobs.patch("backups", backup_id, state("queued")).status_code == 204
    assert jobs.event_types("backups", backup_id, "events") == ["backup_start_request", "backup_queued"]


def test_going_back_is_a_409_naming_both_states(jobs: Jobs) -> None:
    backup_id = jobs.backup()["id"]
    assert jobs.patch("backups", backup_id, state("in_progress")).status_code == 204
    fault = assert_fault(jobs.patch("backups", backup_id, state("queued")), 409)
    assert "in_progress" in fault["message"] and "queued" in fault["message"]


def test_stop_then_stopped(jobs: Jobs) -> None:
    cleanup_id = jobs.cleanup()["id"]
    assert jobs.patch("cleanups", cleanup_id, state("in_progress")).status_code == 204
    assert jobs.patch("cleanups", cleanup_id, state("stop_requested")).status_code == 204
    assert_fault(jobs.patch("cleanups", cleanup_id, state("in_progress")), 409)
    assert jobs.patch("cleanups", cleanup_id, state("stopped")).status_code == 204
    feed = jobs.ok("cleanups", cleanup_id, "events")["events"]
    assert [e["event"] for e in feed][-2:] == ["cleanup_stop_request", "cleanup_stopped"]
    assert_uuid4(feed[-2]["request_id"])


def test_a_patch_is_all_or_nothing(jobs: Jobs) -> None:
    backup_id = jobs.backup()["id"]
    assert jobs.patch("backups", backup_id, state("in_progress")).status_code == 204
    before = jobs.ok("backups", backup_id)
    assert_fault(jobs.patch("backups", backup_id, add("/files_searched", 5), state("queued")), 409)
    assert_fault(jobs.patch("backups", backup_id, add("/files_searched", 5), add("/bogus", 1)), 400)
    assert jobs.ok("backups", backup_id) == before


def test_patch_checks_in_spec_order(jobs: Jobs) -> None:
    backup_id = jobs.completed_backup()
    api = jobs.api
    assert_fault(api.client.patch(api.url("backups", backup_id), json=[state("failed")]), 401)
    assert_fault(jobs.patch("backups", "missing", state("failed")), 404)
    assert_fault(jobs.patch("backups", backup_id, state("failed"), content_type="application/json"), 415)
    big = api.client.patch(
        api.url("backups", backup_id),
        data=b" " * (MIB + 1),
        headers=api.headers(**{"Content-Type": JSON_PATCH}),
    )
    assert_fault(big, 413)
    assert_fault(jobs.patch("backups", backup_id, state("start_requested")), 400)  # 400 before 409
    assert_fault(jobs.patch("backups", backup_id, state("failed")), 409)


def test_the_final_patch_results_show_in_details_errors_and_events(jobs: Jobs) -> None:
    backup_id = jobs.backup()["id"]
    response = jobs.patch(
        "backups",
        backup_id,
        state("completed_with_errors"),
        add("/started_time", "2014-08-05T18:22:22.238641Z"),
        add("/ended_time", "2014-08-05T18:23:50.489715Z"),
        add("/snapshot_id", 1111),
        add("/errors", BACKUP_ERRORS),
        add("/files_searched", 1222),
        add("/bytes_backed_up", 127000000),
    )
    assert response.status_code == 204, response.get_json()
    details = jobs.ok("backups", backup_id)
    assert details["state"] == "completed_with_errors" and details["restorable"] is True
    assert details["started_time"] == "2014-08-05T18:22:22.238641Z"
    assert details["snapshot_id"] == 1111 and details["files_searched"] == 1222
    assert details["errors"]["count"] == 1 and details["errors"]["reason"] == "unable_to_process_some_files"
    errors = jobs.ok("backups", backup_id, "errors")
    assert errors["count"] == 1 and errors["diagnostics"] == BACKUP_ERRORS["diagnostics"]
    (item,) = errors["list"]
    assert item["path"] == BACKUP_ERRORS["list"][0]["path"] and item["exception"]["code"] == 3015
    assert (
        item["description"]
        == "The item was found during the search but was missing when we tried to back it up."
    )
    assert links_by_rel(errors)["self"].endswith(f"/backups/{backup_id}/errors")
    assert jobs.event_types("backups", backup_id, "events")[-1] == "backup_completed_with_errors"


def test_errors_before_any_report(jobs: Jobs) -> None:
    restore_id = jobs.restore()["id"]
    errors = jobs.ok("restores", restore_id, "errors")
    assert (errors["count"], errors["reason"], errors["diagnostics"], errors["list"]) == (0, "", "", [])


# Lists.


def test_lists_page_newest_first_by_default(jobs: Jobs) -> None:
    made = [jobs.cleanup()["id"] for _ in range(3)]
    listed = jobs.ok("cleanups")
    assert [c["id"] for c in listed["cleanups"]] == made[::-1] and listed["links"] == []
    first = jobs.ok("cleanups", query="limit=2")
    assert [c["id"] for c in first["cleanups"]] == made[:0:-1]
    following = jobs.api.client.get(links_by_rel(first)["next"], headers=jobs.api.headers()).get_json()
    assert [c["id"] for c in following["cleanups"]] == made[:1]
    assert "sort_dir=asc" in links_by_rel(following)["previous"]
    ascending = jobs.ok("cleanups", query="sort_dir=asc")
    assert [c["id"] for c in ascending["cleanups"]] == made
    assert_fault(jobs.get("cleanups", query="marker=nope"), 400)
    assert_fault(jobs.get("cleanups", query="sort_dir=up"), 400)
    assert_fault(jobs.get("cleanups", query="limit=0"), 400)


def test_the_restorable_backups_of_a_configuration(jobs: Jobs) -> None:
    other_configuration = jobs.configuration(jobs.agent_id)
    pending = jobs.backup()["id"]
    done = jobs.completed_backup()
    jobs.configuration_id = other_configuration
    elsewhere = jobs.completed_backup()
    assert [b["id"] for b in jobs.ok("backups")["backups"]] == [elsewhere, done, pending]
    assert [b["id"] for b in jobs.ok("backups", query="restorable=true")["backups"]] == [elsewhere, done]
    query = f"restorable=true&configuration_id={other_configuration}"
    assert [b["id"] for b in jobs.ok("backups", query=query)["backups"]] == [elsewhere]
    page = jobs.ok("backups", query="restorable=true&limit=1")
    assert "restorable=true" in links_by_rel(page)["next"]
    assert_fault(jobs.get("backups", query="restorable=maybe"), 400)


# What else a job changes.


def test_a_completed_backup_is_its_configurations_last(jobs: Jobs) -> None:
    assert jobs.ok("configurations", jobs.configuration_id)["backups"]["last_completed"] is None
    assert jobs.ok("configurations", query="restorable=true")["configurations"] == []
    backup_id = jobs.completed_backup()
    last = jobs.ok("configurations", jobs.configuration_id)["backups"]["last_completed"]
    assert last["id"] == backup_id
    listed = jobs.ok("configurations", query="restorable=true")["configurations"]
    assert [c["id"] for c in listed] == [jobs.configuration_id]


def test_activities_show_the_jobs(jobs: Jobs) -> None:
    backup_id = jobs.backup()["id"]
    cleanup_id = jobs.cleanup()["id"]
    assert jobs.patch("backups", backup_id, state("queued")).status_code == 204
    items = jobs.ok("activities")["activities"]
    assert [(a["type"], a["id"], a["state"]) for a in items] == [
        ("backup", backup_id, "queued"),
        ("cleanup", cleanup_id, "start_requested"),
    ]
    by_configuration = jobs.ok("configurations", jobs.configuration_id, "activities")["activities"]
    assert [a["id"] for a in by_configuration] == [backup_id]


def test_a_configurations_deletion_keeps_its_jobs_an_agents_takes_them(jobs: Jobs) -> None:
    backup_id = jobs.backup()["id"]
    cleanup_id = jobs.cleanup()["id"]
    api = jobs.api
    gone = api.client.delete(api.url("configurations", jobs.configuration_id), headers=api.headers())
    assert gone.status_code == 204
    assert jobs.ok("backups", backup_id)["configuration"]["id"] == jobs.configuration_id
    assert jobs.patch("backups", backup_id, state("completed")).status_code == 204  # no configuration to mark
    assert api.delete_agent(jobs.agent_id).status_code == 204
    assert_fault(jobs.get("backups", backup_id), 404)
    assert_fault(jobs.get("cleanups", cleanup_id, "events"), 404)


@pytest.mark.parametrize("route", ["backups/{id}", "restores/{id}/errors", "cleanups/{id}/events"])
def test_an_unknown_job_is_404(jobs: Jobs, route: str) -> None:
    assert_fault(jobs.get(*route.format(id="e87e6f7d-d166-11e4-8689-c8e0eb190e3d").split("/")), 404)


def test_a_job_of_another_kind_is_not_found(jobs: Jobs) -> None:
    cleanup_id = jobs.cleanup()["id"]
    assert_fault(jobs.get("backups", cleanup_id), 404)


def test_a_seeded_job_reads_and_patches_as_one_made_here(jobs: Jobs) -> None:
    seeded = jobs.api.control(
        "post",
        "state",
        {
            "jobs": [
                {
                    "type": "backup",
                    "id": "b-1",
                    "agent_id": jobs.agent_id,
                    "state": "in_progress",
                    "configuration_id": jobs.configuration_id,
                }
            ]
        },
    )
    assert seeded.status_code == 200, seeded.get_json()
    details = jobs.ok("backups", "b-1")
    made = jobs.backup()
    assert set(details) == set(made) and details["errors"]["count"] == 0
    assert jobs.patch("backups", "b-1", state("completed")).status_code == 204
    assert jobs.ok("configurations", jobs.configuration_id)["backups"]["last_completed"]["id"] == "b-1"


def test_the_job_events_route_pages_and_sorts(jobs: Jobs) -> None:
    backup_id = jobs.backup()["id"]
    for step in ("queued", "preparing", "in_progress"):
        assert jobs.patch("backups", backup_id, state(step)).status_code == 204
    jobs.cleanup()  # another job's events are not this one's
    first = jobs.ok("backups", backup_id, "events", query="limit=2")
    assert [e["event"] for e in first["events"]] == ["backup_start_request", "backup_queued"]
    following = jobs.api.client.get(links_by_rel(first)["next"], headers=jobs.api.headers()).get_json()
    assert [e["event"] for e in following["events"]] == ["backup_preparing", "backup_in_progress"]
    newest = jobs.event_types("backups", backup_id, "events", query="sort_dir=desc")
    assert newest[0] == "backup_in_progress" and len(newest) == 4
    assert_fault(jobs.get("backups", backup_id, "events", query="marker=x"), 400)


def test_startup_posts_the_pending_requests_again(jobs: Jobs) -> None:
    """SPEC (ours): an agent's `startup` puts its requests still pending into its feed again."""
    backup = jobs.backup()
    queued = jobs.backup()["id"]
    assert jobs.patch("backups", queued, state("queued")).status_code == 204
    cleanup_id = jobs.cleanup()["id"]
    assert jobs.patch("cleanups", cleanup_id, state("in_progress")).status_code == 204
    assert jobs.patch("cleanups", cleanup_id, state("stop_requested")).status_code == 204
    feed = jobs.ok("agents", jobs.agent_id, "events")["events"]
    asked = {
        e["event"]: e["request_id"]
        for e in feed
        if (e["event"] == "backup_start_request" and e["backup"]["id"] == backup["id"])
        or e["event"] == "cleanup_stop_request"
    }
    last = feed[-1]["id"]
    assert jobs.api.post_event({"event": "startup"}, jobs.agent_id).status_code == 202
    again = jobs.ok("agents", jobs.agent_id, "events", query=f"marker={last}")["events"]
    assert sorted((e["event"], e["request_id"]) for e in again) == sorted(asked.items())
    (start,) = [e for e in again if e["event"] == "backup_start_request"]
    assert start["backup"]["id"] == backup["id"]


def test_an_export_imports_with_its_jobs(jobs: Jobs) -> None:
    backup_id = jobs.completed_backup()
    restore_id = jobs.restore(backup_id)["id"]
    before = (jobs.ok("backups", backup_id), jobs.ok("restores", restore_id))
    exported = jobs.api.control("get", "state")
    assert exported.status_code == 200
    jobs.api.reset()
    assert_fault(jobs.get("backups", backup_id), 404)
    restored = jobs.api.client.put("/_control/state", json=exported.get_json())
    assert restored.status_code == 200, restored.get_json()
    assert (jobs.ok("backups", backup_id), jobs.ok("restores", restore_id)) == before
    assert jobs.patch("restores", restore_id, state("in_progress")).status_code == 204


def test_the_routes_answer_as_every_route(jobs: Jobs) -> None:
    """SPEC: a trailing slash and a `.json` suffix are the same route; another method is 405."""
    api = jobs.api
    for path in ("backups.json", "restores/", "cleanups"):
        assert api.client.get(api.url(path), headers=api.headers()).status_code == 200, path
    wrong = api.client.put(api.url("backups"), headers=api.headers())
    assert_fault(wrong, 405)
    assert "POST" in wrong.headers["Allow"]
    gone = api.client.delete(api.url("cleanups", "some-id"), headers=api.headers())
    assert_fault(gone, 405)
    assert {"GET", "PATCH"} <= {m.strip() for m in gone.headers["Allow"].split(",")}
