"""A throw-away PostgreSQL cluster for tests: initdb in a temp dir, a free 127.0.0.1 port, removed after.

    cluster = PgCluster()          # PgUnavailable (a skip reason) when PostgreSQL cannot run here
    cluster.start()                # PgStartError with the server log's tail when it does not start
    cluster.create_schema("s1")
    url = cluster.url("s1")        # postgresql://postgres@127.0.0.1:<port>/postgres?options=-csearch_path%3Ds1
    cluster.restart()              # same port and data: what a store's reconnect must survive
    cluster.remove()               # stop, delete the data dir

Why the details:
- Durability is off (fsync, synchronous_commit, full_page_writes): the data is thrown away,
  and a cluster then starts in a fraction of a second. A killed server (`kill()`) still
  recovers, since its writes are in the OS's cache; without synchronous_commit it may lose
  its last commits, so `fresh_pg_cluster`, the one to kill, turns it back on.
- It listens on 127.0.0.1 only and makes no Unix socket, so it never touches
  /var/run/postgresql nor meets a packaged server on the default port.
- PostgreSQL refuses to run as root (CI runs as root): there initdb, pg_ctl and the server
  run as the `postgres` system user (the Debian package makes it), in a directory under /tmp
  that user owns (pytest's tmp dirs are 0700 root, unreadable by it).

The fixtures at the end (`pg_cluster`, `pg_url`, `pg_migrated_url`, `fresh_pg_cluster`) skip, with the reason,
where PostgreSQL is not installed or cannot start.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import pytest

if TYPE_CHECKING:  # psycopg is imported where it is used: only PostgreSQL tests need it
    import psycopg
    from psycopg import sql
    from psycopg.abc import Params

__all__ = [
    "NOT_FOUND",
    "PgCluster",
    "PgStartError",
    "PgUnavailable",
    "SchemaPool",
    "find_pg_bin",
    "fresh_pg_cluster",
    "pg_cluster",
    "pg_migrated_url",
    "pg_schema_pool",
    "pg_url",
    "started_cluster_or_skip",
    "unique_schema_name",
]

NOT_FOUND = "PostgreSQL not found: apt-get install -y postgresql (Debian) to run the PostgreSQL tests"
HOST = "127.0.0.1"
SUPERUSER = "postgres"
SYSTEM_USER = "postgres"  # whom the server runs as when the tests run as root
PROGRAMS = ("initdb", "pg_ctl", "postgres")
DEB_BIN_GLOB = "/usr/lib/postgresql/*/bin"
LOG_TAIL_LINES = 30
# Not $TMPDIR, which may be a 0700 directory of ours that the postgres user cannot enter.
TEMP_ROOT = "/tmp"  # noqa: S108 - mkdtemp makes a private directory in it
# A throw-away cluster: speed over durability; room for several stores' pools at once.
SETTINGS: Mapping[str, str] = {
    "listen_addresses": HOST,
    "unix_socket_directories": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "32MB",
    "logging_collector": "off",
    "log_min_messages": "warning",
}

# Without fsync a commit still reaches the OS before it is acknowledged: a killed server loses none.
CRASH_SAFE: Mapping[str, str] = {"synchronous_commit": "on"}


class PgUnavailable(RuntimeError):
    """PostgreSQL cannot run on this machine; the message is the skip reason."""


class PgStartError(RuntimeError):
    """initdb or the server failed; the message carries its output or the log's tail."""


def find_pg_bin() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres: PATH first, then the newest Debian one.

    PATH's initdb is followed through symlinks, since /usr/local/bin or a wrapper directory may
    hold initdb and pg_ctl but not the server binary they start.
    """
    found = shutil.which("initdb")
    if found:
        directory = Path(found).resolve().parent
        if _has_programs(directory):
            return directory
    versions = []
    for candidate in Path("/").glob(DEB_BIN_GLOB.lstrip("/")):
        version = candidate.parent.name
        if _has_programs(candidate) and re.fullmatch(r"\d+(\.\d+)?", version):
            versions.append((tuple(int(part) for part in version.split(".")), candidate))
    return max(versions)[1] if versions else None


def _has_programs(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in PROGRAMS)


def free_port(host: str = HOST) -> int:
    """A port nothing listens on now; a start that loses the race retries with another."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def unique_schema_name(hint: str = "") -> str:
    """`t_<hint>_<8 hex>`: a-z, 0-9 and `_` only (no quoting in a URL or in SQL), under 63 bytes."""
    cleaned = re.sub(r"[^a-z0-9_]+", "_", hint.lower()).strip("_")[:40]
    return f"t_{cleaned}_{uuid.uuid4().hex[:8]}" if cleaned else f"t_{uuid.uuid4().hex[:12]}"


