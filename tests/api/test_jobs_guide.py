"""Backups, restores and cleanups, written from their guide pages and SPEC alone.

Pages (guide/api-reference/methods/): post-start-a-backup, get-list-the-backups-for-a-project,
get-list-details-about-a-backup, patch-update-a-backup, get-list-errors-for-a-backup,
get-list-events-for-a-backup, and the same six for restores and for cleanups; the activities
pages and get-list-details-about-a-configuration for what a job shows elsewhere. SPEC "The whole
service" gives the state tables (one per kind), the stop request, the final states' 409, the
feeds a job's events go to and the configuration's `backups` summary.

Each page's example request is sent as written (its `Host`, headers, query, body; the example's
ids replaced by those of what the test made first through the API) and gets the page's status,
`Location` and body shape (tests/guide_shape.py against the page's own example response, from
tests/data/guide_operations.json); each documented error its status and fault body, with the
page's message where the page gives one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from logfiles import Settings, create_app
from tests.api.guide_pages import (
    BASE,
    EXAMPLE_AGENT,
    EXAMPLE_BACKUP,
    EXAMPLE_CLEANUP,
    EXAMPLE_CONFIGURATION,
    EXAMPLE_DESTINATION_AGENT,
    EXAMPLE_RESTORE,
    HOST,
    P,
    assert_no_body,
    assert_page_shape,
    backup,
    backup_results,
    cleanup,
    configuration,
    events,
    finished_backup,
    get,
    href,
    json_of,
    page_body,
    page_request_body,
    patch,
    path_of,
    post_json,
    rels,
    restore,
    restore_request,
    send_page_example,
    start_backup,
    states,
)
from tests.api.support import assert_time, assert_uuid4
from tests.conftest import JSON_PATCH, PROJECT, TOKEN, Api, assert_fault

BACKUP = f"{P}/backups/{{backup_id}}"
RESTORE = f"{P}/restores/{{restore_id}}"
CLEANUP = f"{P}/cleanups/{{cleanup_id}}"

# The update pages' 409 examples, word for word (SPEC: a page wins on the messages it states).
FINAL_MESSAGE = {
    "backup": "Modifying a backup that is already in a state of ['completed', 'completed_with_errors', "
    "'failed', 'stopped', 'skipped', 'missed'] is not allowed.",
    "restore": "Modifying a restore that is already in a state of ['completed', 'completed_with_errors', "
    "'failed', 'stopped'] is not allowed.",
    "cleanup": "Modifying a cleanup that is already in a state of ['completed', 'completed_with_errors', "
    "'failed', 'stopped'] is not allowed.",
}


def location_path(response: Any, *parts: str) -> str:
    """The `Location` is absolute and names the route table's path (the pages' example
    `Location`s lack the project id: an erratum)."""
    location = response.headers.get("Location")
    assert location, response.headers
    split = urlsplit(location)
    assert split.scheme in ("http", "https") and split.netloc, location
    assert split.path == "/".join(["", "v2", PROJECT, *parts]), location
    return split.path


def page_headers() -> dict[str, str]:
    """A GET as the pages send it (their `Host`), so that links compare with the example's answer."""
    return {"Host": HOST, "X-Auth-Token": TOKEN}


def ends_with(url: str, *parts: str) -> bool:
    return urlsplit(url).path == "/".join(["", "v2", PROJECT, *parts])


# --------------------------------------------------------------------------------------------
# The state tables (SPEC "The whole service": one per kind, from each kind's update page).


@dataclass(frozen=True)
class Kind:
    name: str  # backup, restore, cleanup
    steps: tuple[str, ...]  # the agent's progress states, in order
    finals: tuple[str, ...]  # the results' states
    invalid: tuple[str, ...]  # values the page does not list for this kind
    make: Callable[[Api], str]  # a new job of this kind, `start_requested`; its id

    @property
    def plural(self) -> str:
        return f"{self.name}s"

    def patch(self, api: Api, job_id: str, document: Any, content_type: str = JSON_PATCH) -> Any:
        return patch(api, (self.plural, job_id), document, content_type)

    def state(self, api: Api, job_id: str) -> str:
        return str(json_of(get(api, self.plural, job_id), 200)["state"])


def make_backup(api: Api) -> str:
    return str(backup(api, configuration(api, api.agent())["id"])["id"])


def make_restore(api: Api) -> str:
    _, _, backup_id = finished_backup(api)
    return str(restore(api, backup_id, api.agent())["id"])


def make_cleanup(api: Api) -> str:
    return str(cleanup(api, api.agent())["id"])


KINDS = [
    Kind(
        "backup",
        ("queued", "preparing", "in_progress"),
        ("completed", "completed_with_errors", "failed", "stopped", "skipped"),
        ("missed", "start_requested", "start_scheduled", "running"),
        make_backup,
    ),
    Kind(
        "restore",
        ("queued", "preparing", "in_progress"),
        ("completed", "completed_with_errors", "failed", "stopped"),
        ("skipped", "missed", "start_requested", "running"),
        make_restore,
    ),
    Kind(
        "cleanup",
        ("queued", "in_progress"),
        ("completed", "completed_with_errors", "failed", "stopped"),
        ("preparing", "skipped", "missed", "start_requested", "running"),
        make_cleanup,
    ),
]
KIND_IDS = [k.name for k in KINDS]
by_kind = pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)


def fault_text(response: Any) -> str:
    body = response.get_json()
    return " ".join([body["message"], *body["errors"]])


@by_kind
def test_every_step_forward_in_order_then_each_final_state(api: Api, kind: Kind) -> None:
    """The page's states, each in turn: 204, and the details show it."""
    for final in kind.finals:
        job_id = kind.make(api)
        for step in (*kind.steps, final):
            assert_no_body(kind.patch(api, job_id, states(step)), 204)
            assert kind.state(api, job_id) == step


@by_kind
def test_the_agent_may_skip_steps_forward(api: Api, kind: Kind) -> None:
    job_id = kind.make(api)
    assert_no_body(kind.patch(api, job_id, states(kind.steps[-1])), 204)
    assert kind.state(api, job_id) == kind.steps[-1]
    other = kind.make(api)
    assert_no_body(kind.patch(api, other, states(kind.finals[0])), 204)  # start_requested -> final
    assert kind.state(api, other) == kind.finals[0]


@by_kind
def test_going_back_is_409_naming_both_states(api: Api, kind: Kind) -> None:
    job_id = kind.make(api)
    assert kind.patch(api, job_id, states(kind.steps[-1])).status_code == 204
    answer = kind.patch(api, job_id, states(kind.steps[0]))
    assert_fault(answer, 409)
    text = fault_text(answer)
    assert kind.steps[-1] in text and kind.steps[0] in text, text
    assert kind.state(api, job_id) == kind.steps[-1]


