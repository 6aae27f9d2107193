"""What only the PostgreSQL store has: its schema and migrations, start-up errors,
a fork, a server that goes away and comes back, and its text escapes (other processes on one
schema: tests/store/test_processes.py, with SQLite's)."""

from __future__ import annotations

import dataclasses
import multiprocessing
import secrets
import threading
from typing import Any

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from logfiles.errors import ConfigError, Invalid, Unavailable
from logfiles.model import LogFile, LogFileState, change_state
from logfiles.store import open_store
from logfiles.store.postgres import SCHEMA_VERSION, PostgresStore, connection, rows
from logfiles.store.postgres.schema import MIGRATIONS
from tests.pgcluster import PgCluster, free_port, unique_schema_name
from tests.store.helpers import (
    PROJECT,
    make_agent,
    make_logfile,
    with_logfiles,
)

DEADLINE = 30.0
ROUNDS = 60


def open_error(url: str) -> ConfigError:
    with pytest.raises(ConfigError) as excinfo:
        PostgresStore.open(url)
    assert excinfo.value.variable == "LOGFILES_STORE"
    assert "\n" not in str(excinfo.value)
    return excinfo.value


def schema_of(url: str) -> str:
    return url.rsplit("%3D", 1)[1]


# The schema


def test_open_fresh_schema_creates_every_table_at_the_current_version(
    pg_url: str, pg_cluster: PgCluster
) -> None:
    PostgresStore.open(pg_url).close()
    schema = schema_of(pg_url)
    tables = {
        row[0]
        for row in pg_cluster.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
    }
    assert {"agents", "logfiles", "events", "journal", "objects", "blob_chunks", "logfiles_schema"} <= tables
    assert pg_cluster.execute(f"SELECT version FROM {schema}.logfiles_schema") == [(SCHEMA_VERSION,)]


def test_open_schema_1_keeps_journal_entries_without_answers(pg_url: str, pg_cluster: PgCluster) -> None:
    """Migration 2: entries of before have no answer size or body (None), new ones do."""
    schema = schema_of(pg_url)
    with pg_cluster.connect() as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE logfiles_schema (version integer NOT NULL)")
        conn.execute("INSERT INTO logfiles_schema (version) VALUES (1)")
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO journal (time, method, path, query, headers, body, status, latency_ms)"
            " VALUES ('2014-09-23T12:22:40.606703+00:00', 'GET', '/v2/p/agents', '', '{}', '', 200, 1.5)"
        )
    store = PostgresStore.open(pg_url)
    (old,) = store.list_requests()
    assert (old.status, old.latency_ms, old.response_bytes, old.response_body) == (200, 1.5, None, None)
    store.record_request(dataclasses.replace(old, response_bytes=2, response_body="{}"), 10)
    assert [(e.response_bytes, e.response_body) for e in store.list_requests(after=old.seq)] == [(2, "{}")]
    store.close()
    assert pg_cluster.execute(f"SELECT version FROM {schema}.logfiles_schema") == [(SCHEMA_VERSION,)]


def test_open_again_keeps_everything_and_migrates_nothing(pg_url: str) -> None:
    store = PostgresStore.open(pg_url)
    (logfile,) = with_logfiles(store, 1)
    store.close()
    again = PostgresStore.open(pg_url)
    assert again.get_logfile(PROJECT, "agent-1", logfile.id) == logfile
    again.close()


def test_open_store_takes_both_url_schemes(pg_url: str) -> None:
    for url in (pg_url, pg_url.replace("postgresql://", "postgres://", 1)):
        store = open_store(url)
        assert isinstance(store, PostgresStore)
        store.health()
        store.close()


def test_open_newer_schema_version_is_config_error(pg_url: str, pg_cluster: PgCluster) -> None:
    PostgresStore.open(pg_url).close()
    schema = schema_of(pg_url)
    pg_cluster.execute(f"UPDATE {schema}.logfiles_schema SET version = {SCHEMA_VERSION + 1}")
    error = open_error(pg_url)
    assert f"has version {SCHEMA_VERSION + 1}, newer than this service's {SCHEMA_VERSION}" in str(error)


def test_open_schema_of_something_else_is_config_error(pg_url: str, pg_cluster: PgCluster) -> None:
    pg_cluster.execute(f"CREATE TABLE {schema_of(pg_url)}.agents (x integer)")
    assert "holds tables of something else" in str(open_error(pg_url))


