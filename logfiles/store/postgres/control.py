"""PostgreSQL control-plane state: import and export, the journal, fault rules, the clock.

In the database, so that the control plane acts on every instance on every host at once.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection
from datetime import timedelta
from typing import Any

import psycopg

from ...clock import REAL_TIME, ClockSetting
from ...faults import FaultRule, HeaderSource
from ...journal import JournalEntry
from ...model import Agent, LogFileState
from ...pacing import Pause, no_pause
from .. import sqlrows
from ..base import Import, Page, Snapshot
from ..documents import checked_state_documents
from ..rules import any_agent_marker_not_found, fault_not_found, import_into, no_states
from ..sql_control import fire_fault
from . import rows
from .connection import Database
from .documents import PostgresDocuments, document_rows
from .rows import dec, dec_opt, enc, enc_opt

_Db = psycopg.Connection[Any]
_JOURNAL_COLUMNS = (
    "seq, time, method, path, query, headers, body, status, fault, latency_ms, response_bytes, response_body"
)
# One statement records a request and trims the journal to the newest `keep`: one round trip.
# Rows another request is trimming are skipped (it deletes them), so no journal write waits
# for another's commit: without SKIP LOCKED every trim queued behind the one before.
_RECORD = """
    WITH entry AS (
        INSERT INTO journal (
            time, method, path, query, headers, body, status, fault, latency_ms,
            response_bytes, response_body
        ) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING seq
    )
    DELETE FROM journal WHERE seq IN (
        SELECT seq FROM journal WHERE seq <= (SELECT seq FROM entry) - %s FOR UPDATE SKIP LOCKED
    )
