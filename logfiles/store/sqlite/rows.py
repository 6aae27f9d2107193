"""How agents, log files and times map to SQLite rows and back (stdlib only)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from ...model import Agent, LogFile, LogFileState

AGENT_COLUMNS = "id, project_id, registered_time, registration, enabled, log_level"
LOGFILE_COLUMNS = "id, project_id, agent_id, date, state"


def insert_agent(db: sqlite3.Connection, agent: Agent) -> None:
    """Insert, or overwrite in place (keeping `seq`, hence the export order) under a known id."""
    db.execute(
        f"INSERT INTO agents ({AGENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id,"
        " registered_time = excluded.registered_time, registration = excluded.registration,"
        " enabled = excluded.enabled, log_level = excluded.log_level",
        (
            agent.id,
            agent.project_id,
            time_text(agent.registered_time),
            json.dumps(dict(agent.registration)),
            int(agent.enabled),
            agent.log_level,
        ),
    )


def insert_logfile(db: sqlite3.Connection, logfile: LogFile) -> None:
    """Insert, or overwrite in place (keeping `seq`, hence the list order) under a known id."""
    db.execute(
        f"INSERT INTO logfiles ({LOGFILE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (agent_id, id) DO UPDATE SET"
        " project_id = excluded.project_id, date = excluded.date, state = excluded.state",
        (logfile.id, logfile.project_id, logfile.agent_id, time_text(logfile.date), logfile.state.value),
    )


def agent(row: Any) -> Agent:
    return Agent(
        id=row[0],
        project_id=row[1],
        registered_time=time_value(row[2]),
        registration=json.loads(row[3]),
        enabled=bool(row[4]),
        log_level=row[5],
    )


def logfile(row: Any) -> LogFile:
    return LogFile(
        id=row[0], project_id=row[1], agent_id=row[2], date=time_value(row[3]), state=LogFileState(row[4])
    )


def time_text(moment: datetime) -> str:
    """ISO text with every microsecond; aware times are kept in UTC, naive ones as they are."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def time_value(text: str) -> datetime:
    return datetime.fromisoformat(text)