class PgCluster:
    """One cluster: its binaries, data dir, port and superuser; started and stopped with pg_ctl."""

    def __init__(
        self,
        bin_dir: Path | None = None,
        *,
        superuser: str = SUPERUSER,
        settings: Mapping[str, str] | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        """Find the binaries and make the directory; nothing runs until `start()`."""
        found = find_pg_bin() if bin_dir is None else bin_dir
        if found is None:
            raise PgUnavailable(NOT_FOUND)
        self.bin_dir = found
        self.superuser = superuser
        self.settings = {**SETTINGS, **(settings or {})}
        self.start_timeout = start_timeout
        self.run_as = _run_as()
        self.base = Path(tempfile.mkdtemp(prefix="pgcluster-", dir=TEMP_ROOT))
        if self.run_as is not None:
            os.chown(self.base, self.run_as.pw_uid, self.run_as.pw_gid)
        self.data_dir = self.base / "data"
        self.log_file = self.data_dir / "server.log"
        self.port: int | None = None
        # If the test process ends without remove() (an interrupted session), still stop it.
        self._finalizer = weakref.finalize(
            self, _remove, self.bin_dir, self.data_dir, self.base, self.run_as, self.start_timeout
        )

    # -- life cycle --------------------------------------------------------------------------

    def init(self) -> None:
        """initdb (trust auth: loopback only, throw-away), then write SETTINGS into postgresql.conf."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        argv = [
            str(self.bin_dir / "initdb"),
            f"--pgdata={self.data_dir}",
            "--auth=trust",
            "--no-locale",
            "--encoding=UTF8",
            f"--username={self.superuser}",
            "--no-sync",
        ]
        done = self._run(argv, timeout=120)
        if done.returncode != 0:
            raise PgStartError(f"initdb failed with status {done.returncode}:\n{_tail(done.stdout)}")
        lines = [f"{name} = '{value}'" for name, value in self.settings.items()]
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/pgcluster.py: a throw-away cluster\n" + "\n".join(lines) + "\n")

    def start(self) -> None:
        """Start the server (initdb first if needed) and wait until it takes connections.

        The first start picks a free port, and another if it loses a race for it; later starts
        keep the port, so URLs handed out stay valid across restart().
        """
        self.init()
        if self.running():
            return
        attempts = 3 if self.port is None else 1
        for attempt in range(attempts):
            port = self.port if self.port is not None else free_port()
            argv = [
                str(self.bin_dir / "pg_ctl"),
                "start",
                f"--pgdata={self.data_dir}",
                f"--log={self.log_file}",
                "--wait",
                f"--timeout={int(self.start_timeout)}",
                f"--options=-p {port}",
            ]
            done = self._run(argv, timeout=self.start_timeout + 10)
            if done.returncode == 0:
                self.port = port
                return
            lost_race = "could not bind" in self.log_tail() or "already in use" in self.log_tail()
            if not (lost_race and attempt + 1 < attempts):
                raise PgStartError(
                    f"pg_ctl start failed with status {done.returncode} (port {port}):\n"
                    f"{_tail(done.stdout)}\nserver log {self.log_file}:\n{self.log_tail()}"
                )

    def stop(self, mode: Literal["smart", "fast", "immediate"] = "fast") -> None:
        """pg_ctl stop (`fast`: roll back and disconnect every client); nothing if not running."""
        if not self.running():
            return
        argv = _stop_argv(self.bin_dir, self.data_dir, mode, self.start_timeout)
        done = self._run(argv, timeout=self.start_timeout + 10)
        if done.returncode != 0:
            raise PgStartError(f"pg_ctl stop failed with status {done.returncode}:\n{_tail(done.stdout)}")

    def restart(self) -> None:
        """Stop (fast) and start again on the same port and data: every client connection breaks."""
        self.stop("fast")
        self.start()

    def kill(self) -> None:
        """SIGKILL the postmaster and every process it started, as a crash would; `start()` then recovers.

        Each backend leads its own session, so they are found by parent (the postmaster is
        stopped first, so that it forks nothing more). Once all are dead the stale
        postmaster.pid goes too: the postmaster is not our child, and until the system's init
        reaps its zombie the next postmaster would take that pid for a server still running.
        With synchronous_commit off a crash loses the last commits (fresh_pg_cluster keeps it on).
        """
        pid = self.postmaster_pid()
        if pid is None:
            return
        if not Path("/proc").is_dir():  # not Linux: the server's own crash, minus the SIGKILL
            self.stop("immediate")
            return
        victims = _crash(pid)
        if victims:
            raise PgStartError(f"PostgreSQL processes {victims} outlived SIGKILL for 10 s")
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)

    def remove(self) -> None:
        """Stop the server (immediately if a clean stop fails) and delete its directory."""
        self._finalizer()

    # -- state ---------------------------------------------------------------------------------

    def postmaster_pid(self) -> int | None:
        """The running postmaster's pid, from postmaster.pid; None when it is not running."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except (FileNotFoundError, NotADirectoryError):
            return None
        pid = int(first) if first.strip().isdigit() else 0
        return pid if pid > 0 and _alive(pid) else None

    def running(self) -> bool:
        return self.postmaster_pid() is not None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            return _tail(self.log_file.read_text(errors="replace"), lines)
        except OSError:
            return "(no server log)"

    # -- clients -------------------------------------------------------------------------------

    def url(self, schema: str | None = None, dbname: str = "postgres") -> str:
        """A libpq URL for the superuser; with `schema`, every connection's search_path is that schema."""
        if self.port is None:
            raise RuntimeError("the cluster has not been started: no port yet")
        url = f"postgresql://{self.superuser}@{HOST}:{self.port}/{dbname}"
        return url + ("" if schema is None else "?options=" + quote(f"-csearch_path={schema}", safe=""))

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[Any, ...]]:
        """An autocommit superuser connection: what schema set-up and a test's own checks need."""
        import psycopg

        return psycopg.connect(self.url(dbname=dbname), autocommit=True, connect_timeout=10)

    def execute(
        self, query: str | sql.SQL | sql.Composed, params: Params | None = None, dbname: str = "postgres"
    ) -> list[tuple[Any, ...]]:
        """Run one statement on a new connection; its rows (none for a command)."""
        with self.connect(dbname) as conn, conn.cursor() as cur:
            cur.execute(query, params)
            return list(cur.fetchall()) if cur.description is not None else []

    def create_schema(self, name: str) -> None:
        from psycopg import sql

        self.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))

    def drop_schema(self, name: str, lock_timeout: str = "10s") -> None:
        """DROP SCHEMA ... CASCADE, giving up after `lock_timeout` if a client holds its tables.

        Without the timeout, a stub left running in a transaction would hang the teardown until
        pytest-timeout ends the whole run.
        """
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(lock_timeout)))
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))

    # -- plumbing ------------------------------------------------------------------------------

    def _run(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program, as the system user when we are root; output captured."""
        return _run(argv, self.run_as, self.base, timeout)

    def __enter__(self) -> PgCluster:
        try:
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"PgCluster(port={self.port}, data_dir={str(self.data_dir)!r})"


def _run_as() -> pwd.struct_passwd | None:
    """Whom to run PostgreSQL as: None (ourselves) unless root, then the `postgres` system user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PgUnavailable(
            f"running as root, which PostgreSQL refuses, and there is no {SYSTEM_USER!r} system user "
            "to run it as: apt-get install -y postgresql (Debian) makes one"
        ) from None


def _run(
    argv: list[str], run_as: pwd.struct_passwd | None, cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    # No PG* variables from the caller's shell (PGDATA, PGPORT, PGOPTIONS...): the cluster is ours.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"LC_ALL": "C", "LANG": "C"})
    switch: dict[str, Any] = {}
    if run_as is not None:
        env.update({"HOME": str(cwd), "USER": run_as.pw_name, "LOGNAME": run_as.pw_name})
        # extra_groups=[] drops root's supplementary groups too.
        switch = {"user": run_as.pw_uid, "group": run_as.pw_gid, "extra_groups": []}
    return subprocess.run(
        argv,
        cwd=cwd,  # the system user must be able to read its working directory
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
        **switch,
    )


def _remove(
    bin_dir: Path, data_dir: Path, base: Path, run_as: pwd.struct_passwd | None, timeout: float
) -> None:
    """Stop the server if it runs (fast, else immediate, else SIGKILL) and delete the directory.

    A function of plain values, not a method, so that weakref.finalize can call it at exit.
    """
    pid_file = data_dir / "postmaster.pid"
    for mode in ("fast", "immediate"):
        if not pid_file.exists():
            break
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            _run(_stop_argv(bin_dir, data_dir, mode, timeout), run_as, base, timeout + 10)
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text().split("\n", 1)[0])
        if pid > 0 and _alive(pid) and Path("/proc").is_dir():
            _crash(pid)
    shutil.rmtree(base, ignore_errors=True)


def _stop_argv(bin_dir: Path, data_dir: Path, mode: str, timeout: float) -> list[str]:
    pg_ctl = str(bin_dir / "pg_ctl")
    return [pg_ctl, "stop", f"--pgdata={data_dir}", f"--mode={mode}", "--wait", f"--timeout={int(timeout)}"]


def _crash(postmaster: int, timeout: float = 10.0) -> list[int]:
    """SIGKILL the postmaster and its children; those still alive after `timeout` (none, normally).

    The postmaster is stopped first, so that it forks nothing more while its children are listed.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(postmaster, signal.SIGSTOP)
    victims = [postmaster, *_children(postmaster)]
    for victim in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [victim for victim in victims if _alive(victim)]
        if not left:
            return []
        time.sleep(0.01)
    return left


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not: the postmaster is not our child, and a container's
    init may never reap it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return fields[0] not in ("Z", "X")


def _children(parent: int) -> list[int]:
    """The live processes whose parent is `parent` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == parent and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:]) or "(no output)"