"""


class PostgresControl:
    """The control plane's state, in the same database as everything else."""

    _db: Database

    def export_state(self, pause: Pause = no_pause) -> Snapshot:
        """As in memory: agents in the order added, log files agent by agent, each in request
        order, and events in number order. Read whole within one snapshot, not paced (the
        pauses would hold a pooled connection meanwhile)."""

        def run(db: _Db) -> Snapshot:
            snapshot = sqlrows.export_snapshot(lambda sql: db.execute(sql).fetchall(), rows.CODEC, no_pause)
            found = db.execute(PostgresDocuments.SQL.export()).fetchall()
            return dataclasses.replace(
                snapshot, documents=[PostgresDocuments.SQL.document(row) for row in found]
            )

        return self._db.read(run)

    def _import_state(self, request: Import) -> None:
        """All or nothing: a taken id rolls back the whole import, the `replace` deletions too."""

        def run(db: _Db) -> None:
            # The event counter first: a PATCH taking new numbers cannot slip in between the
            # check that an imported number is free and its insert.
            db.execute("SELECT value FROM counters WHERE name = 'events' FOR UPDATE")
            write_documents = checked_state_documents(document_rows(db), request)
            import_into(rows.PgRows(db), request)
            write_documents()

        self._db.write(run)

    def agent_projects(self, agent_ids: Collection[str]) -> dict[str, str]:
        found = self._db.statement(
            "SELECT id, project_id FROM agents WHERE id = ANY(%s)", ([enc(i) for i in agent_ids],)
        )
        return {dec(row[0]): dec(row[1]) for row in found}

    # The dashboard's reads.

    def list_all_agents(self, limit: int, marker: str | None = None) -> Page[Agent]:
        sqlrows.check_limit(limit)

        def run(db: _Db) -> Page[Agent]:
            return sqlrows.read_page(
                db.execute, rows.DIALECT, sqlrows.AGENTS, None, limit, marker, any_agent_marker_not_found
            )

        return self._db.read(run)

    def count_states(
        self, project_id: str | None = None, agent_id: str | None = None
    ) -> dict[LogFileState, int]:
        def run(db: _Db) -> list[tuple[Any, ...]]:
            if agent_id is not None:
                if project_id is None:
                    raise ValueError("an agent is counted within its project")
                sqlrows.require_agent(db.execute, rows.DIALECT, project_id, agent_id)
                return db.execute(
                    "SELECT state, count(*) FROM logfiles WHERE agent_id = %s GROUP BY state",
                    (enc(agent_id),),
                ).fetchall()
            if project_id is not None:
                return db.execute(
                    "SELECT l.state, count(*) FROM agents AS a JOIN logfiles AS l ON l.agent_id = a.id"
                    " WHERE a.project_id = %s GROUP BY l.state",
                    (enc(project_id),),
                ).fetchall()
            return db.execute("SELECT state, count(*) FROM logfiles GROUP BY state").fetchall()

        counts = no_states()
        for state, count in self._db.read(run):
            counts[LogFileState(state)] += int(count)
        return counts

    # The journal.

    def record_request(self, entry: JournalEntry, capacity: int) -> None:
        if capacity <= 0:  # keep none, but use up its number as the other stores do
            self._db.statement("SELECT nextval('journal_seq_seq'); DELETE FROM journal")
            return
        self._db.statement(
            _RECORD,
            (
                sqlrows.time_text(entry.time),
                enc(entry.method),
                enc(entry.path),
                enc(entry.query),
                json.dumps(dict(entry.headers)),
                enc(entry.body),
                entry.status,
                entry.fault,
                entry.latency_ms,
                entry.response_bytes,
                enc_opt(entry.response_body),
                capacity,
            ),
        )

    def list_requests(self, after: int = 0, limit: int | None = None) -> list[JournalEntry]:
        """A range of the key (LIMIT NULL is no limit).

        Numbers come from a sequence, so two entries recorded at once may become visible out
        of order: a reader that saw n may later find a smaller one (logfiles/waiting.py allows
        for that).
        """
        found = self._db.statement(
            f"SELECT {_JOURNAL_COLUMNS} FROM journal WHERE seq > %s ORDER BY seq LIMIT %s", (after, limit)
        )
        return [
            JournalEntry(
                time=sqlrows.time_value(row[1]),
                method=dec(row[2]),
                path=dec(row[3]),
                query=dec(row[4]),
                headers=json.loads(row[5]),
                body=dec(row[6]),
                status=row[7],
                fault=row[8],
                seq=int(row[0]),
                latency_ms=row[9],
                response_bytes=None if row[10] is None else int(row[10]),
                response_body=dec_opt(row[11]),
            )
            for row in found
        ]

    def last_request_seq(self) -> int:
        """The sequence's last number: given out, whether or not its entry is visible yet."""
        found = self._db.statement("SELECT last_value, is_called FROM journal_seq_seq")
        return int(found[0][0]) if found and found[0][1] else 0

    def clear_requests(self) -> None:
        self._db.statement("DELETE FROM journal")

    # Fault rules.

    def add_fault(self, rule: FaultRule) -> None:
        self._db.statement("INSERT INTO faults (id, rule) VALUES (%s, %s)", (rule.id, rule.to_json()))

    def list_faults(self) -> list[FaultRule]:
        return [
            FaultRule.from_json(row[0]) for row in self._db.statement("SELECT rule FROM faults ORDER BY seq")
        ]

    def delete_fault(self, fault_id: str) -> None:
        def run(db: _Db) -> None:
            if db.execute("DELETE FROM faults WHERE id = %s", (enc(fault_id),)).rowcount == 0:
                raise fault_not_found(fault_id)

        self._db.write(run, locked=False)

    def clear_faults(self) -> None:
        self._db.statement("DELETE FROM faults")

    def trigger_fault(self, method: str, path: str, headers: HeaderSource) -> FaultRule | None:
        """Match on a plain read; only when a rule matches, lock the rules and count it, so a
        rule fires `times` times across every worker of every host."""
        rules = [
            FaultRule.from_json(row[0]) for row in self._db.statement("SELECT rule FROM faults ORDER BY seq")
        ]
        if not any(rule.matches(method, path, headers) for rule in rules):
            return None

        return self._db.write(
            lambda db: fire_fault(db.execute, rows.DIALECT, method, path, headers), locked=False
        )

    # The clock.

    def get_clock(self) -> ClockSetting:
        found = self._db.statement("SELECT frozen_at, offset_microseconds FROM clock")
        if not found:
            return REAL_TIME
        frozen_at = None if found[0][0] is None else sqlrows.time_value(found[0][0])
        return ClockSetting(frozen_at=frozen_at, offset=timedelta(microseconds=int(found[0][1])))

    def set_clock(self, setting: ClockSetting) -> None:
        frozen_at = None if setting.frozen_at is None else sqlrows.time_text(setting.frozen_at)
        offset = setting.offset // timedelta(microseconds=1)  # exact: a timedelta is whole microseconds
        self._db.statement(
            "INSERT INTO clock (only_row, frozen_at, offset_microseconds) VALUES (1, %s, %s)"
            " ON CONFLICT (only_row) DO UPDATE SET frozen_at = excluded.frozen_at,"
            " offset_microseconds = excluded.offset_microseconds",
            (frozen_at, offset),
        )
