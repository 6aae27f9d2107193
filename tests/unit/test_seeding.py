"""The seeding builder: a loaded state document to agents and log files, without Flask or a store."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from logfiles.errors import Invalid
from logfiles.model import Agent, LogFile, LogFileState
from logfiles.seeding import DEFAULT_REGISTRATION, Seed, build_seed
from logfiles.state_document import read_state_document

NOW = datetime(2014, 9, 23, 12, 22, 40, 606703, tzinfo=UTC)
WHEN = "2014-01-02T03:04:05.000006Z"


def ids() -> Any:
    counter = itertools.count(1)
    return lambda: f"id-{next(counter)}"


class Lookup:
    """A store's agent_projects that remembers what it was asked."""

    def __init__(self, projects: Mapping[str, str]) -> None:
        self.projects = projects
        self.asked: list[set[str]] = []

    def __call__(self, agent_ids: Collection[str]) -> dict[str, str]:
        self.asked.append(set(agent_ids))
        return {agent_id: self.projects[agent_id] for agent_id in agent_ids if agent_id in self.projects}


def seed(document: dict[str, Any], lookup: Lookup | None = None) -> Seed:
    return build_seed(read_state_document(json.dumps(document).encode()), NOW, ids(), lookup)


def test_build_seed_fills_in_the_defaults() -> None:
    built = seed({"agents": [{"project_id": "p"}], "logfiles": [{"agent_id": "id-1"}]})
    assert built == Seed(
        [Agent("id-1", "p", NOW, DEFAULT_REGISTRATION, enabled=True, log_level="warn")],
        [LogFile("id-2", "p", "id-1", NOW, LogFileState.REQUESTED)],
    )