class SchemaPool:
    """Migrated schemas handed out one test at a time, emptied between tests: no migration per test.

        pool = SchemaPool(cluster, migrate)   # migrate(url) creates the tables in an empty schema
        schema = pool.take("hint")            # migrated and empty, as after a first start
        pool.give_back(schema)                # emptied for the next test, or dropped

    Why: creating, migrating and dropping a schema costs about 100 ms, emptying one a few. The
    pool migrates one pristine `template` schema, which no test uses, and one schema per test
    running at once (one, usually). Giving one back empties it in one transaction: every table's
    rows deleted, every sequence restarted, the template's rows copied back (the schema version,
    the event counter). A schema whose shape (tables, columns, types, defaults, indexes,
    sequences) differs from the template's, because a test altered or dropped something, or
    that cannot be emptied (a leftover client's lock), is dropped instead.
    """

    def __init__(
        self, cluster: PgCluster, migrate: Callable[[str], object], lock_timeout: str = "5s"
    ) -> None:
        from psycopg import sql

        self.cluster = cluster
        self.migrate = migrate
        self.lock_timeout = lock_timeout
        self.free: list[str] = []
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self.template = self._new("template")
        self._shape = self._shape_of(self.template)
        self._tables = sorted({row[0] for row in self._shape if row[1] == "r"})
        self._sequences = sorted({row[0] for row in self._shape if row[1] == "S"})
        self._seeded = [
            name
            for name in self._tables
            if self._query(
                sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(self.template), sql.Identifier(name)
                )
            )[0][0]
        ]

    def take(self, hint: str = "") -> str:
        """A migrated, empty schema's name; its URL is `cluster.url(schema=name)`."""
        return self.free.pop() if self.free else self._new(hint)

    def give_back(self, schema: str) -> None:
        """Empty the schema for the next test; drop it if it cannot be (changed shape, held locks)."""
        # Whatever goes wrong, the schema is not reused.
        with contextlib.suppress(Exception):
            if self._shape_of(schema) == self._shape:
                self._empty(schema)
                self.free.append(schema)
                return
        self._close()  # perhaps the connection is what broke
        with contextlib.suppress(Exception):
            self.cluster.drop_schema(schema)

    def remove(self) -> None:
        """Drop every schema the pool holds (the cluster may be removed instead)."""
        self._close()
        for schema in [*self.free, self.template]:
            with contextlib.suppress(Exception):
                self.cluster.drop_schema(schema)
        self.free.clear()

    def _new(self, hint: str) -> str:
        schema = unique_schema_name(hint)
        self.cluster.create_schema(schema)
        self.migrate(self.cluster.url(schema=schema))
        return schema

    def _empty(self, schema: str) -> None:
        from psycopg import sql

        def name(table: str, where: str = schema) -> sql.Composed:
            return sql.SQL("{}.{}").format(sql.Identifier(where), sql.Identifier(table))

        # DELETE, not TRUNCATE: on tables of a few rows it is several times faster (no new files).
        statements = [sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(self.lock_timeout))]
        statements += [sql.SQL("DELETE FROM {}").format(name(table)) for table in self._tables]
        statements += [sql.SQL("ALTER SEQUENCE {} RESTART").format(name(seq)) for seq in self._sequences]
        statements += [
            sql.SQL("INSERT INTO {} SELECT * FROM {}").format(name(table), name(table, self.template))
            for table in self._seeded
        ]
        conn = self._connection()
        with conn.transaction():
            conn.execute(sql.SQL("; ").join(statements))  # one round trip

    def _shape_of(self, schema: str) -> list[tuple[str, ...]]:
        """Every relation of the schema (table, index, sequence) with its columns' types, nullability
        and defaults, and each index's definition; the schema's own name taken out."""
        rows = self._query(
            """
            SELECT c.relname, c.relkind::text, coalesce(a.attname, ''),
                   coalesce(format_type(a.atttypid, a.atttypmod), ''), coalesce(a.attnotnull::text, ''),
                   coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
                   coalesce(CASE WHEN c.relkind = 'i' THEN pg_get_indexdef(c.oid) END, '')
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
            WHERE n.nspname = %s
            ORDER BY 1, 3
            """,
            (schema,),
        )
        return [tuple(str(value).replace(f"{schema}.", "") for value in row) for row in rows]

    def _query(self, query: str | sql.Composed, params: Params | None = None) -> list[tuple[Any, ...]]:
        with self._connection().cursor() as cur:
            cur.execute(query, params)
            return list(cur.fetchall())

    def _connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        """One connection kept for the session: a new one per test would cost more than the reset."""
        if self._conn is None or self._conn.closed:
            self._conn = self.cluster.connect()
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


