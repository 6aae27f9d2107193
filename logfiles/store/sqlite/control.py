"""SQLite control-plane state: import and export, the journal, fault rules, the clock (stdlib only)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection
from datetime import timedelta

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
from .connection import Connections
from .documents import SqliteDocuments, document_rows

_JOURNAL_COLUMNS = (
    "seq, time, method, path, query, headers, body, status, fault, latency_ms, response_bytes, response_body"
)


class SqliteControl:
    """The control plane's state, in the same file, so that every worker sees the same."""

    _db: Connections

    def export_state(self, pause: Pause = no_pause) -> Snapshot:
        """As in memory: agents in the order added, log files agent by agent, each in request
        order, and events in number order."""
        with self._db.read() as db:
            snapshot = sqlrows.export_snapshot(db.execute, rows.CODEC, pause)
            documents = [
                SqliteDocuments.SQL.document(row) for row in db.execute(SqliteDocuments.SQL.export())
            ]
        return dataclasses.replace(snapshot, documents=documents)

    def _import_state(self, request: Import) -> None:
        """All or nothing: a taken id rolls back the whole import, the `replace` deletions too;
        the documents are written in the same transaction."""
        with self._db.write() as db:
            write_documents = checked_state_documents(document_rows(db), request)
            import_into(rows.SqlRows(db), request)
            write_documents()

    def agent_projects(self, agent_ids: Collection[str]) -> dict[str, str]:
        with self._db.read() as db:
            return dict(rows.select_in(db, "SELECT id, project_id FROM agents WHERE id IN ({})", agent_ids))

    # The dashboard's reads.

    def list_all_agents(self, limit: int, marker: str | None = None) -> Page[Agent]:
        sqlrows.check_limit(limit)
        with self._db.read() as db:
            return sqlrows.read_page(
                db.execute, rows.DIALECT, sqlrows.AGENTS, None, limit, marker, any_agent_marker_not_found
            )

    def count_states(
        self, project_id: str | None = None, agent_id: str | None = None
    ) -> dict[LogFileState, int]:
        """GROUP BY in the order of the (agent_id, state) index (migration 6): no table row is read."""
        with self._db.read() as db:
            if agent_id is not None:
                if project_id is None:
                    raise ValueError("an agent is counted within its project")
                sqlrows.require_agent(db.execute, rows.DIALECT, project_id, agent_id)
                found = db.execute(
                    "SELECT state, count(*) FROM logfiles WHERE agent_id = ? GROUP BY state", (agent_id,)
                ).fetchall()
            elif project_id is not None:
                found = db.execute(
                    "SELECT l.state, count(*) FROM agents AS a JOIN logfiles AS l ON l.agent_id = a.id"
                    " WHERE a.project_id = ? GROUP BY a.seq, l.state",
                    (project_id,),
                ).fetchall()
            else:
                # Grouped in the index's own order (no sort), then summed here.
                found = db.execute("SELECT state, count(*) FROM logfiles GROUP BY agent_id, state").fetchall()
        counts = no_states()
        for state, count in found:
            counts[LogFileState(state)] += count
        return counts

    # The journal.

    def record_request(self, entry: JournalEntry, capacity: int) -> None:
        # One statement is its own transaction; the trigger keeps the newest `capacity`.
        self._db.write_statement(
            "INSERT INTO journal (time, method, path, query, headers, body, status, fault, latency_ms,"
            " response_bytes, response_body, keep) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sqlrows.time_text(entry.time),
                entry.method,
                entry.path,
                entry.query,
                json.dumps(dict(entry.headers)),
                entry.body,
                entry.status,
                entry.fault,
                entry.latency_ms,
                entry.response_bytes,
                entry.response_body,
                capacity,
            ),
        )

    def list_requests(self, after: int = 0, limit: int | None = None) -> list[JournalEntry]:
        """A range of the key: the newest few cost the same however long the journal is."""
        found = (
            self._db.statement()
            .execute(
                f"SELECT {_JOURNAL_COLUMNS} FROM journal WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, -1 if limit is None else limit),
            )
            .fetchall()
        )
        return [
            JournalEntry(
                time=sqlrows.time_value(row[1]),
                method=row[2],
                path=row[3],
                query=row[4],
                headers=json.loads(row[5]),
                body=row[6],
                status=row[7],
                fault=row[8],
                seq=row[0],
                latency_ms=row[9],
                response_bytes=row[10],
                response_body=row[11],
            )
            for row in found
        ]

    def last_request_seq(self) -> int:
        """AUTOINCREMENT's high-water mark: it outlives the entries it numbered."""
        row = (
            self._db.statement().execute("SELECT seq FROM sqlite_sequence WHERE name = 'journal'").fetchone()
        )
        return 0 if row is None else int(row[0])

    def clear_requests(self) -> None:
        with self._db.write() as db:
            db.execute("DELETE FROM journal")

    # Fault rules.

    def add_fault(self, rule: FaultRule) -> None:
        with self._db.write() as db:
            db.execute("INSERT INTO faults (id, rule) VALUES (?, ?)", (rule.id, rule.to_json()))

    def list_faults(self) -> list[FaultRule]:
        with self._db.read() as db:
            return [FaultRule.from_json(row[0]) for row in db.execute("SELECT rule FROM faults ORDER BY seq")]

    def delete_fault(self, fault_id: str) -> None:
        with self._db.write() as db:
            if db.execute("DELETE FROM faults WHERE id = ?", (fault_id,)).rowcount == 0:
                raise fault_not_found(fault_id)

    def clear_faults(self) -> None:
        with self._db.write() as db:
            db.execute("DELETE FROM faults")

    def trigger_fault(self, method: str, path: str, headers: HeaderSource) -> FaultRule | None:
        """Count and fire under the write lock, so a rule fires `times` times across every worker.

        Matching is read first, outside any write lock: a request that matches no rule (most
        of them, however many rules there are) writes nothing and waits for no other worker.
        Only when some rule matches are the rules read again and counted under the lock.
        """
        with self._db.read() as db:
            rules = [
                FaultRule.from_json(row[0]) for row in db.execute("SELECT rule FROM faults ORDER BY seq")
            ]
        if not any(rule.matches(method, path, headers) for rule in rules):
            return None  # no rule or none matching: no transaction that writes
        with self._db.write() as db:
            return fire_fault(db.execute, rows.DIALECT, method, path, headers)

    # The clock.

    def get_clock(self) -> ClockSetting:
        row = self._db.statement().execute("SELECT frozen_at, offset_microseconds FROM clock").fetchone()
        if row is None:
            return REAL_TIME
        frozen_at = None if row[0] is None else sqlrows.time_value(row[0])
        return ClockSetting(frozen_at=frozen_at, offset=timedelta(microseconds=row[1]))

    def set_clock(self, setting: ClockSetting) -> None:
        frozen_at = None if setting.frozen_at is None else sqlrows.time_text(setting.frozen_at)
        offset = setting.offset // timedelta(microseconds=1)  # exact: a timedelta is whole microseconds
        with self._db.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO clock (only_row, frozen_at, offset_microseconds) VALUES (1, ?, ?)",
                (frozen_at, offset),
            )