def test_build_seed_keeps_what_the_document_gives() -> None:
    built = seed(
        {
            "agents": [{"id": "a", "project_id": "p", "registered_time": WHEN, "enabled": False}],
            "logfiles": [{"id": "l", "agent_id": "a", "date": WHEN, "state": "completed"}],
        }
    )
    when = datetime(2014, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert built.agents[0].registered_time == when and built.agents[0].enabled is False
    assert built.logfiles == [LogFile("l", "p", "a", when, LogFileState.COMPLETED)]


def test_build_seed_asks_the_store_only_for_agents_the_document_lacks() -> None:
    lookup = Lookup({"stored": "q", "a": "stale"})
    built = seed(
        {
            "agents": [{"id": "a", "project_id": "p"}],
            "logfiles": [{"agent_id": "a"}, {"agent_id": "stored"}],
            "generate": [{"agent_id": "stored", "count": 1}],
        },
        lookup,
    )
    assert lookup.asked == [{"stored"}]
    assert [(lf.agent_id, lf.project_id) for lf in built.logfiles] == [
        ("a", "p"),
        ("stored", "q"),
        ("stored", "q"),
    ]


def test_build_seed_does_not_ask_the_store_when_the_document_holds_every_agent() -> None:
    lookup = Lookup({})
    seed({"agents": [{"id": "a", "project_id": "p"}], "logfiles": [{"agent_id": "a"}]}, lookup)
    assert lookup.asked == []


def test_build_seed_unknown_agents_are_invalid_listing_every_one() -> None:
    document = {
        "logfiles": [{"agent_id": "stored"}, {"agent_id": "x"}],
        "generate": [{"agent_id": "y", "count": 3}],
    }
    with pytest.raises(Invalid) as excinfo:
        seed(document, Lookup({"stored": "q"}))
    assert excinfo.value.errors == [
        "logfiles.1.agent_id: no agent 'x' in the state",
        "generate.0.agent_id: no agent 'y' in the state",
    ]


def test_build_seed_replacing_the_stored_agents_do_not_count() -> None:
    with pytest.raises(Invalid) as excinfo:
        seed({"logfiles": [{"agent_id": "stored"}]}, None)
    assert excinfo.value.errors == ["logfiles.0.agent_id: no agent 'stored' in the state"]


def test_build_seed_generate_makes_logfiles_one_microsecond_apart_after_the_listed_ones() -> None:
    built = seed(
        {
            "agents": [{"id": "a", "project_id": "p"}],
            "logfiles": [{"id": "l", "agent_id": "a"}],
            "generate": [{"agent_id": "a", "count": 3, "state": "started", "date": WHEN}],
        }
    )
    when = datetime(2014, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert built.logfiles[1:] == [
        LogFile(f"id-{n + 1}", "p", "a", when + timedelta(microseconds=n), LogFileState.STARTED)
        for n in range(3)
    ]
    assert built.logfiles[0].id == "l"


def test_seeding_imports_no_flask_or_werkzeug() -> None:
    code = (
        "import sys, logfiles.seeding, logfiles.store.sqlite\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# Reading: strict JSON, item by item, with bounds on what one document may create.


def read(text: str | bytes) -> Any:
    return read_state_document(text.encode() if isinstance(text, str) else text)


def problems_of(text: str | bytes) -> list[str]:
    with pytest.raises(Invalid) as caught:
        read(text)
    return caught.value.errors


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[]", "body: must be a JSON object"),
        ('{"agents": [], "agents": []}', "body: duplicate member 'agents'"),
        ('{"agents": [{"project_id": "p", "project_id": "q"}]}', "body: duplicate member 'project_id'"),
        ('{"agents": [{"project_id": NaN}]}', "body: lexical error"),
        ('{"agents": []} {}', "body: parse error: trailing garbage"),
        ('{"agents": [', "body: "),
        ('{"agnets": []}', "agnets: Unknown field."),
        ('{"agents": {"project_id": "p"}}', "agents: Not a valid list."),
        ('{"logfiles": [' + "[" * 40 + "]" * 40 + "]}", "body: nested too deeply"),
    ],
)
def test_read_state_document_refuses_what_is_not_a_strict_document(text: str, where: str) -> None:
    assert problems_of(text)[0].startswith(where)


def test_read_state_document_in_utf16_is_invalid() -> None:
    assert problems_of(json.dumps({"agents": []}).encode("utf-16"))[0].startswith("body: ")


def test_read_state_document_names_a_problem_by_its_index_across_batches() -> None:
    logfiles: list[dict[str, Any]] = [{"agent_id": "a"} for _ in range(2500)]
    logfiles[1500]["state"] = "lost"
    logfiles[2499] = "not an object"  # type: ignore[call-overload]
    found = problems_of(json.dumps({"logfiles": logfiles}))
    assert found[0].startswith("logfiles.1500.state: ")
    assert found[1] == "logfiles.2499: must be a JSON object"


def test_read_state_document_lists_a_thousand_problems_and_counts_the_rest() -> None:
    found = problems_of(json.dumps({"logfiles": [{} for _ in range(1500)]}))
    assert len(found) == 1001 and found[-1] == "errors: 500 more not listed"


def test_read_state_document_stops_past_the_log_file_bound() -> None:
    generate = [{"agent_id": "a", "count": 1_000_000}, {"agent_id": "a", "count": 1_000_000}]
    assert read(json.dumps({"generate": generate})).generate[1]["count"] == 1_000_000
    over = json.dumps({"logfiles": [{"agent_id": "a"}], "generate": generate})
    assert problems_of(over) == ["logfiles: at most 2000000 in one document, generated ones included"]
    many = json.dumps({"generate": [{"agent_id": "a", "count": 2_000_000}] * 1000})
    assert problems_of(many)[0].startswith("logfiles: at most 2000000")


def test_read_state_document_stops_past_the_agent_bound() -> None:
    text = json.dumps({"agents": [{"project_id": "p"}] * 100_001})
    assert problems_of(text) == ["agents: at most 100000 in one document"]


def test_read_state_document_keeps_log_files_compact() -> None:
    document = read(json.dumps({"logfiles": [{"agent_id": "a", "id": "l", "state": "started"}]}))
    (item,) = document.logfiles
    assert (item.id, item.agent_id, item.date, item.state) == ("l", "a", None, LogFileState.STARTED)


# Documents: as exported, and configurations and jobs as a test seeds them.


def test_build_seed_makes_documents_in_section_order() -> None:
    exported = {
        "kind": "cleanup", "project_id": "p", "id": "k0", "parent": "a", "version": 7,
        "keys": {"configuration_id": "", "state": "queued", "time": "x"}, "body": {"any": [1]},
    }  # fmt: skip
    built = seed(
        {
            "agents": [{"id": "a", "project_id": "p"}],
            "jobs": [{"type": "restore", "agent_id": "a", "backup_id": "b", "last_updated_time": WHEN}],
            "configurations": [{"agent_id": "a", "name": "n", "schedule": {"x": 1}}],
            "documents": [exported],
        }
    )
    cleanup, config, restore = built.documents
    assert (cleanup.kind, cleanup.version, cleanup.body) == ("cleanup", 7, {"any": [1]})
    assert config.kind == "configuration" and config.version == 1 and config.parent == "a"
    assert config.body == {
        "agent_id": "a",
        "name": "n",
        "schedule": {"x": 1},
        "id": "id-1",
        "project_id": "p",
    }
    assert restore.id == "id-2" and restore.parent == "a" and restore.version == 1
    assert restore.keys == {"backup_id": "b", "configuration_id": "", "state": "completed", "time": WHEN}
    assert restore.body["last_updated_time"] == WHEN


def test_build_seed_takes_a_stored_agents_project_for_jobs() -> None:
    lookup = Lookup({"stored": "q"})
    built = seed({"jobs": [{"type": "backup", "agent_id": "stored"}]}, lookup)
    assert lookup.asked == [{"stored"}]
    assert built.documents[0].project_id == "q"
    assert built.documents[0].keys["time"] == "2014-09-23T12:22:40.606703Z"  # the seed's moment
