"""The PostgreSQL schema: versioned migrations, applied at start by one instance at a time."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from ...errors import ConfigError
from .connection import MIGRATION_LOCK_CLASS, VARIABLE, connect

# Every text column compares by code point ("C"), as Python and SQLite do: object listings
# are in Swift's order, and ISO times compare as text, whatever the database's own collation.
_T = 'text COLLATE "C"'

# MIGRATIONS[v] takes a schema from version v to v + 1; the version lives in logfiles_schema.
# To change the schema, append a migration; never change what a shipped one does.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # Event numbers come from this row, not a sequence: taking the row lock serialises the
        # transactions that add events, so numbers become visible in increasing order (a feed
        # read past number n never misses a smaller one committed later). Never reset.
        f"CREATE TABLE counters (name {_T} PRIMARY KEY, value bigint NOT NULL)",
        "INSERT INTO counters (name, value) VALUES ('events', 0)",
        f"""
        CREATE TABLE agents (
            seq bigserial PRIMARY KEY,
            id {_T} NOT NULL UNIQUE,
            project_id {_T} NOT NULL,
            registered_time {_T} NOT NULL,
            registration {_T} NOT NULL,
            enabled boolean NOT NULL,
            log_level {_T} NOT NULL,
            password_sha256 {_T} NOT NULL DEFAULT '',
            roles {_T},
            last_heard {_T}
        )
        """,
        "CREATE INDEX agents_project_seq ON agents (project_id, seq)",
        f"""
        CREATE TABLE logfiles (
            seq bigserial PRIMARY KEY,
            id {_T} NOT NULL,
            agent_id {_T} NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
            project_id {_T} NOT NULL,
            date {_T} NOT NULL,
            state {_T} NOT NULL,
            UNIQUE (id, agent_id)
        )
        """,
        "CREATE INDEX logfiles_agent_seq ON logfiles (agent_id, seq)",
        "CREATE INDEX logfiles_agent_state ON logfiles (agent_id, state)",
        f"""
        CREATE TABLE tokens (
            id {_T} PRIMARY KEY,
            project_id {_T} NOT NULL,
            agent_id {_T} REFERENCES agents (id) ON DELETE CASCADE,
            roles {_T},
            expires {_T} NOT NULL
        )
        """,
        "CREATE INDEX tokens_expires ON tokens (expires)",
        "CREATE INDEX tokens_agent ON tokens (agent_id)",
        f"""
        CREATE TABLE events (
            id bigint PRIMARY KEY,
            project_id {_T} NOT NULL,
            agent_id {_T} REFERENCES agents (id) ON DELETE CASCADE,
            time {_T} NOT NULL,
            event {_T} NOT NULL,
            details {_T} NOT NULL
        )
        """,
        "CREATE INDEX events_agent ON events (agent_id, id)",
        "CREATE INDEX events_project ON events (project_id, id)",
        "CREATE INDEX events_project_wide ON events (project_id, agent_id, id)",
        "CREATE INDEX events_time ON events (time)",
        # Free-form request text is kept JSON-encoded (NUL and lone surrogates as escapes):
        # PostgreSQL text cannot hold them, and the journal keeps what was received.
        f"""
        CREATE TABLE journal (
            seq bigserial PRIMARY KEY,
            time {_T} NOT NULL,
            method {_T} NOT NULL,
            path {_T} NOT NULL,
            query {_T} NOT NULL,
            headers {_T} NOT NULL,
            body {_T} NOT NULL,
            status integer NOT NULL,
            fault {_T},
            latency_ms double precision
        )
        """,
        f"CREATE TABLE faults (seq bigserial PRIMARY KEY, id {_T} NOT NULL, rule {_T} NOT NULL)",
        f"""
        CREATE TABLE clock (
            only_row integer PRIMARY KEY CHECK (only_row = 1),
            frozen_at {_T},
            offset_microseconds bigint NOT NULL
        )
        """,
        f"CREATE TABLE containers (project_id {_T} NOT NULL, name {_T} NOT NULL,"
        " PRIMARY KEY (project_id, name))",
        # An object's bytes are chunks of one blob, written in the transaction that points the
        # object's row at it: a reader sees one whole object or the other, never a part.
        "CREATE SEQUENCE blob_ids",
        """
        CREATE TABLE blob_chunks (
            blob_id bigint NOT NULL,
            n integer NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (blob_id, n)
        )
        """,
        f"""
        CREATE TABLE objects (
            project_id {_T} NOT NULL,
            container {_T} NOT NULL,
            name {_T} NOT NULL,
            bytes bigint NOT NULL,
            hash {_T} NOT NULL,
            content_type {_T} NOT NULL,
            last_modified {_T} NOT NULL,
            blob_id bigint NOT NULL,
            PRIMARY KEY (project_id, container, name)
        )
        """,
    ),
    # 2: what each request was told. Each journal entry keeps its answer's size and (text)
    # body, JSON-encoded like the other free-form text; NULL in the entries kept from before.
    (
        "ALTER TABLE journal ADD COLUMN response_bytes bigint",
        f"ALTER TABLE journal ADD COLUMN response_body {_T}",
    ),
    # 3: every other resource, as documents (docs/storage.md): a kind's indexed fields in the
    # slots k1..k4 (each with an index that also orders by creation), `keys` naming them.
    (
        f"""
        CREATE TABLE documents (
            seq bigserial PRIMARY KEY,
            kind {_T} NOT NULL,
            project_id {_T} NOT NULL,
            id {_T} NOT NULL,
            parent {_T},
            version bigint NOT NULL,
            k1 {_T}, k2 {_T}, k3 {_T}, k4 {_T},
            keys {_T} NOT NULL,
            body {_T} NOT NULL,
            UNIQUE (kind, project_id, id)
        )
        """,
        "CREATE INDEX documents_seq ON documents (kind, project_id, seq)",
        "CREATE INDEX documents_parent ON documents (kind, project_id, parent, seq)",
        *(f"CREATE INDEX documents_k{n} ON documents (kind, project_id, k{n}, seq)" for n in range(1, 5)),
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def describe(url: str) -> str:
    """host:port/dbname of a libpq URL, without its user or password (for messages)."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error:
        return "the database"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"PostgreSQL at {host}:{port}/{parts.get('dbname') or parts.get('user') or ''}"


