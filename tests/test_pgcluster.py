"""The throw-away PostgreSQL cluster (tests/pgcluster.py): the PostgreSQL tests stand on it."""

from __future__ import annotations

import os
import pwd
import re
import socket
import tempfile
from pathlib import Path

import pytest

from tests import pgcluster
from tests.pgcluster import PgCluster, PgStartError, SchemaPool, started_cluster_or_skip, unique_schema_name

# Slow: clusters started, restarted and killed (`-m "not slow"` leaves it out).
pytestmark = pytest.mark.slow

psycopg = pytest.importorskip("psycopg")


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_find_pg_bin_names_a_directory_with_the_three_programs() -> None:
    found = pgcluster.find_pg_bin()
    if found is None:
        pytest.skip(pgcluster.NOT_FOUND)
    assert all(os.access(found / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres"))


def test_the_session_cluster_serves_loopback_only_without_durability(pg_cluster: PgCluster) -> None:
    assert re.fullmatch(r"postgresql://postgres@127\.0\.0\.1:\d+/postgres", pg_cluster.url())
    settings = dict(
        pg_cluster.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('listen_addresses', 'unix_socket_directories', 'fsync', 'max_connections')"
        )
    )
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": "",
        "fsync": "off",
        "max_connections": "300",
    }
    assert pg_cluster.execute("SELECT current_user") == [("postgres",)]
    # As root the server runs as the postgres system user (PostgreSQL refuses root), else as us.
    pid = pg_cluster.postmaster_pid()
    assert pid is not None
    owner = Path(f"/proc/{pid}").stat().st_uid
    expected = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
    assert owner == expected
    assert pg_cluster.base.parent == Path(pgcluster.TEMP_ROOT)


def test_a_schema_url_confines_connections_to_that_schema(fresh_pg_cluster: PgCluster) -> None:
    # A cluster of its own: the session's holds the schema pool's `agents` tables too.
    pg_cluster = fresh_pg_cluster
    first, second = unique_schema_name("first"), unique_schema_name("second")
    pg_cluster.create_schema(first)
    pg_cluster.create_schema(second)
    try:
        assert pg_cluster.url(first).endswith(f"?options=-csearch_path%3D{first}")
        for schema, value in ((first, 1), (second, 2)):
            with psycopg.connect(pg_cluster.url(schema), autocommit=True) as conn:
                assert conn.execute("SHOW search_path").fetchone() == (schema,)
                # Unqualified, as a store creates its tables: the same name in each schema.
                conn.execute("CREATE TABLE agents (n integer)")
                conn.execute("INSERT INTO agents VALUES (%s)", (value,))
        for schema, value in ((first, 1), (second, 2)):
            with psycopg.connect(pg_cluster.url(schema)) as conn:
                assert conn.execute("SELECT n FROM agents").fetchall() == [(value,)]
        tables = pg_cluster.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'agents'"
        )
        assert sorted(tables) == sorted([(first,), (second,)])
    finally:
        pg_cluster.drop_schema(first)
        pg_cluster.drop_schema(second)
    assert (
        pg_cluster.execute("SELECT nspname FROM pg_namespace WHERE nspname IN (%s, %s)", (first, second))
        == []
    )


def test_pg_url_is_a_fresh_empty_schema_of_its_own(pg_url: str, pg_cluster: PgCluster) -> None:
    schema = pg_url.rsplit("%3D", 1)[1]
    assert schema.startswith("t_test_pg_url_is_a_fresh_empty_schema")
    assert len(schema.encode()) <= 63
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT current_schema()").fetchone() == (schema,)
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,))
        assert tables.fetchone() == (0,)


def test_drop_schema_takes_its_tables_and_waits_no_longer_than_its_lock_timeout(
    pg_cluster: PgCluster,
) -> None:
    schema = unique_schema_name("held")
    pg_cluster.create_schema(schema)
    with psycopg.connect(pg_cluster.url(schema)) as holder:
        holder.execute("CREATE TABLE held (n integer)")
        holder.commit()
        holder.execute("SELECT * FROM held")  # an open transaction keeps a lock on the table
        with pytest.raises(psycopg.errors.LockNotAvailable):
            pg_cluster.drop_schema(schema, lock_timeout="200ms")
    pg_cluster.drop_schema(schema)
    assert pg_cluster.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)) == []


def test_restart_keeps_the_data_and_the_port_and_breaks_connections(fresh_pg_cluster: PgCluster) -> None:
    cluster = fresh_pg_cluster
    url, port = cluster.url(), cluster.port
    cluster.execute("CREATE TABLE kept (n integer)")
    cluster.execute("INSERT INTO kept VALUES (1)")
    with psycopg.connect(url, autocommit=True) as before:
        cluster.restart()
        assert cluster.port == port and cluster.url() == url
        with pytest.raises(psycopg.OperationalError):
            before.execute("SELECT 1")
    assert cluster.execute("SELECT n FROM kept") == [(1,)]