@by_kind
def test_a_same_value_retry_before_a_final_state_is_204(api: Api, kind: Kind) -> None:
    job_id = kind.make(api)
    for step in kind.steps:
        assert_no_body(kind.patch(api, job_id, states(step, step)), 204)
        assert_no_body(kind.patch(api, job_id, states(step)), 204)
    assert kind.state(api, job_id) == kind.steps[-1]


@by_kind
def test_a_final_state_accepts_no_change_with_the_pages_message(api: Api, kind: Kind) -> None:
    """SPEC: a job in a final state accepts no change at all, a same-value retry included: 409
    with the message its page shows."""
    job_id = kind.make(api)
    final = kind.finals[0]
    assert kind.patch(api, job_id, states(final)).status_code == 204
    for value in (final, kind.steps[0], "stop_requested", kind.finals[-1]):
        answer = kind.patch(api, job_id, states(value))
        assert assert_fault(answer, 409)["message"] == FINAL_MESSAGE[kind.name], value
    results = page_request_body("PATCH", f"{P}/{kind.plural}/{{{kind.name}_id}}")
    answer = kind.patch(api, job_id, results)
    assert assert_fault(answer, 409)["message"] == FINAL_MESSAGE[kind.name]
    assert kind.state(api, job_id) == final


@by_kind
def test_values_the_page_does_not_list_are_400(api: Api, kind: Kind) -> None:
    job_id = kind.make(api)
    for value in kind.invalid:
        answer = kind.patch(api, job_id, states(value))
        assert_fault(answer, 400)
    assert kind.state(api, job_id) == "start_requested"


@by_kind
def test_add_and_replace_are_interchangeable(api: Api, kind: Kind) -> None:
    """The update pages: "The replace or add operation ... interpreted identically"."""
    job_id = kind.make(api)
    assert_no_body(kind.patch(api, job_id, states(kind.steps[0], op="add")), 204)
    assert kind.state(api, job_id) == kind.steps[0]


@by_kind
def test_stop_requested_then_the_agent_reports_stopped(api: Api, kind: Kind) -> None:
    """The update pages' third scenario; SPEC: the user may ask `stop_requested` while not final
    (a same-value retry too); the agent then reports `stopped`."""
    job_id = kind.make(api)
    assert kind.patch(api, job_id, states(kind.steps[0])).status_code == 204
    assert_no_body(kind.patch(api, job_id, states("stop_requested")), 204)
    assert kind.state(api, job_id) == "stop_requested"
    assert_no_body(kind.patch(api, job_id, states("stop_requested")), 204)
    assert_no_body(kind.patch(api, job_id, states("stopped")), 204)
    assert kind.state(api, job_id) == "stopped"
    answer = kind.patch(api, job_id, states("stop_requested"))
    assert assert_fault(answer, 409)["message"] == FINAL_MESSAGE[kind.name]
    found = [e for e in events(api, kind.plural, job_id, "events") if e["event"].endswith("_stop_request")]
    assert [e["event"] for e in found] == [f"{kind.name}_stop_request"]
    assert_uuid4(found[0]["request_id"])


@by_kind
def test_after_a_stop_request_the_agent_may_report_the_final_state_it_reached_first(
    api: Api, kind: Kind
) -> None:
    job_id = kind.make(api)
    assert kind.patch(api, job_id, states(kind.steps[-1], "stop_requested")).status_code == 204
    assert_no_body(kind.patch(api, job_id, states("completed")), 204)
    assert kind.state(api, job_id) == "completed"


@by_kind
def test_a_stop_request_right_after_the_start_request(api: Api, kind: Kind) -> None:
    job_id = kind.make(api)
    assert_no_body(kind.patch(api, job_id, states("stop_requested")), 204)
    assert kind.state(api, job_id) == "stop_requested"


@by_kind
def test_the_patch_is_atomic(api: Api, kind: Kind) -> None:
    """SPEC: every JSON Patch route has the log-file PATCH's atomicity: nothing changes unless
    every operation is valid and every step legal."""
    job_id = kind.make(api)
    bad = [*states(kind.steps[0]), {"op": "remove", "path": "/state"}]
    assert_fault(kind.patch(api, job_id, bad), 400)
    illegal = states(kind.steps[-1], kind.steps[0])  # the second goes back
    assert_fault(kind.patch(api, job_id, illegal), 409)
    assert kind.state(api, job_id) == "start_requested"


@by_kind
def test_patch_check_order_and_bad_documents(api: Api, kind: Kind) -> None:
    """SPEC: 404, then 415 (a job PATCH takes `application/json-patch+json`), then 400 with one
    entry per problem."""
    job_id = kind.make(api)
    missing = str(uuid.uuid4())
    assert_fault(kind.patch(api, missing, "not a patch", content_type="text/plain"), 404)
    assert_fault(kind.patch(api, job_id, states(kind.steps[0]), content_type="text/plain"), 415)
    assert_fault(kind.patch(api, job_id, states(kind.steps[0]), content_type="application/json"), 415)
    for document in ([], {"op": "replace"}, [1], "queued"):
        assert_fault(kind.patch(api, job_id, document), 400)
    # One entry per problem: a bad `op` and `path` (a value for no known path is not judged), a
    # bad `op` and a `/state` value that is no state.
    answer = kind.patch(api, job_id, [{"op": "move", "path": "/id", "value": 7}])
    assert [e.split(":")[0] for e in assert_fault(answer, 400)["errors"]] == ["/0/op", "/0/path"]
    answer = kind.patch(api, job_id, [{"op": "move", "path": "/state", "value": 7}])
    assert [e.split(":")[0] for e in assert_fault(answer, 400)["errors"]] == ["/0/op", "/0/value"]
    bad_body = api.client.patch(
        api.url(kind.plural, job_id), data=b"[{", headers=api.headers(**{"Content-Type": JSON_PATCH})
    )
    assert_fault(bad_body, 400)
    assert kind.state(api, job_id) == "start_requested"


@by_kind
def test_another_projects_job_is_not_found(api: Api, kind: Kind) -> None:
    job_id = kind.make(api)
    other = Api(api.client, project_id="220022")
    assert_fault(get(other, kind.plural, job_id), 404)
    assert_fault(kind.patch(other, job_id, states(kind.steps[0])), 404)
    assert_fault(get(other, kind.plural, job_id, "errors"), 404)
    assert_fault(get(other, kind.plural, job_id, "events"), 404)
    assert json_of(get(other, kind.plural), 200)[kind.plural] == []


