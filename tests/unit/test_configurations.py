"""The configuration core (configurations.py): the create page's rules, the PATCH page's
change, and the pages' answers, without the app."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logfiles import agent_settings, configurations
from logfiles.configurations import load, parse_patch, patched, problems
from logfiles.documents import Document
from logfiles.errors import Invalid
from logfiles.model import Agent, Vault
from logfiles.schemas.configurations import MAX_NAME_LENGTH, MAX_NOTIFICATIONS, MAX_PATH_LENGTH, MAX_PATHS
from tests.conftest import configuration_body

NOW = datetime(2014, 8, 5, 18, 22, 21, 238641, tzinfo=UTC)
AGENT_ID = "8f135b4f-7a69-4b8a-947f-5e80d772fd97"
# The create page's example request.
EXAMPLE: dict[str, Any] = configuration_body(AGENT_ID)


def body(**changes: Any) -> dict[str, Any]:
    made = copy.deepcopy(EXAMPLE)
    made.update(changes)
    return made


def errors_of(data: Any) -> list[str]:
    with pytest.raises(Invalid) as caught:
        load(data, NOW)
    return caught.value.errors


def folder(path: str) -> dict[str, str]:
    return {"type": "folder", "path": path}


def file(path: str) -> dict[str, str]:
    return {"type": "file", "path": path}


def test_the_example_loads_with_its_start_in_whole_seconds() -> None:
    kept = load(body(), NOW)
    assert kept["schedule"] == {
        "start": "2014-08-05T18:22:21Z",
        "recurrence": ["RRULE:FREQ=HOURLY;INTERVAL=2"],
        "time_zone": "US/Central",
    }
    assert kept["backups"] == {"last_completed": None}
    assert list(kept) == [
        "agent_id",
        "name",
        "enabled",
        "schedule",
        "retention",
        "inclusions",
        "exclusions",
        "notifications",
        "backups",
    ]


def test_a_given_start_is_kept_and_unknown_members_are_ignored() -> None:
    plan = {**EXAMPLE["schedule"], "start": "2020-01-02T03:04:05.678Z", "extra": 1}
    kept = load(body(schedule=plan, color="blue"), NOW)
    assert kept["schedule"]["start"] == "2020-01-02T03:04:05Z"
    assert "color" not in kept


def test_a_null_schedule_is_a_manual_configuration() -> None:
    kept = load(body(schedule=None), NOW)
    assert kept["schedule"] is None
    assert configurations.run_times(kept, NOW, 3) is None
    assert configurations.next_run(kept, NOW) is None


def test_every_missing_member_is_named() -> None:
    assert sorted(e.split(":")[0] for e in errors_of({})) == sorted(
        ["agent_id", "name", "enabled", "schedule", "retention", "inclusions", "exclusions", "notifications"]
    )


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"enabled": "true"}, "enabled"),
        ({"name": ""}, "name"),
        ({"name": "x" * (MAX_NAME_LENGTH + 1)}, "name"),
        ({"agent_id": 7}, "agent_id"),
        ({"retention": {"days": -1}}, "retention.days"),
        ({"retention": {"days": 36501}}, "retention.days"),
        ({"retention": {"days": 1.5}}, "retention.days"),
        ({"retention": {"days": True}}, "retention.days"),
        ({"schedule": {"recurrence": [], "time_zone": "UTC"}}, "schedule.recurrence"),
        (
            {"schedule": {"recurrence": ["RRULE:FREQ=DAILY", "RRULE:FREQ=HOURLY"], "time_zone": "UTC"}},
            "schedule.recurrence",
        ),
        ({"schedule": {"recurrence": "RRULE:FREQ=DAILY", "time_zone": "UTC"}}, "schedule.recurrence"),
        (
            {"schedule": {"recurrence": ["RRULE:FREQ=DAILY;COUNT=2"], "time_zone": "UTC"}},
            "schedule.recurrence.0",
        ),
        ({"schedule": {"recurrence": ["RRULE:FREQ=DAILY"], "time_zone": "Mars/Base"}}, "schedule.time_zone"),
        ({"schedule": {"recurrence": ["RRULE:FREQ=DAILY"]}}, "schedule.time_zone"),
        (
            {"schedule": {"recurrence": ["RRULE:FREQ=DAILY"], "time_zone": "UTC", "start": "soon"}},
            "schedule.start",
        ),
        ({"schedule": "RRULE:FREQ=DAILY"}, "schedule"),
        ({"inclusions": [{"type": "link", "path": "/x"}]}, "inclusions.0.type"),
        ({"inclusions": [{"type": "file"}]}, "inclusions.0.path"),
        ({"inclusions": [file("x" * (MAX_PATH_LENGTH + 1))], "exclusions": []}, "inclusions.0.path"),
        ({"inclusions": [file(f"/f{n}") for n in range(MAX_PATHS + 1)], "exclusions": []}, "inclusions"),
        ({"exclusions": {"type": "file", "path": "/x"}}, "exclusions"),
        (
            {"notifications": [{"type": "email", "destination": "e", "on_success": 1, "on_failure": True}]},
            "notifications.0.on_success",
        ),
        (
            {"notifications": [{"type": "email", "on_success": True, "on_failure": True}]},
            "notifications.0.destination",
        ),
        (
            {
                "notifications": [{"type": "e", "destination": "e", "on_success": True, "on_failure": True}]
                * (MAX_NOTIFICATIONS + 1)
            },
            "notifications",
        ),
    ],
)
def test_each_bad_member_is_named(changes: dict[str, Any], where: str) -> None:
    errors = errors_of(body(**changes))
    assert [e.split(": ")[0] for e in errors] == [where], errors


def test_a_body_that_is_not_an_object() -> None:
    assert errors_of([]) == ["body: must be a JSON object"]


@pytest.mark.parametrize(
    ("inclusions", "exclusions", "expected"),
    [
        # Multiple entries with the same path are forbidden (both lists).
        ([folder("/web/"), folder("/web")], [], ["inclusions.1.path: '/web' is included twice"]),
        (
            [folder("/web/")],
            [folder("/web/a"), file("/web/a/")],
            ["exclusions.1.path: '/web/a/' is excluded twice"],
        ),
        # The same path in both lists.
        ([folder("/web/")], [folder("/web/")], ["exclusions.0.path: '/web/' is also an inclusion"]),
        # Not included under an existing inclusion, nor under an exclusion.
        (
            [folder("/web/"), file("/web/index.html")],
            [],
            ["inclusions.1.path: '/web/index.html' is under the included folder '/web/'"],
        ),
        (
            [folder("/web/"), folder("/web/cache/keep/")],
            [folder("/web/cache/")],
            [
                "inclusions.1.path: '/web/cache/keep/' is under the included folder '/web/'",
                "inclusions.1.path: '/web/cache/keep/' is under the excluded folder '/web/cache/'",
            ],
        ),
        # Not excluded under an exclusion; every exclusion under an inclusion.
        (
            [folder("/web/")],
            [folder("/web/cache/"), file("/web/cache/a.jpg")],
            ["exclusions.1.path: '/web/cache/a.jpg' is under the excluded folder '/web/cache/'"],
        ),
        (
            [folder("/web/")],
            [file("/etc/passwd")],
            ["exclusions.0.path: '/etc/passwd' is not under an included folder"],
        ),
        (
            [file("/web")],
            [file("/web/x")],
            ["exclusions.0.path: '/web/x' is not under an included folder"],
        ),  # a file holds nothing
        (
            [folder("/web/")],
            [file("/webcache/x")],
            ["exclusions.0.path: '/webcache/x' is not under an included folder"],
        ),
        # Windows paths, and the root.
        ([folder("C:\\data")], [folder("C:\\data\\tmp"), file("C:\\data\\x.log")], []),
        ([folder("/")], [folder("/var/")], []),
        ([], [], []),
    ],
)
def test_the_create_pages_path_rules(
    inclusions: list[Any], exclusions: list[Any], expected: list[str]
) -> None:
    assert problems(body(inclusions=inclusions, exclusions=exclusions)) == expected


def test_at_least_one_notification_on_failure() -> None:
    notices = [{"type": "email", "destination": "a@b", "on_success": True, "on_failure": False}]
    assert errors_of(body(notifications=notices)) == [
        "notifications: at least one notification must have on_failure true"
    ]
    assert errors_of(body(notifications=[])) == [
        "notifications: at least one notification must have on_failure true"
    ]


def test_a_schedule_that_never_runs() -> None:
    plan = {
        "recurrence": ["RRULE:FREQ=HOURLY;INTERVAL=24;BYHOUR=5"],
        "time_zone": "UTC",
        "start": "2024-01-01T03:00:00Z",
    }
    assert [e.split(": ")[0] for e in errors_of(body(schedule=plan))] == ["schedule.recurrence.0"]


def test_every_problem_of_the_rules_at_once() -> None:
    errors = errors_of(
        body(inclusions=[folder("/a"), folder("/a")], exclusions=[file("/b")], notifications=[])
    )
    assert len(errors) == 3, errors


# PATCH.

PATHS_LISTED = "/name, /enabled, /schedule, /retention/days, /inclusions, /exclusions, /notifications"


def stored(**changes: Any) -> Document:
    return configurations.new_configuration("110011", "c1", load(body(**changes), NOW))


@pytest.mark.parametrize(
    ("document", "errors"),
    [
        ({}, ["body: must be a JSON array of operation objects"]),
        ([], ["body: must hold at least one operation"]),
        ([1], ["/0: must be an operation object"]),
        (
            [{"op": "add", "path": "/id", "value": 1}],
            [
                "/0/op: must be 'replace' (the only operation a configuration takes)",
                f"/0/path: must be one of {PATHS_LISTED}",
            ],
        ),
        ([{"op": "replace", "path": "/name"}], ["/0/value: Missing data for required field."]),
        (
            [{"op": "remove", "path": "/name"}, {"op": "replace", "path": "/retention"}],
            [
                "/0/op: must be 'replace' (the only operation a configuration takes)",
                "/0/value: Missing data for required field.",
                f"/1/path: must be one of {PATHS_LISTED}",
                "/1/value: Missing data for required field.",
            ],
        ),
    ],
)
def test_a_bad_patch_document_names_each_problem(document: Any, errors: list[str]) -> None:
    with pytest.raises(Invalid) as caught:
        parse_patch(document)
    assert caught.value.errors == errors


def test_each_path_of_the_patch_page() -> None:
    current = stored()
    ops = parse_patch(
        [
            {"op": "replace", "path": "/name", "value": "Nightly"},
            {"op": "replace", "path": "/enabled", "value": False},
            {"op": "replace", "path": "/retention/days", "value": 0},
            {"op": "replace", "path": "/inclusions", "value": [folder("/srv/")]},
            {"op": "replace", "path": "/exclusions", "value": []},
            {
                "op": "replace",
                "path": "/notifications",
                "value": [{"type": "email", "destination": "x@y", "on_success": False, "on_failure": True}],
            },
            {
                "op": "replace",
                "path": "/schedule",
                "value": {"recurrence": ["RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=0"], "time_zone": "UTC"},
            },
        ]
    )
    later = datetime(2015, 1, 1, tzinfo=UTC)
    after = patched(current, ops, later)
    assert after.body["name"] == "Nightly" and after.body["enabled"] is False
    assert after.body["retention"] == {"days": 0}
    assert after.body["inclusions"] == [folder("/srv/")] and after.body["exclusions"] == []
    # A new schedule keeps the configuration's start unless it gives one.
    assert after.body["schedule"]["start"] == "2014-08-05T18:22:21Z"
    assert after.body["schedule"]["recurrence"] == ["RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=0"]
    assert current.body["name"] == "Every Other Hour Configuration"  # pure: the original is untouched


def test_a_schedule_given_to_a_manual_configuration_starts_now() -> None:
    current = stored(schedule=None)
    later = datetime(2015, 1, 1, 0, 0, 7, 500, tzinfo=UTC)
    after = patched(
        current, parse_patch([{"op": "replace", "path": "/schedule", "value": EXAMPLE["schedule"]}]), later
    )
    assert after.body["schedule"]["start"] == "2015-01-01T00:00:07Z"
    manual = patched(after, parse_patch([{"op": "replace", "path": "/schedule", "value": None}]), later)
    assert manual.body["schedule"] is None


def test_a_same_value_patch_is_the_document_itself() -> None:
    current = stored()
    ops = parse_patch(
        [
            {"op": "replace", "path": "/enabled", "value": True},
            {"op": "replace", "path": "/retention/days", "value": 30},
        ]
    )
    assert patched(current, ops, NOW) is current


def test_a_patch_is_checked_whole_by_the_create_rules() -> None:
    current = stored()
    ops = parse_patch(
        [
            {
                "op": "replace",
                "path": "/inclusions",
                "value": [folder("/other/")],
            },  # leaves /web/cache/ outside
            {"op": "replace", "path": "/retention/days", "value": "30"},
            {"op": "replace", "path": "/name", "value": ""},
        ]
    )
    with pytest.raises(Invalid) as caught:
        patched(current, ops, NOW)
    assert [e.split(": ")[0] for e in caught.value.errors] == ["name", "retention.days"]
    rules_only = parse_patch([{"op": "replace", "path": "/inclusions", "value": [folder("/other/")]}])
    with pytest.raises(Invalid) as caught:
        patched(current, rules_only, NOW)
    assert caught.value.errors == [
        "exclusions.0.path: '/web/cache/' is not under an included folder",
        "exclusions.1.path: '/web/cache.jpg' is not under an included folder",
    ]


# The answers.

HOST = "https://dfw.backup.api.rackspacecloud.com"


def test_the_create_answer_shows_next_beside_backups_and_in_it_details_only_in_it() -> None:
    document = stored()
    created = configurations.created_body(HOST, document, NOW)
    assert created["next"] == {"scheduled_time": "2014-08-05T20:22:21Z"}
    assert created["backups"] == {"last_completed": None, "next": created["next"]}
    details = configurations.details_body(HOST, document, NOW)
    assert "next" not in details
    assert details["backups"] == {"last_completed": None, "next": {"scheduled_time": "2014-08-05T20:22:21Z"}}
    assert [link["rel"] for link in details["links"]] == ["self", "activities", "events"]
    item = configurations.list_item(HOST, document, NOW)
    assert [link["rel"] for link in item["links"]] == ["full", "activities", "events"]
    assert "inclusions" not in item and "notifications" not in item


def test_a_disabled_configuration_has_no_next_backup() -> None:
    document = stored(enabled=False)
    assert configurations.details_body(HOST, document, NOW)["backups"]["next"] is None


def test_last_completed_links_to_its_backup() -> None:
    document = stored()
    done = configurations.new_configuration(
        "110011", "c1", {**document.body, "backups": {"last_completed": {"id": "b1"}}}
    )
    assert configurations.details_body(HOST, done, NOW)["backups"]["last_completed"] == {
        "id": "b1",
        "links": [{"href": f"{HOST}/v2/110011/backups/b1", "rel": "full"}],
    }
    assert configurations.restorable(done) and not configurations.restorable(document)


def agent(**registration: Any) -> Agent:
    return Agent(
        id=AGENT_ID, project_id="110011", registered_time=NOW, registration=registration, log_level="debug"
    )


def test_the_agent_document_shows_the_agents_vault() -> None:
    vault = Vault(
        id="7cd999c3-a0c3-4985-99d4-42b544685456",
        name="phoenix_7cd",
        region="DFW",
        use_internal=False,
        encrypted=True,
    )
    links = [{"href": "https://files/v1/MossoCloudFS_110011/phoenix_7cd", "rel": "publicURL"}]
    entry = agent_settings.vault_entry(vault, links, HOST)
    assert entry == {
        "id": vault.id,
        "use_internal": False,
        "encrypted": True,
        "links": [*links, {"href": HOST, "rel": "data_services"}],
    }
    shown = agent_settings.agent_document(agent(), entry, [stored()], HOST, NOW)
    assert shown["system_preferences"]["logging"] == {"level": "debug"}
    assert shown["system_preferences"]["events"]["rse"]["channel"] == f"/v2/110011/agents/{AGENT_ID}/events"
    (configuration,) = shown["configurations"]
    assert configuration["vault_id"] == vault.id
    assert configuration["times"] == ["2014-08-05T20:22:21Z", "2014-08-05T22:22:21Z", "2014-08-06T00:22:21Z"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": 7, "enabled": "yes", "schedule": "hourly"},
        {"schedule": {"recurrence": ["RRULE:FREQ=DAILY;COUNT=2"], "time_zone": "UTC"}, "enabled": True},
        {
            "schedule": {"recurrence": "RRULE:FREQ=DAILY", "time_zone": "Mars/Base", "start": "soon"},
            "enabled": True,
        },
        {"schedule": {"recurrence": ["RRULE:FREQ=DAILY"]}, "enabled": True, "backups": {"last_completed": 3}},
    ],
)
def test_a_seeded_body_of_any_members_is_shown_not_a_crash(body: dict[str, Any]) -> None:
    """The control plane seeds (and imports) configurations with whatever members a test gives."""
    document = Document("configuration", "110011", "c1", body, parent=AGENT_ID, version=1)
    details = configurations.details_body(HOST, document, NOW)
    assert details["agent"]["id"] == AGENT_ID and details["backups"]["next"] is None
    assert details["backups"]["last_completed"] is None
    configurations.list_item(HOST, document, NOW)
    configurations.created_body(HOST, document, NOW)
    assert agent_settings.agent_configuration_entry(document, "v", NOW)["times"] is None
    # A PATCH checks the whole result by the create rules: each problem named, never a crash.
    with pytest.raises(Invalid):
        patched(document, parse_patch([{"op": "replace", "path": "/retention/days", "value": 1}]), NOW)


def test_a_seeded_schedule_without_a_start_runs_from_now() -> None:
    body = {"enabled": True, "schedule": {"recurrence": ["RRULE:FREQ=HOURLY"], "time_zone": "UTC"}}
    document = Document("configuration", "110011", "c1", body, parent=AGENT_ID, version=1)
    assert configurations.details_body(HOST, document, NOW)["backups"]["next"] == {
        "scheduled_time": "2014-08-05T19:22:21Z"
    }


def test_the_document_limit() -> None:
    agent_settings.check_document_size({"x": "a" * (agent_settings.MAX_AGENT_DOCUMENT_BYTES - 8)})
    with pytest.raises(Invalid, match="over the guide's limit of 1 MB"):
        agent_settings.check_document_size({"x": "a" * (agent_settings.MAX_AGENT_DOCUMENT_BYTES - 7)})


PATHS = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["file", "folder"]),
            "path": st.text(alphabet="/\\ab", min_size=1, max_size=6),
        }
    ),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(inclusions=PATHS, exclusions=PATHS, on_failure=st.booleans())
def test_the_rules_answer_every_body_with_problems_or_a_load(
    inclusions: list[Any], exclusions: list[Any], on_failure: bool
) -> None:
    """Any lists of paths: either the body loads, or it is a 400 whose every entry names where."""
    notices = [{"type": "email", "destination": "d", "on_success": True, "on_failure": on_failure}]
    data = body(inclusions=inclusions, exclusions=exclusions, notifications=notices)
    found = problems(data)
    wheres = {f"{side}.{i}.path" for side in ("inclusions", "exclusions") for i in range(6)} | {
        "notifications"
    }
    assert all(e.split(": ")[0] in wheres for e in found), found
    if found:
        with pytest.raises(Invalid) as caught:
            load(data, NOW)
        assert caught.value.errors == found
    else:
        load(data, NOW)


def test_a_seeded_body_is_kept_as_the_create_route_keeps_it_when_it_is_valid() -> None:
    done = {"last_completed": {"id": "b1"}}
    kept = configurations.seeded_body(body(backups=done), NOW)
    assert kept == {**load(body(), NOW), "backups": done}
    short = {"agent_id": AGENT_ID, "name": "nightly"}
    assert configurations.seeded_body(short, NOW) == short