def test_open_search_path_without_an_existing_schema_is_config_error(pg_cluster: PgCluster) -> None:
    url = pg_cluster.url(unique_schema_name("missing"))  # never created
    error = str(open_error(url))
    assert "no schema of the search_path" in error and "CREATE SCHEMA" in error


def test_open_unreachable_server_is_one_line_without_the_password() -> None:
    url = f"postgresql://someone:s3cret-pw@127.0.0.1:{free_port()}/db"
    error = open_error(url)
    assert str(error).startswith("LOGFILES_STORE: cannot connect to PostgreSQL at 127.0.0.1:")
    assert "s3cret-pw" not in str(error)


def test_open_store_refuses_a_url_libpq_cannot_read() -> None:
    with pytest.raises(ConfigError) as excinfo:
        open_store("postgresql://host:notaport/db")
    assert excinfo.value.variable == "LOGFILES_STORE"


# Other processes on the same database


def _use_inherited(store: PostgresStore, results: Any) -> None:
    try:
        logfile = make_logfile("from-child", "agent-1")
        store.add_logfile(logfile)
        results.put(("ok", store.get_logfile(PROJECT, "agent-1", "from-child") == logfile))
    except BaseException as exc:
        results.put((repr(exc), False))


def test_store_used_before_fork_opens_its_own_connections_in_the_child(pg_url: str) -> None:
    store = PostgresStore.open(pg_url)
    with_logfiles(store, 1)
    with store._db.session() as before:
        pass  # back in this process's pool
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_use_inherited, args=(store, results))
    child.start()
    outcome = results.get(timeout=DEADLINE)
    child.join(timeout=DEADLINE)
    assert outcome == ("ok", True)
    # The parent's pooled connection was neither used nor closed by the child.
    with store._db.session() as after:
        assert after is before and not after.closed
    assert store.get_logfile(PROJECT, "agent-1", "from-child").id == "from-child"
    store.close()


# The server going away


def test_a_server_that_goes_away_is_503_then_the_store_recovers_by_itself(
    fresh_pg_cluster: PgCluster,
) -> None:
    store = PostgresStore.open(fresh_pg_cluster.url())
    (logfile,) = with_logfiles(store, 1)
    fresh_pg_cluster.stop("fast")
    with pytest.raises(Unavailable) as excinfo:
        store.get_logfile(PROJECT, "agent-1", logfile.id)
    assert excinfo.value.retry_after == 1
    with pytest.raises(Unavailable):
        store.health()
    fresh_pg_cluster.start()
    # The pooled connections died with the server; they are noticed before use, so the
    # first call after the restart already succeeds.
    store.health()
    updated = store.update_logfile(
        PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [LogFileState.STARTED])
    )
    assert store.get_logfile(PROJECT, "agent-1", logfile.id) == updated
    store.close()


def test_a_statement_blocked_past_the_timeout_is_503(
    pg_url: str, pg_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "STATEMENT_TIMEOUT_SECONDS", 0.3)
    store = PostgresStore.open(pg_url)
    (logfile,) = with_logfiles(store, 1)
    with pg_cluster.connect() as other:
        other.execute(f"SET search_path = {schema_of(pg_url)}")
        other.execute("BEGIN")
        other.execute("SELECT * FROM logfiles FOR UPDATE")
        with pytest.raises(Unavailable):
            store.update_logfile(
                PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [LogFileState.STARTED])
            )
        other.execute("ROLLBACK")
    # Nothing half applied, and the store serves again.
    assert store.get_logfile(PROJECT, "agent-1", logfile.id) == logfile
    store.update_logfile(PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [LogFileState.STARTED]))
    store.close()


def test_a_pool_that_stays_full_is_503_busy(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "POOL_TIMEOUT_SECONDS", 0.2)
    store = PostgresStore.open(pg_url)
    store._db.size = 1
    store._db._pool = None  # made again with one slot
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with store._db.session():
            held.set()
            release.wait(DEADLINE)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(DEADLINE)
        with pytest.raises(Unavailable) as excinfo:
            store.health()
        assert "busy" in excinfo.value.message
    finally:
        release.set()
        holder.join(DEADLINE)
    store.health()
    store.close()


# Text PostgreSQL cannot hold, kept anyway