@by_kind
def test_unknown_job_is_404_on_each_route(api: Api, kind: Kind) -> None:
    missing = str(uuid.uuid4())
    for parts in ((kind.plural, missing), (kind.plural, missing, "errors"), (kind.plural, missing, "events")):
        assert_fault(get(api, *parts), 404)


# --------------------------------------------------------------------------------------------
# Backups: the six pages.


def test_start_a_backup_page_example(api: Api) -> None:
    agent_id = api.agent()
    configuration_id = configuration(api, agent_id)["id"]
    answer = send_page_example(api, "POST", f"{P}/backups", {}, {EXAMPLE_CONFIGURATION: configuration_id})
    body = json_of(answer, 201)
    assert_page_shape(body, page_body("POST", f"{P}/backups"))
    assert_uuid4(body["id"])
    where = location_path(answer, "backups", body["id"])
    assert body["project_id"] == PROJECT
    assert body["agent"]["id"] == agent_id and ends_with(
        href(body["agent"]["links"], "full"), "agents", agent_id
    )
    assert body["configuration"]["id"] == configuration_id
    assert ends_with(href(body["configuration"]["links"], "full"), "configurations", configuration_id)
    assert body["state"] == "start_requested"
    assert body["started_time"] is None and body["ended_time"] is None and body["snapshot_id"] is None
    assert {k: body["errors"][k] for k in ("count", "reason", "diagnostics")} == {
        "count": 0,
        "reason": "",
        "diagnostics": "",
    }
    assert ends_with(href(body["errors"]["links"], "full"), "backups", body["id"], "errors")
    for counter in (
        "files_searched",
        "files_backed_up",
        "bytes_searched",
        "bytes_backed_up",
        "bytes_in_db",
        "bandwidth_avg_bps",
    ):
        assert body[counter] == 0, counter
    assert body["restorable"] is False
    assert rels(body["links"]) == ["self", "events"]
    assert urlsplit(href(body["links"], "self")).path == where
    assert answer.headers["Location"] == href(body["links"], "self")
    assert ends_with(href(body["links"], "events"), "backups", body["id"], "events")
    assert json_of(api.client.get(where, headers=page_headers(), base_url=BASE), 200) == body


def test_start_scheduled_needs_the_configurations_agent_in_x_agent_id(api: Api) -> None:
    """The start page: `start_scheduled` requires `X-Agent-Id`; SPEC: naming the configuration's
    agent, else 400."""
    agent_id = api.agent()
    configuration_id = configuration(api, agent_id)["id"]
    assert_fault(start_backup(api, configuration_id, "start_scheduled"), 400)
    assert_fault(start_backup(api, configuration_id, "start_scheduled", **{"X-Agent-Id": api.agent()}), 400)
    answer = start_backup(api, configuration_id, "start_scheduled", **{"X-Agent-Id": agent_id})
    assert json_of(answer, 201)["state"] == "start_scheduled"
    # A scheduled backup goes on as a requested one does.
    backup_id = answer.get_json()["id"]
    assert patch(api, ("backups", backup_id), states("queued", "in_progress", "completed")).status_code == 204


def test_start_a_backup_bad_requests(api: Api) -> None:
    configuration_id = configuration(api, api.agent())["id"]
    answer = post_json(api, ("backups",), {})
    errors = assert_fault(answer, 400)["errors"]
    assert len(errors) == 2, errors  # one per missing member
    assert sorted(e.split(":")[0] for e in errors) == ["configuration_id", "state"], errors
    for state in ("queued", "completed", "stop_requested", "", None, 1):
        body = {"configuration_id": configuration_id, "state": state}
        assert assert_fault(post_json(api, ("backups",), body), 400)["errors"][0].startswith("state"), state
    assert_fault(post_json(api, ("backups",), {"configuration_id": 7, "state": "start_requested"}), 400)
    missing = {"configuration_id": str(uuid.uuid4()), "state": "start_requested"}
    assert_fault(post_json(api, ("backups",), missing), 404)  # the page lists 404
    plain = api.client.post(
        api.url("backups"),
        data=json.dumps({"configuration_id": configuration_id, "state": "start_requested"}),
        headers=api.headers(**{"Content-Type": "text/plain"}),
    )
    assert_fault(plain, 415)
    broken = api.client.post(
        api.url("backups"), data="{", headers=api.headers(**{"Content-Type": "application/json"})
    )
    assert_fault(broken, 400)
    assert json_of(get(api, "backups"), 200)["backups"] == []


def test_update_a_backup_page_example_and_the_details_page(api: Api) -> None:
    agent_id = api.agent()
    configuration_id = configuration(api, agent_id)["id"]
    backup_id = backup(api, configuration_id)["id"]
    answer = send_page_example(api, "PATCH", BACKUP, {"backup_id": backup_id})
    assert_no_body(answer, 204)
    details = send_page_example(api, "GET", BACKUP, {"backup_id": backup_id})
    body = json_of(details, 200)
    assert_page_shape(body, page_body("GET", BACKUP))
    example = page_body("GET", BACKUP)
    for member in (
        "state",
        "started_time",
        "ended_time",
        "snapshot_id",
        "files_searched",
        "files_backed_up",
        "bytes_searched",
        "bytes_backed_up",
        "bytes_in_db",
        "bandwidth_avg_bps",
        "restorable",
    ):
        assert body[member] == example[member], member  # the page's details are its PATCH's results
    assert {k: body["errors"][k] for k in ("count", "reason", "diagnostics")} == {
        k: example["errors"][k] for k in ("count", "reason", "diagnostics")
    }
    assert body["agent"]["id"] == agent_id and body["configuration"]["id"] == configuration_id
    assert urlsplit(href(body["links"], "self")).path == f"/v2/{PROJECT}/backups/{backup_id}"


def test_retrieve_the_errors_for_a_backup_page_example(api: Api) -> None:
    _, _, backup_id = finished_backup(api, "completed_with_errors")
    answer = send_page_example(api, "GET", f"{BACKUP}/errors", {"backup_id": backup_id})
    body = json_of(answer, 200)
    assert_page_shape(body, page_body("GET", f"{BACKUP}/errors"))
    sent = backup_results()[4]["value"]  # the update page's `/errors`
    assert {k: body[k] for k in ("count", "reason", "diagnostics")} == {
        k: sent[k] for k in ("count", "reason", "diagnostics")
    }
    (item,) = body["list"]
    assert {k: item[k] for k in ("index", "path", "type", "exception")} == sent["list"][0]
    assert rels(body["links"]) == ["self"] and ends_with(
        href(body["links"], "self"), "backups", backup_id, "errors"
    )


