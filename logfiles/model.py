"""The pure domain: agents, log files and the log-file state machine (stdlib only)."""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
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
    """A registered backup agent: what it sent, plus what the service assigned.

    `password_sha256` is the hash of the password its registration showed once ("" when it
    has none, so it cannot authenticate); `roles` are those of the token that registered it,
    which its own tokens carry (None: open mode, every right on its project); `last_heard`
    is when it was last heard from, to the second (`status.online`).
    """

    id: str
    project_id: str
    registered_time: datetime
    registration: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True
    log_level: str = "warn"
    password_sha256: str = ""
    roles: tuple[str, ...] | None = None
    last_heard: datetime | None = None

    @property
    def fingerprint(self) -> str | None:
        host = self.registration.get("host")
        found = host.get("fingerprint") if isinstance(host, Mapping) else None
        return found if isinstance(found, str) else None


def password_hash(password: str) -> str:
    """What an agent's password is kept as: a test double need not stretch it, only not show it."""
    return hashlib.sha256(password.encode()).hexdigest()


def password_matches(agent: Agent, password: str) -> bool:
    return bool(agent.password_sha256) and hmac.compare_digest(agent.password_sha256, password_hash(password))


# SPEC (ours): online = heard from within this much service-clock time.
ONLINE_WINDOW = timedelta(minutes=5)
# Heard-from times are written at most once per this much time per agent, so that an agent
# sending X-Agent-Id with every request does not make every request a write; `online` may
# so turn false up to this much early.
HEARD_PRECISION = timedelta(seconds=1)


def is_online(agent: Agent, now: datetime) -> bool:
    return agent.last_heard is not None and agent.last_heard >= now - ONLINE_WINDOW


def needs_heard_update(last_heard: datetime | None, now: datetime) -> bool:
    """Whether `now` must be written as the agent's heard-from time (False: the kept one will do)."""
    return last_heard is None or not now - HEARD_PRECISION < last_heard <= now


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


def states_entered(logfile: LogFile, targets: Iterable[LogFileState]) -> list[LogFileState]:
    """The states a valid patch moves `logfile` into, in order; a same-value retry enters none."""
    entered: list[LogFileState] = []
    state = logfile.state
    for target in targets:
        if target is not state:
            entered.append(target)
        state = target
    return entered
