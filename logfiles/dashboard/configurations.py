"""An agent's configurations as the dashboard lists them, from their documents (stdlib only).

The bodies are read leniently: a seeded configuration may hold any members, so a missing or
odd one shows as empty rather than failing the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..configurations import next_run
from ..documents import Document

# Characters of a schedule shown before it is cut (its whole text is the cell's title).
MAX_SCHEDULE_TEXT = 200


@dataclass(frozen=True, slots=True)
class ConfigurationRow:
    id: str
    name: str
    enabled: bool | None  # None: the body says nothing (or something that is not a boolean)
    schedule: str
    next_time: str


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def schedule_text(schedule: Any) -> str:
    """The page's schedule in a line: `start`, each `recurrence` rule, `time_zone`."""
    if not isinstance(schedule, Mapping):
        return ""
    recurrence = schedule.get("recurrence")
    rules = [rule for rule in recurrence if isinstance(rule, str)] if isinstance(recurrence, list) else []
    parts = [_text(schedule.get("start")), *rules, _text(schedule.get("time_zone"))]
    return " · ".join(part for part in parts if part)


def row(document: Document, now: datetime) -> ConfigurationRow:
    """A configuration's row: its name, enabled, schedule and the next backup's time on the
    service clock, as the details page computes it (none when manual or disabled)."""
    body = document.body
    following = next_run(body, now)
    next_time = following["scheduled_time"] if following else ""
    enabled = body.get("enabled")
    return ConfigurationRow(
        id=document.id,
        name=_text(body.get("name")),
        enabled=enabled if isinstance(enabled, bool) else None,
        schedule=schedule_text(body.get("schedule")),
        next_time=next_time,
    )
