"""The Store contract for imports that look up only their own ids, and for agent_projects."""

from __future__ import annotations

from dataclasses import replace

import pytest

from logfiles.errors import Conflict, Invalid
from logfiles.store import FullStore, Page
from logfiles.store.base import agent_not_in_state, id_taken
from tests.store.helpers import OTHER_PROJECT, PROJECT, make_agent, make_logfile, with_logfiles
from tests.store.test_contract import assert_error

# More than one chunk of ids for the SQLite store's `IN (...)` lookups.
MANY = 1_200


def test_agent_projects_gives_only_the_stored_agents(store: FullStore) -> None:
    store.add_agent(make_agent("agent-1"))
    store.add_agent(make_agent("agent-2", OTHER_PROJECT))
    assert store.agent_projects(["agent-2", "nobody", "agent-1"]) == {
        "agent-1": PROJECT,
        "agent-2": OTHER_PROJECT,
    }
    assert store.agent_projects([]) == {}


def test_agent_projects_of_many_ids(store: FullStore) -> None:
    stored = [make_agent(f"agent-{n}") for n in range(0, MANY, 2)]
    store.import_state(stored, [], replace=False)
    asked = [f"agent-{n}" for n in range(MANY)]
    assert store.agent_projects(asked) == {agent.id: PROJECT for agent in stored}


def test_agent_projects_after_delete_leaves_the_agent_out(store: FullStore) -> None:
    store.add_agent(make_agent("agent-1"))
    store.delete_agent(PROJECT, "agent-1")
    assert store.agent_projects(["agent-1"]) == {}


def test_import_state_add_logfiles_to_a_stored_agent(store: FullStore) -> None:
    mine = with_logfiles(store, 3, "agent-1")
    new = [make_logfile(f"new-{n}", "agent-1", n=n) for n in range(MANY)]
    store.import_state([], new, replace=False)
    page = store.list_logfiles(PROJECT, "agent-1", 1000)
    assert page.items == [*mine, *new][:1000]
    assert page.more


def test_import_state_add_late_taken_logfile_is_conflict_and_changes_nothing(store: FullStore) -> None:
    (theirs,) = with_logfiles(store, 1, "agent-1")
    before = store.export_state()
    agents = [make_agent(f"new-{n}") for n in range(3)]
    logfiles = [make_logfile(f"lf-{n}", "new-0", n=n) for n in range(MANY)]
    logfiles.append(make_logfile(theirs.id, "new-2"))  # the last one, past the first chunk
    with pytest.raises(Conflict) as excinfo:
        store.import_state(agents, logfiles, replace=False)
    assert_error(excinfo, id_taken("logfile", theirs.id))
    assert store.export_state() == before
    assert store.agent_projects(["new-0", "new-1", "new-2"]) == {}


def test_import_state_add_late_unknown_agent_is_invalid_and_changes_nothing(store: FullStore) -> None:
    with_logfiles(store, 1, "agent-1")
    before = store.export_state()
    logfiles = [make_logfile(f"lf-{n}", "agent-1", n=n) for n in range(MANY)]
    logfiles.append(make_logfile("late", "nobody"))
    with pytest.raises(Invalid) as excinfo:
        store.import_state([make_agent("new")], logfiles, replace=False)
    assert_error(excinfo, agent_not_in_state("nobody"))
    assert store.export_state() == before


def test_import_state_reports_the_first_problem_in_document_order(store: FullStore) -> None:
    (theirs,) = with_logfiles(store, 1, "agent-1")
    # A taken agent id comes before any log-file problem.
    with pytest.raises(Conflict) as excinfo:
        store.import_state([make_agent("agent-1")], [make_logfile("x", "nobody")], replace=False)
    assert_error(excinfo, id_taken("agent", "agent-1"))
    # Among log files, the first problem wins, whichever kind it is.
    with pytest.raises(Invalid) as invalid:
        store.import_state([], [make_logfile("x", "nobody"), make_logfile(theirs.id)], replace=False)
    assert_error(invalid, agent_not_in_state("nobody"))
    with pytest.raises(Conflict) as excinfo:
        store.import_state([], [make_logfile(theirs.id, "nobody")], replace=False)
    assert_error(excinfo, id_taken("logfile", theirs.id))


def test_import_state_replace_may_reuse_every_old_id(store: FullStore) -> None:
    old = with_logfiles(store, 2, "agent-1")
    agents = [make_agent("agent-1", OTHER_PROJECT)]
    logfiles = [replace(lf, project_id=OTHER_PROJECT) for lf in old]
    store.import_state(agents, logfiles, replace=True)
    assert (store.export_state().agents, store.export_state().logfiles) == (agents, logfiles)
    assert store.list_logfiles(OTHER_PROJECT, "agent-1", 10) == Page(logfiles, False)


def test_import_state_replace_does_not_count_the_old_agents(store: FullStore) -> None:
    with_logfiles(store, 1, "agent-1")
    before = store.export_state()
    with pytest.raises(Invalid) as excinfo:
        store.import_state([make_agent("agent-2")], [make_logfile("lf", "agent-1")], replace=True)
    assert_error(excinfo, agent_not_in_state("agent-1"))
    assert store.export_state() == before


def test_import_state_replace_late_conflict_keeps_the_old_state(store: FullStore) -> None:
    with_logfiles(store, 2, "agent-1")
    before = store.export_state()
    logfiles = [make_logfile(f"lf-{n}", "new", n=n) for n in range(MANY)]
    logfiles.append(make_logfile("lf-7", "new"))
    with pytest.raises(Conflict) as excinfo:
        store.import_state([make_agent("new")], logfiles, replace=True)
    assert_error(excinfo, id_taken("logfile", "lf-7"))
    assert store.export_state() == before


def test_import_state_then_add_agent_again_drops_its_imported_logfiles(store: FullStore) -> None:
    store.import_state([make_agent("agent-1"), make_agent("agent-2")], [make_logfile("lf")], replace=False)
    store.add_agent(make_agent("agent-1", log_level="info"))
    snapshot = store.export_state()
    agents, logfiles = snapshot.agents, snapshot.logfiles
    assert [agent.id for agent in agents] == ["agent-1", "agent-2"]
    assert logfiles == []
    # Its old log file's id is free again.
    store.import_state([], [make_logfile("lf", "agent-2")], replace=False)
