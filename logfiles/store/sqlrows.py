"""How agents, log files, tokens and events map to SQL rows and back, for both SQL stores.

The two databases keep the same columns in the same order; they differ only in how text is
kept (PostgreSQL escapes what its text cannot hold: postgres/rows.py) and in how a flag is
(SQLite: 0 or 1), so one `RowCodec` serves both and each store's rows.py binds its own.
Times are ISO text with every microsecond in both, so that they sort and compare as text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..auth import IssuedToken
from ..events import Event
from ..model import Agent, LogFile, LogFileState

AGENT_COLUMNS = (
    "id, project_id, registered_time, registration, enabled, log_level, password_sha256, roles, last_heard"
)
LOGFILE_COLUMNS = "id, project_id, agent_id, date, state"
TOKEN_COLUMNS = "id, project_id, agent_id, roles, expires"  # noqa: S105  (column names)
EVENT_COLUMNS = "id, project_id, agent_id, time, event, details"
# Every log file in export order: agent by agent as added, each agent's in request order.
EXPORT_LOGFILES = (
    "SELECT l.id, l.project_id, l.agent_id, l.date, l.state"
    " FROM logfiles AS l JOIN agents AS a ON a.id = l.agent_id ORDER BY a.seq, l.seq"
)


def upsert_agent(mark: str) -> str:
    """Insert an agent, or overwrite it in place (keeping `seq`, hence the export order);
    `mark` is the driver's placeholder."""
    return (
        f"INSERT INTO agents ({AGENT_COLUMNS}) VALUES ({', '.join([mark] * 9)})"  # noqa: S608 (our names)
        " ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id,"
        " registered_time = excluded.registered_time, registration = excluded.registration,"
        " enabled = excluded.enabled, log_level = excluded.log_level,"
        " password_sha256 = excluded.password_sha256, roles = excluded.roles,"
        " last_heard = excluded.last_heard"
    )


def upsert_logfile(mark: str, key: str) -> str:
    """Insert a log file, or overwrite it in place (keeping `seq`, hence the list order);
    `key` names the columns of the database's unique key on (agent, id)."""
    return (
        f"INSERT INTO logfiles ({LOGFILE_COLUMNS}) VALUES ({', '.join([mark] * 5)})"  # noqa: S608 (our names)
        f" ON CONFLICT ({key}) DO UPDATE SET"
        " project_id = excluded.project_id, date = excluded.date, state = excluded.state"
    )


def time_text(moment: datetime) -> str:
    """ISO text with every microsecond; aware times are kept in UTC, naive ones as they are."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def time_value(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _roles_text(roles: Sequence[str] | None) -> str | None:
    return None if roles is None else json.dumps(list(roles))


def _roles(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(json.loads(text))


class RowCodec:
    """The model to a row's values and back. Text is kept as it is and a flag as 0 or 1
    (SQLite); a database that keeps them otherwise overrides `enc`, `dec` and `flag`."""

    def enc(self, value: str) -> str:
        return value

    def dec(self, value: str) -> str:
        return value

    def flag(self, value: bool) -> object:
        return int(value)

    def enc_opt(self, value: str | None) -> str | None:
        return None if value is None else self.enc(value)

    def dec_opt(self, value: str | None) -> str | None:
        return None if value is None else self.dec(value)

    def agent_values(self, agent: Agent) -> tuple[Any, ...]:
        return (
            self.enc(agent.id),
            self.enc(agent.project_id),
            time_text(agent.registered_time),
            json.dumps(dict(agent.registration)),
            self.flag(agent.enabled),
            self.enc(agent.log_level),
            agent.password_sha256,
            _roles_text(agent.roles),
            None if agent.last_heard is None else time_text(agent.last_heard),
        )

    def agent(self, row: Sequence[Any]) -> Agent:
        return Agent(
            id=self.dec(row[0]),
            project_id=self.dec(row[1]),
            registered_time=time_value(row[2]),
            registration=json.loads(row[3]),
            enabled=bool(row[4]),
            log_level=self.dec(row[5]),
            password_sha256=row[6],
            roles=_roles(row[7]),
            last_heard=None if row[8] is None else time_value(row[8]),
        )

    def logfile_values(self, logfile: LogFile) -> tuple[str, str, str, str, str]:
        return (
            self.enc(logfile.id),
            self.enc(logfile.project_id),
            self.enc(logfile.agent_id),
            time_text(logfile.date),
            logfile.state.value,
        )

    def logfile(self, row: Sequence[Any]) -> LogFile:
        return LogFile(
            id=self.dec(row[0]),
            project_id=self.dec(row[1]),
            agent_id=self.dec(row[2]),
            date=time_value(row[3]),
            state=LogFileState(row[4]),
        )

    def token_values(self, token: IssuedToken) -> tuple[Any, ...]:
        return (
            self.enc(token.id),
            self.enc(token.project_id),
            self.enc_opt(token.agent_id),
            _roles_text(token.roles),
            time_text(token.expires),
        )

    def token(self, row: Sequence[Any]) -> IssuedToken:
        return IssuedToken(
            id=self.dec(row[0]),
            project_id=self.dec(row[1]),
            agent_id=self.dec_opt(row[2]),
            roles=_roles(row[3]),
            expires=time_value(row[4]),
        )

    def event_values(self, event: Event) -> tuple[Any, ...]:
        """A new event's number is None: the database gives it one."""
        return (
            event.id or None,
            self.enc(event.project_id),
            self.enc_opt(event.agent_id),
            time_text(event.time),
            self.enc(event.event),
            json.dumps(dict(event.details)),
        )

    def event(self, row: Sequence[Any]) -> Event:
        return Event(
            id=int(row[0]),
            project_id=self.dec(row[1]),
            agent_id=self.dec_opt(row[2]),
            time=time_value(row[3]),
            event=self.dec(row[4]),
            details=json.loads(row[5]),
        )