def test_the_errors_of_a_backup_without_results(api: Api) -> None:
    backup_id = make_backup(api)
    body = json_of(get(api, "backups", backup_id, "errors"), 200)
    assert body["count"] == 0 and body["list"] == []


def test_retrieve_the_backups_for_a_project_page_example(api: Api) -> None:
    """The page's query: after the marker, `asc`, only restorable backups of the configuration."""
    _, configuration_id, first = finished_backup(api)
    second = backup(api, configuration_id)["id"]
    assert patch(api, ("backups", second), backup_results()).status_code == 204
    running = backup(api, configuration_id)["id"]
    assert patch(api, ("backups", running), states("in_progress")).status_code == 204
    failed = backup(api, configuration_id)["id"]
    assert patch(api, ("backups", failed), states("failed")).status_code == 204
    _, _, elsewhere = finished_backup(api)  # restorable, of another configuration
    answer = send_page_example(
        api, "GET", f"{P}/backups", {}, {EXAMPLE_BACKUP: first, EXAMPLE_CONFIGURATION: configuration_id}
    )
    body = json_of(answer, 200)
    assert_page_shape(body, page_body("GET", f"{P}/backups"))
    assert [b["id"] for b in body["backups"]] == [second]
    assert all(b["restorable"] is True for b in body["backups"])
    everything = json_of(get(api, "backups", query="restorable=true"), 200)["backups"]
    assert {b["id"] for b in everything} == {first, second, elsewhere}
    assert running not in {b["id"] for b in everything} and failed not in {b["id"] for b in everything}


def test_the_backups_list_is_newest_first_and_paged(api: Api) -> None:
    """The page: `sort_dir` default `desc`, `limit` default 100; `links` next and previous."""
    empty = json_of(get(api, "backups"), 200)
    assert empty["backups"] == []
    configuration_id = configuration(api, api.agent())["id"]
    made = [backup(api, configuration_id)["id"] for _ in range(3)]
    body = json_of(get(api, "backups"), 200)
    assert [b["id"] for b in body["backups"]] == made[::-1]
    assert [b["id"] for b in json_of(get(api, "backups", query="sort_dir=asc"), 200)["backups"]] == made
    first = json_of(get(api, "backups", query="limit=2"), 200)
    assert [b["id"] for b in first["backups"]] == made[:0:-1]
    following = json_of(api.client.get(path_of(href(first["links"], "next")), headers=api.headers()), 200)
    assert [b["id"] for b in following["backups"]] == made[:1]
    assert parse_qs(urlsplit(href(first["links"], "next")).query)["marker"] == [made[1]]


def test_the_backups_list_refuses_a_bad_query(api: Api) -> None:
    make_backup(api)
    for query in ("limit=0", "limit=abc", "sort_dir=up", f"marker={uuid.uuid4()}"):
        assert_fault(get(api, "backups", query=query), 400)


def test_retrieve_the_events_for_a_backup_page_example(api: Api) -> None:
    """Each event type of the page's example that a backup's life makes, with the members the
    page shows for it; oldest first by default (the page: `sort_dir` default `asc`)."""
    agent_id = api.agent()
    configuration_id = configuration(api, agent_id)["id"]
    done = backup(api, configuration_id)["id"]
    assert (
        patch(api, ("backups", done), states("queued", "preparing", "in_progress", "completed")).status_code
        == 204
    )
    answer = send_page_example(api, "GET", f"{BACKUP}/events", {"backup_id": done})
    body = json_of(answer, 200)
    example = page_body("GET", f"{BACKUP}/events")
    assert_page_shape(body, example)
    kinds = [e["event"] for e in body["events"]]
    assert kinds == ["backup_completed", "backup_in_progress", "backup_preparing", "backup_queued",
                     "backup_start_request"]  # fmt: skip
    for event in body["events"]:
        assert event["agent"]["id"] == agent_id
        assert event["configuration"]["id"] == configuration_id
        assert event["backup"]["id"] == done
        assert_time(event["time"])
    (start,) = [e for e in body["events"] if e["event"] == "backup_start_request"]
    assert_uuid4(start["request_id"])
    default = events(api, "backups", done, "events", query="")
    assert [e["event"] for e in default] == kinds[::-1]
    ids = [int(e["id"]) for e in default]
    assert ids == sorted(ids)
    # The other final states' events, and the stop request's.
    for final in ("failed", "stopped", "skipped"):
        other = backup(api, configuration_id)["id"]
        assert (
            patch(
                api, ("backups", other), states("stop_requested" if final == "stopped" else "queued", final)
            ).status_code
            == 204
        )
        found = events(api, "backups", other, "events")
        assert_page_shape({"events": found, "links": example["links"]}, example)
        assert f"backup_{final}" in [e["event"] for e in found], found


def test_a_backups_events_go_to_its_agents_feed_the_projects_and_its_configurations(api: Api) -> None:
    """SPEC: a job's events also go to its agent's feed and the project's; a configuration's
    events are its backups' (the configuration events page's example)."""
    agent_id = api.agent()
    configuration_id = configuration(api, agent_id)["id"]
    backup_id = backup(api, configuration_id)["id"]
    assert patch(api, ("backups", backup_id), states("queued", "completed")).status_code == 204
    mine = {e["id"]: e for e in events(api, "backups", backup_id, "events")}
    assert {e["event"] for e in mine.values()} >= {
        "backup_start_request",
        "backup_queued",
        "backup_completed",
    }
    for parts in (
        ("agents", agent_id, "events"),
        ("events",),
        ("configurations", configuration_id, "events"),
    ):
        shown = {e["id"]: e for e in events(api, *parts) if e.get("backup", {}).get("id") == backup_id}
        assert shown == mine, parts
    assert not [e for e in events(api, "agents", api.agent(), "events") if "backup" in e]


def test_backup_of_a_deleted_configuration_stays_and_of_a_deleted_agent_goes(api: Api) -> None:
    """SPEC: deleting a configuration leaves its jobs (they name its id); deleting an agent
    removes its jobs."""
    agent_id, configuration_id, backup_id = finished_backup(api)
    deleted = api.client.delete(api.url("configurations", configuration_id), headers=api.headers())
    assert deleted.status_code == 204
    assert json_of(get(api, "backups", backup_id), 200)["configuration"]["id"] == configuration_id
    assert api.delete_agent(agent_id).status_code == 204
    assert_fault(get(api, "backups", backup_id), 404)
    assert json_of(get(api, "backups"), 200)["backups"] == []


