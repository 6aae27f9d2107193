"""The pure domain: agents, log files and the log-file state machine (stdlib only)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from .errors import Conflict

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and `Z`, as the guide writes times.

    isoformat() gives the same text as strftime(TIME_FORMAT) at a fifth of the cost, which
    counts on a page of a thousand log files; every stored time is UTC already.
    """
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # "+00:00" -> "Z"


# (ours) The times a client may set (seeded dates, the frozen clock): far enough inside
# datetime's range that a day of temp-URL lifetime and a century of clock advance still fit.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def parse_time(text: str) -> datetime:
    """Inverse of `format_time`; also takes any ISO-8601 time with an offset, from EARLIEST to LATEST."""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("time has no timezone")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError("time is out of range") from None
    check_time(moment)
    return moment


def check_time(moment: datetime) -> None:
    """ValueError unless EARLIEST <= moment < LATEST."""
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"time must be from {EARLIEST.year} to before {LATEST.year}")


class LogFileState(enum.StrEnum):
    """The states a log file goes through, in order."""

    REQUESTED = "requested"
    STARTED = "started"
    COMPLETED = "completed"


# SPEC: PATCH transitions. A same-value replace is a retry and is allowed (ours);
# going back is a conflict. Nothing may be set back to `requested`.
ALLOWED: frozenset[tuple[LogFileState, LogFileState]] = frozenset(
    {
        (LogFileState.REQUESTED, LogFileState.STARTED),
        (LogFileState.REQUESTED, LogFileState.COMPLETED),
        (LogFileState.STARTED, LogFileState.STARTED),
        (LogFileState.STARTED, LogFileState.COMPLETED),
        (LogFileState.COMPLETED, LogFileState.COMPLETED),
    }
)

# Every state, in order, and the values a client may ask for in a PATCH.
STATES: tuple[str, ...] = tuple(state.value for state in LogFileState)
TARGET_STATES: tuple[str, ...] = (LogFileState.STARTED.value, LogFileState.COMPLETED.value)


@dataclass(frozen=True, slots=True)
class Agent:
    """A registered backup agent: what it sent, plus what the service assigned."""

    id: str
    project_id: str
    registered_time: datetime
    registration: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True
    log_level: str = "warn"


@dataclass(frozen=True, slots=True)
class LogFile:
    """A log file an agent was asked to upload; `date` is when it was requested."""

    id: str
    project_id: str
    agent_id: str
    date: datetime
    state: LogFileState = LogFileState.REQUESTED


def check_transition(current: LogFileState, target: LogFileState, where: str = "") -> None:
    """Raise Conflict when `current -> target` is not in the transition table."""
    if (current, target) not in ALLOWED:
        prefix = f"{where}: " if where else ""
        raise Conflict(
            f"The log file cannot go from '{current}' to '{target}'.",
            [f"{prefix}cannot go from '{current}' to '{target}'"],
        )


def change_state(logfile: LogFile, targets: Iterable[LogFileState]) -> LogFile:
    """Apply every target state in order; all or nothing, since LogFile is immutable."""
    state = logfile.state
    for index, target in enumerate(targets):
        check_transition(state, target, f"/{index}/value")
        state = target
    return logfile if state is logfile.state else replace(logfile, state=state)