def prepare_database(url: str) -> tuple[str, int]:
    """Create or migrate the schema; (schema name, its lock key), or ConfigError in one line.

    Several instances may start at once on an empty database: a session advisory lock lets
    one migrate while the others wait, then find the schema current.
    """
    where = describe(url)
    try:
        connection = connect(url)
    except psycopg.Error as exc:
        raise ConfigError(VARIABLE, f"cannot connect to {where}: {_scrub(_first_line(exc), url)}") from exc
    try:
        row = connection.execute("SELECT current_schema(), hashtext(current_schema())").fetchone()
        if row is None or row[0] is None:
            path = connection.execute("SHOW search_path").fetchone()
            raise ConfigError(
                VARIABLE,
                f"{where}: no schema of the search_path ({path[0] if path else ''}) exists to create "
                "tables in; create it first (CREATE SCHEMA <name>)",
            )
        schema, key = str(row[0]), int(row[1])
        connection.execute("SET lock_timeout = '60s'")
        connection.execute("SELECT pg_advisory_lock(%s, %s)", (MIGRATION_LOCK_CLASS, key))
        try:
            with connection.transaction():
                _migrate(connection, where, schema)
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s, %s)", (MIGRATION_LOCK_CLASS, key))
    except psycopg.Error as exc:
        raise ConfigError(VARIABLE, f"cannot use {where}: {_scrub(_first_line(exc), url)}") from exc
    finally:
        connection.close()
    return schema, key


def _migrate(connection: psycopg.Connection[Any], where: str, schema: str) -> None:
    def has_table(name: str) -> bool:
        found = connection.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s", (schema, name)
        ).fetchone()
        return found is not None

    if has_table("logfiles_schema"):
        found = connection.execute("SELECT version FROM logfiles_schema").fetchone()
        version = 0 if found is None else int(found[0])
    else:
        if has_table("agents") or has_table("logfiles"):
            raise ConfigError(VARIABLE, f"{where}: schema {schema} holds tables of something else")
        connection.execute("CREATE TABLE logfiles_schema (version integer NOT NULL)")
        connection.execute("INSERT INTO logfiles_schema (version) VALUES (0)")
        version = 0
    if version > SCHEMA_VERSION:
        raise ConfigError(
            VARIABLE,
            f"{where}: schema {schema} has version {version}, newer than this service's {SCHEMA_VERSION}",
        )
    for migration in MIGRATIONS[version:]:
        for statement in migration:
            connection.execute(statement)
    if version != SCHEMA_VERSION:
        connection.execute("UPDATE logfiles_schema SET version = %s", (SCHEMA_VERSION,))


def _scrub(text: str, url: str) -> str:
    """`text` without the URL's password, however libpq came to echo it."""
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:  # libpq cannot read the URL, and its reason may quote any part of it
        return "libpq cannot read the URL (check its form and percent-encoding)"
    text = text.replace(url, "<the URL>")
    if password:
        text = text.replace(str(password), "***")
    return text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