def test_the_configuration_shows_its_last_completed_backup_and_is_restorable(api: Api) -> None:
    """The configuration details page: `backups.last_completed` {id, links} and `backups.next`;
    the configurations list page: `restorable=true` lists configurations with restorable backups."""
    agent_id = api.agent()
    configuration_id = configuration(api, agent_id)["id"]
    details = json_of(get(api, "configurations", configuration_id), 200)
    assert details["backups"]["last_completed"] is None
    listed = json_of(get(api, "configurations", query="restorable=true"), 200)["configurations"]
    assert configuration_id not in [c["id"] for c in listed]
    failed = backup(api, configuration_id)["id"]
    assert patch(api, ("backups", failed), states("failed")).status_code == 204
    assert json_of(get(api, "configurations", configuration_id), 200)["backups"]["last_completed"] is None
    done = backup(api, configuration_id)["id"]
    assert patch(api, ("backups", done), backup_results("completed")).status_code == 204
    details = json_of(get(api, "configurations", configuration_id), 200)
    last = details["backups"]["last_completed"]
    assert last["id"] == done
    assert rels(last["links"]) == ["full"] and ends_with(href(last["links"], "full"), "backups", done)
    assert isinstance(details["backups"]["next"]["scheduled_time"], str)
    listed = json_of(get(api, "configurations", query="restorable=true"), 200)["configurations"]
    assert [c["id"] for c in listed] == [configuration_id]
    assert json_of(get(api, "backups", done), 200)["restorable"] is True
    assert json_of(get(api, "backups", failed), 200)["restorable"] is False


# --------------------------------------------------------------------------------------------
# Restores.


def test_start_a_restore_page_example(api: Api) -> None:
    _, _, backup_id = finished_backup(api)
    destination = api.agent()
    answer = send_page_example(
        api, "POST", f"{P}/restores", {}, {EXAMPLE_BACKUP: backup_id, EXAMPLE_DESTINATION_AGENT: destination}
    )
    body = json_of(answer, 201)
    assert_page_shape(body, page_body("POST", f"{P}/restores"))
    assert_uuid4(body["id"])
    where = location_path(answer, "restores", body["id"])
    sent = page_request_body("POST", f"{P}/restores")
    assert body["project_id"] == PROJECT
    assert body["backup"]["id"] == backup_id and ends_with(
        href(body["backup"]["links"], "full"), "backups", backup_id
    )
    assert body["destination_agent"]["id"] == destination
    assert ends_with(href(body["destination_agent"]["links"], "full"), "agents", destination)
    for member in ("destination_path", "overwrite_files", "inclusions", "exclusions"):
        assert body[member] == sent[member], member
    assert "encrypted_password_hex" not in body  # the page's answer does not show it
    assert body["state"] == "start_requested"
    assert body["started_time"] is None and body["ended_time"] is None
    assert body["errors"]["count"] == 0 and body["files_restored"] == 0 and body["bytes_restored"] == 0
    assert rels(body["links"]) == ["self", "events"]
    assert urlsplit(href(body["links"], "self")).path == where
    assert json_of(api.client.get(where, headers=page_headers(), base_url=BASE), 200) == body


def test_start_a_restore_bad_requests(api: Api) -> None:
    _, _, backup_id = finished_backup(api)
    destination = api.agent()
    good = restore_request(backup_id, destination)
    required = ("backup_id", "destination_agent_id", "destination_path", "encrypted_password_hex",
                "inclusions", "exclusions")  # fmt: skip
    for member in required:
        body = {k: v for k, v in good.items() if k != member}
        errors = assert_fault(post_json(api, ("restores",), body), 400)["errors"]
        assert any(e.startswith(member) for e in errors), (member, errors)
    errors = assert_fault(post_json(api, ("restores",), {}), 400)["errors"]
    assert len(errors) == len(required), errors
    bad_type = {**good, "inclusions": [{"type": "disk", "path": "/web/"}]}
    assert assert_fault(post_json(api, ("restores",), bad_type), 400)["errors"][0].startswith("inclusions")
    bad_flag = {**good, "overwrite_files": "yes"}
    assert assert_fault(post_json(api, ("restores",), bad_flag), 400)["errors"][0].startswith(
        "overwrite_files"
    )
    assert_fault(post_json(api, ("restores",), {**good, "backup_id": str(uuid.uuid4())}), 404)
    assert_fault(post_json(api, ("restores",), {**good, "destination_agent_id": str(uuid.uuid4())}), 404)
    assert json_of(get(api, "restores"), 200)["restores"] == []


@pytest.mark.parametrize("state", ["start_requested", "in_progress", "failed", "stopped"])
def test_a_restore_needs_a_completed_backup(api: Api, state: str) -> None:
    """SPEC: restores are created from a completed backup, else 409."""
    configuration_id = configuration(api, api.agent())["id"]
    backup_id = backup(api, configuration_id)["id"]
    if state != "start_requested":
        assert patch(api, ("backups", backup_id), states(state)).status_code == 204
    answer = post_json(api, ("restores",), restore_request(backup_id, api.agent()))
    assert_fault(answer, 409)


def test_start_a_restore_defaults_and_original_locations(api: Api) -> None:
    """The start page: `overwrite_files` defaults to false; `destination_path` null restores to
    the original locations (and the answer shows null)."""
    agent_id, _, backup_id = finished_backup(api)
    body = restore_request(backup_id, agent_id)
    del body["overwrite_files"]
    body["destination_path"] = None
    created = json_of(post_json(api, ("restores",), body), 201)
    assert created["overwrite_files"] is False and created["destination_path"] is None


def test_update_a_restore_page_example_and_the_details_page(api: Api) -> None:
    _, _, backup_id = finished_backup(api)
    destination = api.agent()
    restore_id = restore(api, backup_id, destination)["id"]
    assert_no_body(send_page_example(api, "PATCH", RESTORE, {"restore_id": restore_id}), 204)
    body = json_of(send_page_example(api, "GET", RESTORE, {"restore_id": restore_id}), 200)
    example = page_body("GET", RESTORE)
    assert_page_shape(body, example)
    for member in ("state", "started_time", "ended_time", "files_restored", "bytes_restored"):
        assert body[member] == example[member], member
    assert {k: body["errors"][k] for k in ("count", "reason", "diagnostics")} == {
        k: example["errors"][k] for k in ("count", "reason", "diagnostics")
    }
    errors = json_of(send_page_example(api, "GET", f"{RESTORE}/errors", {"restore_id": restore_id}), 200)
    assert_page_shape(errors, page_body("GET", f"{RESTORE}/errors"))
    sent = page_request_body("PATCH", RESTORE)[3]["value"]
    (item,) = errors["list"]
    assert {k: item[k] for k in ("index", "path", "type", "exception")} == sent["list"][0]
    assert errors["count"] == 1 and errors["reason"] == sent["reason"]


