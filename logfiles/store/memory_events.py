"""The memory store's events: numbered in order, indexed the way the feeds read them."""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from ..errors import Unavailable
from ..events import EVENT_LIFETIME, MAX_EVENT_ID, MAX_EVENTS_KEPT, Event, EventPage, EventQuery


def _event_id(event: Event) -> int:
    return event.id


class MemoryEvents:
    """Events in number order, with the indexes the feeds read; used under the store's lock.

    Every index is a subsequence of `all`, so dropping the oldest events drops a prefix of each.
    """

    def __init__(self) -> None:
        self.seq = 0  # never reset: numbers are never reused
        self.all: deque[Event] = deque()
        self.by_agent: dict[str, list[Event]] = {}
        self.by_project: dict[str, list[Event]] = {}
        self.project_wide: dict[str, list[Event]] = {}

    def check_room(self, events: Sequence[Event]) -> None:
        """Unavailable, before anything changes, if numbering `events` would pass MAX_EVENT_ID
        (no feed marker could name the number). Seeded numbers are bounded far below it."""
        top = max([self.seq, *(event.id for event in events)])
        if top + sum(1 for event in events if not event.id) > MAX_EVENT_ID:
            raise Unavailable(
                "The service has no event numbers left.",
                [f"events: numbers are at most {MAX_EVENT_ID} (18 digits, the feeds' marker bound)"],
            )

    def add(self, events: Sequence[Event]) -> None:
        """Number new events; one with a number already (an import) keeps it, in its place."""
        if not events:
            return
        self.check_room(events)
        newest = None
        for event in events:
            if event.id:
                kept = event
                self.seq = max(self.seq, event.id)
            else:
                self.seq += 1
                kept = replace(event, id=self.seq)
            self._index(kept)
            newest = kept.time if newest is None else max(newest, kept.time)
        if newest is not None:
            self._drop_old(newest - EVENT_LIFETIME)

    def _index(self, event: Event) -> None:
        places: list[list[Event] | deque[Event]] = [
            self.all,
            self.by_project.setdefault(event.project_id, []),
        ]
        if event.agent_id is None:
            places.append(self.project_wide.setdefault(event.project_id, []))
        else:
            places.append(self.by_agent.setdefault(event.agent_id, []))
        for place in places:
            if not place or place[-1].id < event.id:
                place.append(event)
            else:  # an imported number below the newest: keep the order by number
                place.insert(bisect.bisect_left(place, event.id, key=_event_id), event)

    def numbers(self) -> set[int]:
        return {event.id for event in self.all}

    def _drop_old(self, cutoff: datetime) -> None:
        """Drop the oldest events while they are past their lifetime or over the cap."""
        counts: dict[int, tuple[list[Event], int]] = {}
        while self.all and (self.all[0].time < cutoff or len(self.all) > MAX_EVENTS_KEPT):
            event = self.all.popleft()
            for index in self._indexes_of(event):
                _, count = counts.get(id(index), (index, 0))
                counts[id(index)] = (index, count + 1)
        for index, count in counts.values():
            del index[:count]

    def _indexes_of(self, event: Event) -> list[list[Event]]:
        found = [self.by_project[event.project_id]]
        if event.agent_id is None:
            found.append(self.project_wide[event.project_id])
        else:
            found.append(self.by_agent[event.agent_id])
        return found

    def drop_agent(self, agent_id: str) -> None:
        gone = self.by_agent.pop(agent_id, [])
        if not gone:
            return
        ids = {event.id for event in gone}
        self.all = deque(event for event in self.all if event.id not in ids)
        project = gone[0].project_id
        self.by_project[project] = [e for e in self.by_project[project] if e.id not in ids]

    def clear(self) -> None:
        self.all.clear()
        self.by_agent.clear()
        self.by_project.clear()
        self.project_wide.clear()

    def feed(self, project_id: str, agent_id: str | None, query: EventQuery, since: datetime) -> EventPage:
        if agent_id is None:
            sources = [self.by_project.get(project_id, [])]
        else:
            sources = [self.by_agent.get(agent_id, []), self.project_wide.get(project_id, [])]
        walks = [_walk(source, query) for source in sources if source]
        if len(walks) < 2:  # the common case (no project-wide events): nothing to merge
            merged: Iterator[Event] = walks[0] if walks else iter(())
        elif query.descending:
            merged = heapq.merge(*walks, key=_event_id, reverse=True)
        else:
            merged = heapq.merge(*walks, key=_event_id)
        shown = (event for event in merged if event.time >= since)
        items = list(itertools.islice(shown, query.limit + 1))
        return EventPage(items[: query.limit], len(items) > query.limit)


def _walk(events: list[Event], query: EventQuery) -> Iterator[Event]:
    """`events` (ascending numbers) from the marker on, in the query's direction."""
    if query.descending:
        end = len(events) if query.marker is None else bisect.bisect_left(events, query.marker, key=_event_id)
        return (events[i] for i in range(end - 1, -1, -1))
    start = 0 if query.marker is None else bisect.bisect_right(events, query.marker, key=_event_id)
    # islice would step over the first `start` items one by one: index from the marker.
    return (events[i] for i in range(start, len(events)))
