"""store.configuration_events, once for every store: the project's events naming a
configuration (`details.configuration.id`), paged as the configuration events page says."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from logfiles.events import Event, EventQuery, configuration_changed
from logfiles.store import FullStore
from tests.store.helpers import OTHER_PROJECT, PROJECT, T0, make_agent

SINCE = T0 - timedelta(minutes=10)


def changed(config_id: str, n: int, agent_id: str = "agent-1", project_id: str = PROJECT) -> Event:
    return configuration_changed(project_id, agent_id, config_id, T0 + timedelta(seconds=n), f"r{n}")


def other(name: str, n: int, agent_id: str | None = "agent-1", **details: Any) -> Event:
    return Event(PROJECT, agent_id, T0 + timedelta(seconds=n), name, details)


@pytest.fixture
def filled(store: FullStore) -> FullStore:
    """c1 changed at 1, 3, 5 (5 by agent-2: a restore's destination); c2 at 2; other events
    between, one whose details hold a NUL escape; c1 in another project too."""
    store.add_agent(make_agent("agent-1", registration={"name": "a\u0000b"}))
    store.add_agent(make_agent("agent-2"))
    store.add_agent(make_agent("agent-3", project_id=OTHER_PROJECT))
    store.add_events([changed("c1", 1)])
    # NUL, and an escaped backslash before the text `u0000`: PostgreSQL must read past both.
    nul = other("agent_registered", 2, agent={"id": "agent-1", "name": "a\u0000b\\u0000"})
    store.add_events([changed("c2", 2), nul])
    store.add_events([other("agent_activate", 3, agent_id=None, mode="active"), changed("c1", 3)])
    store.add_events([other("backup_queued", 4, configuration="not an object")])
    store.add_events([changed("c1", 5, agent_id="agent-2"), changed("c1", 5, "agent-3", OTHER_PROJECT)])
    return store


def names(store: FullStore, query: EventQuery, config_id: str = "c1", since: Any = SINCE) -> list[str]:
    page = store.configuration_events(PROJECT, config_id, query, since)
    return [e.details["request_id"] for e in page.items]


def test_only_the_configurations_events_of_its_project_in_either_order(filled: FullStore) -> None:
    assert names(filled, EventQuery(limit=100)) == ["r1", "r3", "r5"]
    assert names(filled, EventQuery(limit=100, descending=True)) == ["r5", "r3", "r1"]
    assert names(filled, EventQuery(limit=100), "c2") == ["r2"]
    assert names(filled, EventQuery(limit=100), "c9") == []


def test_marker_limit_and_more(filled: FullStore) -> None:
    everything = filled.configuration_events(PROJECT, "c1", EventQuery(limit=100), SINCE).items
    ids = [e.id for e in everything]
    page = filled.configuration_events(PROJECT, "c1", EventQuery(limit=2), SINCE)
    assert [e.id for e in page.items] == ids[:2] and page.more
    page = filled.configuration_events(PROJECT, "c1", EventQuery(limit=2, marker=ids[1]), SINCE)
    assert [e.id for e in page.items] == ids[2:] and not page.more
    page = filled.configuration_events(
        PROJECT, "c1", EventQuery(limit=1, marker=ids[2], descending=True), SINCE
    )
    assert [e.id for e in page.items] == [ids[1]] and page.more
    # A marker between the configuration's events (another event's number) still places the page.
    page = filled.configuration_events(PROJECT, "c1", EventQuery(limit=5, marker=ids[0] + 1), SINCE)
    assert [e.id for e in page.items] == ids[1:]


def test_events_older_than_since_are_not_shown(filled: FullStore) -> None:
    assert names(filled, EventQuery(limit=100), since=T0 + timedelta(seconds=3)) == ["r3", "r5"]


def test_the_events_are_the_feeds_events(filled: FullStore) -> None:
    """The same events, whole, as the agent's feed shows them."""
    feed = filled.list_events(PROJECT, "agent-1", EventQuery(limit=100), SINCE).items
    shown = filled.configuration_events(PROJECT, "c1", EventQuery(limit=100), SINCE).items
    assert [e for e in feed if e.details.get("configuration") == {"id": "c1"}] == shown[:2]