def test_retrieve_the_restores_for_a_project_page_example(api: Api) -> None:
    """The page's query: `marker` (a restore), `limit=100`, `sort_dir=asc`: the restores after it."""
    _, _, backup_id = finished_backup(api)
    destination = api.agent()
    made = [restore(api, backup_id, destination)["id"] for _ in range(3)]
    answer = send_page_example(api, "GET", f"{P}/restores", {}, {EXAMPLE_RESTORE: made[0]})
    body = json_of(answer, 200)
    assert set(body) == {"restores", "links"}
    assert [r["id"] for r in body["restores"]] == made[1:]
    default = json_of(get(api, "restores"), 200)
    assert [r["id"] for r in default["restores"]] == made[::-1]  # the page: default `desc`


@pytest.mark.xfail(
    strict=True,
    reason="get-list-the-restores-for-a-project: the list's items (its response table and example) "
    "have no `inclusions` nor `exclusions` (the details page has them); the service adds both",
)
def test_the_restores_list_items_have_the_list_pages_members(api: Api) -> None:
    _, _, backup_id = finished_backup(api)
    made = restore(api, backup_id, api.agent())["id"]
    answer = send_page_example(api, "GET", f"{P}/restores", {}, {EXAMPLE_RESTORE: made})
    assert_page_shape(json_of(get(api, "restores"), 200), page_body("GET", f"{P}/restores"))
    assert json_of(answer, 200)["restores"] == []


def test_retrieve_the_events_for_a_restore_page_example(api: Api) -> None:
    """The restore's events (the page's types and members), also in the destination agent's feed
    (SPEC) and the project's."""
    source, configuration_id, backup_id = finished_backup(api)
    destination = api.agent()
    restore_id = restore(api, backup_id, destination)["id"]
    assert (
        patch(api, ("restores", restore_id), states("queued", "in_progress", "completed")).status_code == 204
    )
    stopped = restore(api, backup_id, destination)["id"]
    assert patch(api, ("restores", stopped), states("stop_requested", "stopped")).status_code == 204
    failed = restore(api, backup_id, destination)["id"]
    assert patch(api, ("restores", failed), states("failed")).status_code == 204
    example = page_body("GET", f"{RESTORE}/events")
    seen: set[str] = set()
    for job in (restore_id, stopped, failed):
        body = json_of(send_page_example(api, "GET", f"{RESTORE}/events", {"restore_id": job}), 200)
        assert_page_shape(body, example)
        for event in body["events"]:
            assert event["restore"]["id"] == job
            assert event["agent"]["id"] == destination
        seen |= {e["event"] for e in body["events"]}
    assert seen >= {e["event"] for e in example["events"]} - {"restore_progress"}
    start = next(
        e for e in events(api, "restores", restore_id, "events") if e["event"] == "restore_start_request"
    )
    assert_uuid4(start["request_id"])
    source_vault = json_of(get(api, "agents", source), 200)["vault"]
    assert start["source_agent"]["vault"] == {
        "id": source_vault["id"],
        "encrypted": source_vault["encrypted"],
    }
    assert start["backup"]["snapshot_id"] == backup_results()[3]["value"]
    assert start["configuration"]["id"] == configuration_id
    sent = page_request_body("POST", f"{P}/restores")
    for member in ("destination_path", "overwrite_files", "inclusions", "exclusions"):
        assert start["restore"][member] == sent[member], member
    feed = [
        e
        for e in events(api, "agents", destination, "events")
        if e.get("restore", {}).get("id") == restore_id
    ]
    assert feed[0]["event"] == "restore_start_request"
    assert {e["id"] for e in feed} == {e["id"] for e in events(api, "restores", restore_id, "events")}
    project = [e for e in events(api, "events") if e.get("restore", {}).get("id") == restore_id]
    assert {e["id"] for e in project} == {e["id"] for e in feed}


# --------------------------------------------------------------------------------------------
# Cleanups.


def test_start_a_cleanup_page_example(api: Api) -> None:
    agent_id = api.agent()
    answer = send_page_example(api, "POST", f"{P}/cleanups", {}, {EXAMPLE_AGENT: agent_id})
    body = json_of(answer, 201)
    assert_page_shape(body, page_body("POST", f"{P}/cleanups"))
    assert_uuid4(body["id"])
    where = location_path(answer, "cleanups", body["id"])
    assert body["project_id"] == PROJECT
    assert body["agent"]["id"] == agent_id and ends_with(
        href(body["agent"]["links"], "full"), "agents", agent_id
    )
    assert body["state"] == "start_requested"
    assert body["started_time"] is None and body["ended_time"] is None and body["snapshot_ids"] == []
    assert body["errors"]["count"] == 0 and body["bytes_before"] == 0 and body["bytes_after"] == 0
    assert rels(body["links"]) == ["self", "events"]
    assert urlsplit(href(body["links"], "self")).path == where
    assert json_of(api.client.get(where, headers=page_headers(), base_url=BASE), 200) == body


def test_start_a_cleanup_bad_requests(api: Api) -> None:
    agent_id = api.agent()
    errors = assert_fault(post_json(api, ("cleanups",), {}), 400)["errors"]
    assert sorted(e.split(":")[0] for e in errors) == ["agent_id", "state"], errors
    assert_fault(post_json(api, ("cleanups",), {"agent_id": agent_id, "state": "queued"}), 400)
    assert_fault(
        post_json(api, ("cleanups",), {"agent_id": str(uuid.uuid4()), "state": "start_requested"}), 404
    )
    assert json_of(get(api, "cleanups"), 200)["cleanups"] == []


def test_update_a_cleanup_page_example_the_details_and_the_errors(api: Api) -> None:
    agent_id = api.agent()
    cleanup_id = cleanup(api, agent_id)["id"]
    assert_no_body(send_page_example(api, "PATCH", CLEANUP, {"cleanup_id": cleanup_id}), 204)
    body = json_of(send_page_example(api, "GET", CLEANUP, {"cleanup_id": cleanup_id}), 200)
    example = page_body("GET", CLEANUP)
    assert_page_shape(body, example)
    for member in ("state", "started_time", "ended_time", "snapshot_ids", "bytes_before", "bytes_after"):
        assert body[member] == example[member], member
    sent = page_request_body("PATCH", CLEANUP)[4]["value"]
    assert body["errors"]["count"] == 1 and body["errors"]["diagnostics"] is None
    assert body["errors"]["reason"] == sent["reason"]
    errors = json_of(send_page_example(api, "GET", f"{CLEANUP}/errors", {"cleanup_id": cleanup_id}), 200)
    assert_page_shape(errors, page_body("GET", f"{CLEANUP}/errors"))
    (item,) = errors["list"]
    assert {k: item[k] for k in ("index", "path", "type", "exception")} == sent["list"][0]
    assert errors["diagnostics"] is None and item["exception"] is None  # the errors page's note