def test_kill_is_a_crash_that_start_recovers_from_without_losing_a_commit(
    fresh_pg_cluster: PgCluster,
) -> None:
    cluster = fresh_pg_cluster
    cluster.execute("CREATE TABLE kept (n integer)")
    cluster.execute("INSERT INTO kept VALUES (1)")  # acknowledged, then the crash at once
    pid = cluster.postmaster_pid()
    cluster.kill()
    assert not cluster.running() and pid is not None and not pgcluster._alive(pid)
    assert cluster.port is not None and not listening(cluster.port)
    cluster.start()
    assert cluster.execute("SELECT n FROM kept") == [(1,)]
    assert "database system was interrupted" in cluster.log_tail(100)


def test_remove_stops_the_server_and_deletes_its_directory() -> None:
    cluster = started_cluster_or_skip()
    port, pid = cluster.port, cluster.postmaster_pid()
    assert port is not None and pid is not None and listening(port)
    cluster.remove()
    assert not cluster.base.exists()
    assert not listening(port) and not pgcluster._alive(pid)
    cluster.remove()  # a second time does nothing


def test_without_postgresql_the_fixtures_skip_saying_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgcluster, "find_pg_bin", lambda: None)
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install -y postgresql"):
        started_cluster_or_skip()


def test_as_root_without_a_postgres_user_the_fixtures_skip_saying_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pgcluster, "find_pg_bin", lambda: Path("/nonexistent"))
    monkeypatch.setattr(pgcluster, "SYSTEM_USER", "no-such-user-for-pgcluster")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(pytest.skip.Exception, match=r"running as root.*'no-such-user-for-pgcluster'"):
        started_cluster_or_skip()


def test_a_server_that_does_not_start_is_a_skip_with_its_log_and_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if pgcluster.find_pg_bin() is None:
        pytest.skip(pgcluster.NOT_FOUND)
    made: list[str] = []
    mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(prefix: str, dir: str) -> str:
        made.append(mkdtemp(prefix=prefix, dir=dir))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    with pytest.raises(pytest.skip.Exception, match=r"(?s)PostgreSQL did not start.*shared_buffers"):
        started_cluster_or_skip({"shared_buffers": "a lot"})
    (base,) = made
    assert not Path(base).exists()


def test_start_raises_pg_start_error_with_the_log_tail() -> None:
    if pgcluster.find_pg_bin() is None:
        pytest.skip(pgcluster.NOT_FOUND)
    cluster = PgCluster(settings={"max_connections": "-1"})
    try:
        with pytest.raises(PgStartError, match=r"(?s)pg_ctl start failed.*max_connections"):
            cluster.start()
        assert not cluster.running()
    finally:
        cluster.remove()


def test_unique_schema_names_need_no_quoting_and_fit_an_identifier() -> None:
    names = {unique_schema_name("test_x[sqlite-Ünïcode/ünd more]" * 5) for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert re.fullmatch(r"t_[a-z0-9_]+", name) and len(name) <= 63
    assert re.fullmatch(r"t_[0-9a-f]{12}", unique_schema_name(""))


def test_schema_pool_gives_back_an_emptied_schema_and_drops_a_changed_one(pg_cluster: PgCluster) -> None:
    def migrate(url: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE items (seq bigserial PRIMARY KEY, name text NOT NULL)")
            conn.execute("CREATE TABLE version (v integer NOT NULL)")
            conn.execute("INSERT INTO version VALUES (3)")

    pool = SchemaPool(pg_cluster, migrate)
    try:
        schema = pool.take("pool")
        with psycopg.connect(pg_cluster.url(schema), autocommit=True) as conn:
            conn.execute("INSERT INTO items (name) VALUES ('a'), ('b')")
            conn.execute("UPDATE version SET v = 4")
        pool.give_back(schema)
        assert pool.take() == schema  # reused, not migrated again
        with psycopg.connect(pg_cluster.url(schema), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM items").fetchone() == (0,)
            assert conn.execute("SELECT v FROM version").fetchall() == [(3,)]  # the migration's rows
            assert conn.execute("INSERT INTO items (name) VALUES ('c') RETURNING seq").fetchone() == (1,)
            conn.execute("ALTER TABLE items ADD COLUMN extra integer")
        pool.give_back(schema)
        assert pool.free == []
        assert pg_cluster.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)) == []
        assert pool.take() != schema
    finally:
        pool.remove()