@pytest.mark.parametrize("odd", ["a\x00b", "\x01", "\x01x", "é\udc80", "\\u0000", "plain"])
def test_ids_with_nul_surrogates_or_the_escape_mark_round_trip(pg_url: str, odd: str) -> None:
    store = PostgresStore.open(pg_url)
    store.add_agent(make_agent(odd, project_id=odd))
    logfile = LogFile(odd, odd, odd, make_logfile("x", odd).date, LogFileState.REQUESTED)
    store.add_logfile(logfile)
    assert store.get_logfile(odd, odd, odd) == logfile
    assert store.list_logfiles(odd, odd, 10).items == [logfile]
    assert store.export_state().agents[0].id == odd
    store.close()


@given(st.text(), st.text())
def test_enc_is_injective_and_dec_undoes_it(first: str, second: str) -> None:
    assert rows.dec(rows.enc(first)) == first
    assert "\x00" not in rows.enc(first)
    rows.enc(first).encode()  # no lone surrogate left
    if first != second:
        assert rows.enc(first) != rows.enc(second)


def test_a_plain_id_is_kept_as_it_is() -> None:
    for plain in ("110011", "c9274ccd-1b99-40c6-a1e2-7f734b3b42a7", "naïve"):
        assert rows.enc(plain) == plain


def test_connect_error_names_the_reason(fresh_pg_cluster: PgCluster) -> None:
    fresh_pg_cluster.stop("fast")
    with pytest.raises(psycopg.OperationalError):
        connection.connect(fresh_pg_cluster.url())


def test_open_store_refuses_an_unencoded_at_in_the_password_without_showing_it() -> None:
    with pytest.raises(ConfigError) as excinfo:
        open_store("postgresql://stub:p@ss/w:rd@127.0.0.1:5432/db")
    assert "percent-encode" in str(excinfo.value)
    assert "ss/w" not in str(excinfo.value)


def test_a_mistyped_scheme_is_named_without_the_password() -> None:
    with pytest.raises(ConfigError) as excinfo:
        open_store("postgresq://stub:s3cret@127.0.0.1:5432/db")
    assert "postgresq://stub:***@127.0.0.1:5432/db" in str(excinfo.value)
    assert "s3cret" not in str(excinfo.value)


def test_idle_connections_that_died_with_the_server_are_dropped_before_use(
    fresh_pg_cluster: PgCluster,
) -> None:
    store = PostgresStore.open(fresh_pg_cluster.url())
    (logfile,) = with_logfiles(store, 1)
    fresh_pg_cluster.restart()
    assert store.get_logfile(PROJECT, "agent-1", logfile.id) == logfile
    store.close()


def test_a_schema_dropped_under_a_running_store_is_503(pg_url: str, pg_cluster: PgCluster) -> None:
    store = PostgresStore.open(pg_url)
    with_logfiles(store, 1)
    pg_cluster.drop_schema(schema_of(pg_url))
    with pytest.raises(Unavailable):
        store.health()
    with pytest.raises(Unavailable):
        store.get_logfile(PROJECT, "agent-1", "agent-1-lf-0")
    store.close()


def test_a_read_only_database_is_unhealthy_and_its_writes_are_503(pg_url: str, pg_cluster: PgCluster) -> None:
    """As a standby after a failover: reads answer, writes cannot."""
    store = PostgresStore.open(pg_url)
    with_logfiles(store, 1)
    store.close()
    read_only = f"{pg_url}%20-cdefault_transaction_read_only%3Don"
    store = PostgresStore(read_only, schema_of(pg_url), PostgresStore.open(pg_url)._db.schema_key)
    assert store.get_logfile(PROJECT, "agent-1", "agent-1-lf-0").id == "agent-1-lf-0"
    with pytest.raises(Unavailable):
        store.health()
    with pytest.raises(Unavailable):
        store.add_logfile(make_logfile("another"))
    store.close()


def test_a_key_past_the_index_limit_is_invalid_not_503(pg_url: str) -> None:
    """PostgreSQL's own bound: an index entry is at most about 2,700 bytes (README)."""
    store = PostgresStore.open(pg_url)
    with pytest.raises(Invalid) as excinfo:
        store.add_agent(make_agent("a", project_id=secrets.token_hex(1600)))  # no compression helps
    assert "too large" in excinfo.value.message
    store.health()  # the connection was not taken for broken
    store.close()