def test_retrieve_the_cleanups_for_a_project_page_example(api: Api) -> None:
    agent_id = api.agent()
    made = [cleanup(api, agent_id)["id"] for _ in range(3)]
    answer = send_page_example(api, "GET", f"{P}/cleanups", {}, {EXAMPLE_CLEANUP: made[0]})
    body = json_of(answer, 200)
    assert_page_shape(body, page_body("GET", f"{P}/cleanups"))
    default = json_of(get(api, "cleanups"), 200)
    assert [c["id"] for c in default["cleanups"]] == made[::-1]  # the page: default `desc`


def test_retrieve_the_events_for_a_cleanup_page_example(api: Api) -> None:
    agent_id = api.agent()
    done, stopped, failed = (cleanup(api, agent_id)["id"] for _ in range(3))
    assert patch(api, ("cleanups", done), states("queued", "in_progress", "completed")).status_code == 204
    assert patch(api, ("cleanups", stopped), states("stop_requested", "stopped")).status_code == 204
    assert patch(api, ("cleanups", failed), states("failed")).status_code == 204
    example = page_body("GET", f"{CLEANUP}/events")
    seen: set[str] = set()
    for job in (done, stopped, failed):
        body = json_of(send_page_example(api, "GET", f"{CLEANUP}/events", {"cleanup_id": job}), 200)
        assert_page_shape(body, example)
        for event in body["events"]:
            assert event["cleanup"]["id"] == job and event["agent"]["id"] == agent_id
        seen |= {e["event"] for e in body["events"]}
    assert seen >= {e["event"] for e in example["events"]}
    start = next(e for e in events(api, "cleanups", done, "events") if e["event"] == "cleanup_start_request")
    vault = json_of(get(api, "agents", agent_id), 200)["vault"]
    assert start["agent"]["vault"] == {"id": vault["id"], "encrypted": vault["encrypted"]}
    in_feed = {
        e["id"] for e in events(api, "agents", agent_id, "events") if e.get("cleanup", {}).get("id") == done
    }
    assert in_feed == {e["id"] for e in events(api, "cleanups", done, "events")}


# --------------------------------------------------------------------------------------------
# Activities: a project's, an agent's, a configuration's (their pages' `type`s).


def test_jobs_show_in_the_activities_as_the_pages_show(api: Api) -> None:
    agent_id, configuration_id, backup_id = finished_backup(api, "completed_with_errors")
    destination = api.agent()
    restore_id = restore(api, backup_id, destination)["id"]
    cleanup_id = cleanup(api, agent_id)["id"]
    example = page_body("GET", f"{P}/activities")
    project = json_of(send_page_example(api, "GET", f"{P}/activities", {}, {EXAMPLE_BACKUP: backup_id}), 200)
    assert_page_shape(project, example)
    everything = json_of(get(api, "activities"), 200)["activities"]
    assert_page_shape({"activities": everything, "links": example["links"]}, example)
    found = {a["id"]: a for a in everything}
    assert set(found) == {backup_id, restore_id, cleanup_id}
    assert [found[i]["type"] for i in (backup_id, restore_id, cleanup_id)] == ["backup", "restore", "cleanup"]
    assert found[backup_id]["state"] == "completed_with_errors"
    assert found[restore_id]["state"] == found[cleanup_id]["state"] == "start_requested"
    assert found[backup_id]["configuration"]["id"] == configuration_id
    assert "configuration" not in found[cleanup_id]
    for job_id, activity in found.items():
        (link,) = activity["links"]
        assert link["rel"] == activity["type"] and ends_with(link["href"], f"{activity['type']}s", job_id)
        assert_time(activity["last_updated_time"])
    assert everything[0]["id"] == cleanup_id  # newest first (the page: default `desc`)
    agent = {a["id"] for a in json_of(get(api, "agents", agent_id, "activities"), 200)["activities"]}
    assert agent == {backup_id, cleanup_id}
    receiving = {a["id"] for a in json_of(get(api, "agents", destination, "activities"), 200)["activities"]}
    assert receiving == {restore_id}
    configured = json_of(get(api, "configurations", configuration_id, "activities"), 200)["activities"]
    assert backup_id in {a["id"] for a in configured} and cleanup_id not in {a["id"] for a in configured}
    # A job's activity follows its state.
    assert patch(api, ("cleanups", cleanup_id), states("in_progress")).status_code == 204
    again = {a["id"]: a for a in json_of(get(api, "activities"), 200)["activities"]}
    assert again[cleanup_id]["state"] == "in_progress"


# --------------------------------------------------------------------------------------------
# Rights (SPEC "Common to every /v2 route": the guide's RBAC roles).


def test_rights_on_the_jobs_routes(tmp_path: Path) -> None:
    tokens = {
        TOKEN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
        "observer": {"project_id": PROJECT, "roles": ["cloudbackup:observer"]},
        "creator": {"project_id": PROJECT, "roles": ["cloudbackup:creator"]},
        "other": {"project_id": "220022", "roles": ["cloudbackup:admin"]},
    }
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(tokens))
    app = create_app(Settings(store_url="memory", tokens_file=str(path), control=False))
    try:
        api = Api(app.test_client())
        configuration_id = configuration(api, api.agent())["id"]
        backup_id = backup(api, configuration_id)["id"]
        for token, status in (("observer", 403), ("other", 403), ("unknown", 401), ("", 401)):
            assert_fault(start_backup(Api(api.client, token=token), configuration_id), status)
            document = json.dumps(states("queued"))
            answer = api.client.patch(
                api.url("backups", backup_id),
                data=document,
                headers={"X-Auth-Token": token, "Content-Type": JSON_PATCH},
            )
            assert_fault(answer, status)
        assert json_of(get(Api(api.client, token="observer"), "backups", backup_id), 200)["id"] == backup_id
        creator = Api(api.client, token="creator")
        assert json_of(start_backup(creator, configuration_id), 201)["state"] == "start_requested"
        assert patch(creator, ("backups", backup_id), states("queued")).status_code == 204
    finally:
        app.extensions["logfiles"].store.close()


# --------------------------------------------------------------------------------------------
# Routes: each page's method, 405 for the others (SPEC: routing comes first, with `Allow`).

