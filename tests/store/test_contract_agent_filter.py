"""The Store contract for `GET /v2/{p}/agents?host_machine_id=`, on every store.

Written from the list page (`host_machine_id`: "ID of the host machine on which the agent
resides") and SPEC ("paged exactly like log files"): only the agents whose registration's
`host.machine.id` equals it, in registration order, `limit` and `marker` as without it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from logfiles.errors import Invalid
from logfiles.model import Agent
from logfiles.store import FullStore, Page
from tests.store.helpers import OTHER_PROJECT, PROJECT, make_agent


def on_machine(agent_id: str, machine_id: Any, project_id: str = PROJECT) -> Agent:
    agent = make_agent(agent_id, project_id)
    host = {**agent.registration["host"], "machine": {"id": machine_id}}
    return replace(agent, registration={**agent.registration, "host": host})


def ids(page: Page[Agent]) -> list[str]:
    return [agent.id for agent in page.items]


def test_list_agents_host_machine_id_gives_only_that_machines_in_order(store: FullStore) -> None:
    for agent_id, machine, project in [
        ("a", "m-1", PROJECT),
        ("b", "m-2", PROJECT),
        ("c", "m-1", PROJECT),
        ("x", "m-1", OTHER_PROJECT),
        ("d", "m-1x", PROJECT),
        ("e", "M-1", PROJECT),
    ]:
        store.add_agent(on_machine(agent_id, machine, project))
    assert ids(store.list_agents(PROJECT, 10, None, "m-1")) == ["a", "c"]
    assert ids(store.list_agents(PROJECT, 10, None, "m-2")) == ["b"]
    assert ids(store.list_agents(OTHER_PROJECT, 10, None, "m-1")) == ["x"]
    assert store.list_agents(PROJECT, 10, None, "m-3") == Page([], False)
    assert store.list_agents(PROJECT, 10, None, "m") == Page([], False)  # equal, not a prefix
    assert ids(store.list_agents(PROJECT, 10)) == ["a", "b", "c", "d", "e"]  # None: no filter


def test_list_agents_host_machine_id_gives_the_agents_whole(store: FullStore) -> None:
    agent = on_machine("a", "m-1")
    store.add_agent(agent)
    assert store.list_agents(PROJECT, 10, None, "m-1") == Page([agent], False)


def test_list_agents_host_machine_id_pages_with_limit_and_marker(store: FullStore) -> None:
    for n in range(7):
        store.add_agent(on_machine(f"m1-{n}", "m-1"))
        store.add_agent(on_machine(f"m2-{n}", "m-2"))  # interleaved, never listed
    pages, marker = [], None
    for _ in range(10):  # 7 agents in pages of 3: 3 pages
        page = store.list_agents(PROJECT, 3, marker, "m-1")
        pages.append(ids(page))
        if not page.more:
            break
        marker = page.items[-1].id
    assert pages == [["m1-0", "m1-1", "m1-2"], ["m1-3", "m1-4", "m1-5"], ["m1-6"]]


def test_list_agents_host_machine_id_limit_exactly_the_matches_has_no_more(store: FullStore) -> None:
    for n in range(2):
        store.add_agent(on_machine(f"m1-{n}", "m-1"))
    store.add_agent(on_machine("m2", "m-2"))  # after the matches: not one more of them
    assert store.list_agents(PROJECT, 2, None, "m-1") == Page(
        [store.get_agent(PROJECT, "m1-0"), store.get_agent(PROJECT, "m1-1")], False
    )


def test_list_agents_host_machine_id_marker_may_be_any_agent_of_the_project(store: FullStore) -> None:
    for agent_id, machine in [("a", "m-1"), ("b", "m-2"), ("c", "m-1")]:
        store.add_agent(on_machine(agent_id, machine))
    # The marker names an agent of the project (of another machine: "after it" all the same).
    assert ids(store.list_agents(PROJECT, 10, "b", "m-1")) == ["c"]
    with pytest.raises(Invalid):
        store.list_agents(PROJECT, 10, "nobody", "m-1")


@pytest.mark.parametrize(
    "machine_id",
    ["a\x00b", "é-ü", "雪", "\U0001f600", 'quote"and\\backslash', "\x01x", " m ", "\u2028"],
    ids=["nul", "latin", "cjk", "emoji", "escapes", "x01", "spaces", "u2028"],
)
def test_list_agents_host_machine_id_any_text_compares_exactly(store: FullStore, machine_id: str) -> None:
    store.add_agent(on_machine("a", machine_id))
    store.add_agent(on_machine("b", machine_id + "x"))
    store.add_agent(on_machine("c", machine_id))
    assert ids(store.list_agents(PROJECT, 10, None, machine_id)) == ["a", "c"]


@pytest.mark.parametrize(
    "stored", [None, 7, {"id": "m-1"}, ["m-1"]], ids=["null", "number", "object", "list"]
)
def test_list_agents_host_machine_id_ignores_agents_without_a_text_id(store: FullStore, stored: Any) -> None:
    store.add_agent(on_machine("odd", stored))
    store.add_agent(make_agent("none"))  # no machine at all
    store.add_agent(on_machine("a", "m-1"))
    assert ids(store.list_agents(PROJECT, 10, None, "m-1")) == ["a"]
    assert ids(store.list_agents(PROJECT, 10, None, "7")) == []


def test_list_agents_host_machine_id_follows_an_update(store: FullStore) -> None:
    store.add_agent(on_machine("a", "m-1"))
    store.update_agent(PROJECT, "a", lambda agent: replace(agent, enabled=False))
    (listed,) = store.list_agents(PROJECT, 10, None, "m-1").items
    assert listed.enabled is False


def named(agent: Agent, name: str) -> Agent:
    return replace(agent, registration={**agent.registration, "name": name})


def test_list_agents_host_machine_id_elsewhere_in_the_registration_does_not_count(store: FullStore) -> None:
    # Agents whose other members hold the machine's id (a store may look for its text first):
    # many of them between the matches, so that a page must read past them.
    for n in range(5):
        store.add_agent(on_machine(f"m1-{n}", "m-1"))
        for k in range(4):
            store.add_agent(named(on_machine(f"x{n}-{k}", "m-2"), "m-1"))
    pages, marker = [], None
    for _ in range(10):
        page = store.list_agents(PROJECT, 2, marker, "m-1")
        pages.append(ids(page))
        if not page.more:
            break
        marker = page.items[-1].id
    assert pages == [["m1-0", "m1-1"], ["m1-2", "m1-3"], ["m1-4"]]


def test_list_agents_host_machine_id_last_match_before_others_has_no_more(store: FullStore) -> None:
    store.add_agent(on_machine("a", "m-1"))
    for k in range(5):
        store.add_agent(named(on_machine(f"x{k}", "m-2"), "m-1"))
    assert store.list_agents(PROJECT, 1, None, "m-1") == Page([store.get_agent(PROJECT, "a")], False)


def test_list_agents_host_machine_id_beside_registrations_holding_a_nul(store: FullStore) -> None:
    # A NUL anywhere in a registration (a name) must not upset the filter (PostgreSQL's JSON
    # functions refuse a document with `\u0000` in it).
    store.add_agent(named(on_machine("nul", "m-1"), "a\x00b"))
    store.add_agent(named(on_machine("other", "m-2"), "\x00"))
    store.add_agent(on_machine("plain", "m-1"))
    assert ids(store.list_agents(PROJECT, 10, None, "m-1")) == ["nul", "plain"]
    assert ids(store.list_agents(PROJECT, 1, None, "m-1")) == ["nul"]