# -- pytest fixtures: tests/conftest.py imports them ---------------------------------------------


def started_cluster_or_skip(settings: Mapping[str, str] | None = None) -> PgCluster:
    """A started cluster, or pytest.skip naming why not (not installed, no system user, no start)."""
    try:
        cluster = PgCluster(settings=settings)
    except PgUnavailable as exc:
        pytest.skip(str(exc))
    try:
        cluster.start()
    except (PgStartError, OSError, subprocess.TimeoutExpired) as exc:
        cluster.remove()
        pytest.skip(f"PostgreSQL did not start: {exc}")
    return cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One cluster for the session; tests keep apart by schema (`pg_url`).

    Shared, so never stopped or restarted by a test: `fresh_pg_cluster` is for that.
    """
    cluster = started_cluster_or_skip()
    yield cluster
    cluster.remove()


@pytest.fixture
def pg_url(pg_cluster: PgCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new schema named after the test, and a URL whose connections see only it; dropped after.

    Ask for it before the fixtures that start servers on it (`launch`), so that they are
    stopped, and their connections closed, before the schema is dropped.
    """
    schema = unique_schema_name(request.node.name)
    pg_cluster.create_schema(schema)
    yield pg_cluster.url(schema)
    pg_cluster.drop_schema(schema)


@pytest.fixture
def fresh_pg_cluster() -> Iterator[PgCluster]:
    """A started cluster of the test's own, to restart, stop or kill at will; removed after.

    Commits are synchronous here: a kill() then loses nothing the server acknowledged.
    """
    cluster = started_cluster_or_skip(CRASH_SAFE)
    yield cluster
    cluster.remove()


def _migrate(url: str) -> None:
    from logfiles.store.postgres.schema import prepare_database

    prepare_database(url)


@pytest.fixture(scope="session")
def pg_schema_pool(pg_cluster: PgCluster) -> Iterator[SchemaPool]:
    """The session's migrated schemas (SchemaPool), for `pg_migrated_url`."""
    pool = SchemaPool(pg_cluster, _migrate)
    yield pool
    pool.remove()


@pytest.fixture
def pg_migrated_url(pg_schema_pool: SchemaPool, pg_cluster: PgCluster) -> Iterator[str]:
    """A migrated, empty schema's URL, as after the store's first start; emptied after the test.

    What the app-level and store contract suites run on: no migration per test. A test of the
    migrations themselves (or of what an empty schema does) takes `pg_url`.
    """
    schema = pg_schema_pool.take()
    yield pg_cluster.url(schema)
    pg_schema_pool.give_back(schema)