JOB_ROUTES = {
    "{kind}s": {"GET", "POST"},
    "{kind}s/{id}": {"GET", "PATCH"},
    "{kind}s/{id}/errors": {"GET"},
    "{kind}s/{id}/events": {"GET"},
}


@by_kind
def test_other_methods_are_405_with_allow(api: Api, kind: Kind) -> None:
    for route, allowed in JOB_ROUTES.items():
        url = api.url(*route.format(kind=kind.name, id=uuid.uuid4()).split("/"))
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - allowed):
            answer = api.client.open(url, method=method, headers=api.headers())
            assert_fault(answer, 405)
            assert allowed <= {m.strip() for m in answer.headers["Allow"].split(",")}, (route, method)


def test_job_routes_answer_with_a_trailing_slash_and_a_json_suffix(api: Api) -> None:
    """SPEC "The whole service": routes also answer with a trailing slash and a `.json` suffix."""
    backup_id = make_backup(api)
    for path in (f"backups/{backup_id}/", f"backups/{backup_id}.json"):
        assert json_of(api.client.get(f"/v2/{PROJECT}/{path}", headers=api.headers()), 200)["id"] == backup_id
    for path in ("backups/", "backups.json"):
        listed = json_of(api.client.get(f"/v2/{PROJECT}/{path}", headers=api.headers()), 200)
        assert [b["id"] for b in listed["backups"]] == [backup_id]


def test_a_body_over_1_mib_is_413_and_fault_injection_gives_the_other_codes(api: Api) -> None:
    """SPEC: every body over 1 MiB is 413; 500, 501 and 503 come from fault injection, before the
    request reaches the model (nothing is made)."""
    configuration_id = configuration(api, api.agent())["id"]
    body = json.dumps({"configuration_id": configuration_id, "state": "start_requested"})
    huge = api.client.post(
        api.url("backups"),
        data=body + " " * (1024 * 1024),
        headers=api.headers(**{"Content-Type": "application/json"}),
    )
    assert_fault(huge, 413)
    for status in (500, 501, 503):
        rule = {"method": "POST", "path": f"/v2/{PROJECT}/backups", "status": status}
        assert api.control("post", "faults", rule).status_code == 201
        assert_fault(start_backup(api, configuration_id), status)
    assert json_of(get(api, "backups"), 200)["backups"] == []
    assert json_of(start_backup(api, configuration_id), 201)["state"] == "start_requested"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "/files_searched", "value": "many"},
        {"op": "add", "path": "/bytes_backed_up", "value": -1},
        {"op": "add", "path": "/started_time", "value": "yesterday"},
        {"op": "add", "path": "/errors", "value": {"count": "one"}},
        {"op": "add", "path": "/restorable", "value": True},
        {"op": "add", "path": "/id", "value": "x"},
    ],
    ids=["count-type", "negative", "time", "errors", "restorable", "id"],
)
def test_bad_results_are_400_and_change_nothing(api: Api, operation: dict[str, Any]) -> None:
    """The update page lists the results' paths and their types; anything else is a 400 with the
    PATCH's atomicity (SPEC)."""
    backup_id = make_backup(api)
    answer = patch(api, ("backups", backup_id), [*states("completed"), operation])
    assert_fault(answer, 400)
    body = json_of(get(api, "backups", backup_id), 200)
    assert body["state"] == "start_requested" and body["files_searched"] == 0


def test_a_cleanup_may_be_start_scheduled(api: Api) -> None:
    """The start-a-cleanup page: `state` is `start_requested` or `start_scheduled` (sent here by
    the agent, with its `X-Agent-Id`, as a scheduled backup is)."""
    agent_id = api.agent()
    body = {"agent_id": agent_id, "state": "start_scheduled"}
    created = json_of(post_json(api, ("cleanups",), body, **{"X-Agent-Id": agent_id}), 201)
    assert created["state"] == "start_scheduled"
    assert (
        patch(api, ("cleanups", created["id"]), states("queued", "in_progress", "completed")).status_code
        == 204
    )


@by_kind
def test_a_jobs_events_are_paged_as_the_events_pages_show(api: Api, kind: Kind) -> None:
    """The events pages: `links` `next` (`?marker=<last>`) and `previous`
    (`?marker=<first>&sort_dir=desc`); `marker` means newer than it with `asc`."""
    job_id = kind.make(api)
    assert kind.patch(api, job_id, states(*kind.steps)).status_code == 204
    body = json_of(get(api, kind.plural, job_id, "events"), 200)
    ids = [e["id"] for e in body["events"]]
    assert len(ids) == len(kind.steps) + 1 and [int(i) for i in ids] == sorted(int(i) for i in ids)
    assert rels(body["links"]) == ["next", "previous"]
    assert parse_qs(urlsplit(href(body["links"], "next")).query) == {"marker": [ids[-1]]}
    previous = parse_qs(urlsplit(href(body["links"], "previous")).query)
    assert previous == {"marker": [ids[0]], "sort_dir": ["desc"]}
    later = json_of(get(api, kind.plural, job_id, "events", query=f"marker={ids[0]}&limit=2"), 200)
    assert [e["id"] for e in later["events"]] == ids[1:3]
    assert_fault(get(api, kind.plural, job_id, "events", query="sort_dir=sideways"), 400)
    assert_fault(get(api, kind.plural, job_id, "events", query="limit=none"), 400)


def test_every_input_has_a_bound(api: Api) -> None:
    """The standards: every input has a documented bound; past it a 4xx (never kept, never a 500).
    Each value here is within the 1 MiB body limit and past any plausible bound."""
    agent_id, _, backup_id = finished_backup(api)
    big = "x" * 700_000
    job_id = make_backup(api)
    answer = patch(api, ("backups", job_id), [*states("completed"), {"op": "add", "path": "/errors",
                   "value": {"count": 1, "reason": big, "diagnostics": "", "list": []}}])  # fmt: skip
    assert 400 <= answer.status_code < 500, answer.status_code
    assert_fault(answer, answer.status_code)
    body = {**restore_request(backup_id, agent_id), "destination_path": "/" + big}
    answer = post_json(api, ("restores",), body)
    assert 400 <= answer.status_code < 500, answer.status_code
    assert_fault(answer, answer.status_code)
    many = [{"type": "file", "path": f"/f{i}"} for i in range(40_000)]
    answer = post_json(api, ("restores",), {**restore_request(backup_id, agent_id), "inclusions": many})
    assert 400 <= answer.status_code < 500, answer.status_code
    assert json_of(get(api, "backups", job_id), 200)["state"] == "start_requested"
    assert json_of(get(api, "restores"), 200)["restores"] == []
