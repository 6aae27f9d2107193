"""Settings from the LOGFILES_* environment variables, read and checked in one place (stdlib only)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from .errors import ConfigError
from .origins import check_cors_origins, is_host, parse_cors_origins

MAX_BODY_BYTES = 1024 * 1024  # SPEC: a body over 1 MiB is a 413; exactly 1 MiB is accepted.
DEFAULT_TEMP_URL_KEY = "logfiles-stub-temp-url-key"
DEFAULT_JOURNAL_SIZE = 1000
# (ours) A ring of a million requests is already gigabytes of bodies; SQLite's INTEGER ends at 2**63 - 1.
MAX_JOURNAL_SIZE = 1_000_000
DEFAULT_BIND = "127.0.0.1:8080"
# (ours) An uploaded log up to 64 MiB by default; Swift's own single-object ceiling is 5 GiB.
DEFAULT_MAX_OBJECT_BYTES = 64 * 1024 * 1024
MAX_OBJECT_BYTES = 5 * 1024**3
# (ours) The memory store keeps every object's bytes in the worker: 1 GiB of them by default,
# so that uploads are refused (413) before the worker runs out of memory. 1 TiB at most.
DEFAULT_MAX_STORED_BYTES = 1024**3
MAX_STORED_BYTES = 1024**4
# The guide's regions (general-api-info/service-access.rst); the service is one of them.
REGIONS = ("DFW", "ORD", "IAD", "LON", "SYD", "HKG")
DEFAULT_REGION = "DFW"
MEMORY_ONE_WORKER = (
    "the memory store lives in one process, so it runs exactly one worker "
    "(its gevent worker serves many connections at once); for several workers use sqlite:///<path> "
    "or a postgresql:// URL"
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the application factory needs; fields mirror the variables."""

    store_url: str = "memory"  # LOGFILES_STORE
    tokens_file: str | None = None  # LOGFILES_TOKENS_FILE
    object_store_url: str | None = None  # LOGFILES_OBJECT_STORE_URL
    temp_url_key: str = DEFAULT_TEMP_URL_KEY  # LOGFILES_TEMP_URL_KEY
    control: bool = True  # LOGFILES_CONTROL (on/off)
    control_token: str | None = None  # LOGFILES_CONTROL_TOKEN
    control_open: bool = False  # LOGFILES_CONTROL_OPEN: no control token with a tokens file, on purpose
    journal_size: int = DEFAULT_JOURNAL_SIZE  # LOGFILES_JOURNAL_SIZE
    access_log: bool = True  # LOGFILES_ACCESS_LOG: gunicorn's line per request (on/off)
    bind: str = DEFAULT_BIND  # LOGFILES_BIND: HOST:PORT for gunicorn and the dev server
    workers: int | None = None  # LOGFILES_WORKERS; None: as the store needs (serving.py)
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES  # LOGFILES_MAX_OBJECT_BYTES
    max_stored_bytes: int = DEFAULT_MAX_STORED_BYTES  # LOGFILES_MAX_STORED_BYTES (memory store)
    # LOGFILES_TLS (on/off); None (unset): on exactly when a certificate is given. Use `serves_tls`.
    tls: bool | None = None
    tls_ca_file: str | None = None  # LOGFILES_TLS_CA_FILE; None: logfiles-ca.pem in the temp dir
    tls_cert: str | None = None  # LOGFILES_TLS_CERT: a PEM certificate chain, the server's first
    tls_key: str | None = None  # LOGFILES_TLS_KEY: its (unencrypted) PEM private key
    # LOGFILES_CORS_ORIGINS: the origins browser apps may call from, or ("*",); empty: CORS off.
    cors_origins: tuple[str, ...] = ()
    region: str = DEFAULT_REGION  # LOGFILES_REGION: vaults' region, Identity's default region

    def __post_init__(self) -> None:
        check_store_url(self.store_url)
        bind_address(self.bind)
        if self.object_store_url is not None:
            check_object_store_url(self.object_store_url)
        check_secret("LOGFILES_TEMP_URL_KEY", self.temp_url_key)
        if self.control_token is not None:
            check_secret("LOGFILES_CONTROL_TOKEN", self.control_token)
        if not 0 <= self.journal_size <= MAX_JOURNAL_SIZE:
            raise ConfigError("LOGFILES_JOURNAL_SIZE", f"must be an integer from 0 to {MAX_JOURNAL_SIZE:,}")
        if self.tokens_file and self.control and self.control_token is None and not self.control_open:
            # With tokens the API is locked, but an open control plane hands out every token
            # (the journal) and rewrites all state: that must be a choice, not a default.
            raise ConfigError(
                "LOGFILES_CONTROL_TOKEN",
                "must be set when LOGFILES_TOKENS_FILE is (or LOGFILES_CONTROL=off, "
                "or LOGFILES_CONTROL_OPEN=on to leave the control plane open to anyone)",
            )
        if not 0 <= self.max_object_bytes <= MAX_OBJECT_BYTES:
            raise ConfigError(
                "LOGFILES_MAX_OBJECT_BYTES", f"must be an integer from 0 to {MAX_OBJECT_BYTES:,} (5 GiB)"
            )
        if not 0 <= self.max_stored_bytes <= MAX_STORED_BYTES:
            raise ConfigError(
                "LOGFILES_MAX_STORED_BYTES", f"must be an integer from 0 to {MAX_STORED_BYTES:,} (1 TiB)"
            )
        if self.workers is not None and self.workers < 1:
            raise ConfigError("LOGFILES_WORKERS", "must be at least 1")
        if self.workers is not None and self.workers > 1 and self.store_url == "memory":
            raise ConfigError("LOGFILES_WORKERS", MEMORY_ONE_WORKER)
        if self.region not in REGIONS:
            raise ConfigError("LOGFILES_REGION", f"must be one of the guide's regions: {', '.join(REGIONS)}")
        check_tls(self)
        check_cors_origins(self.cors_origins)

    @property
    def serves_tls(self) -> bool:
        """HTTPS: LOGFILES_TLS=on, or a certificate and key given."""
        return bool(self.tls) or self.tls_cert is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read LOGFILES_* from the environment; raise ConfigError on the first bad value."""
        env = os.environ if environ is None else environ
        journal_size = _integer(env, "LOGFILES_JOURNAL_SIZE")
        max_object = _integer(env, "LOGFILES_MAX_OBJECT_BYTES")
        max_stored = _integer(env, "LOGFILES_MAX_STORED_BYTES")
        return cls(
            store_url=env.get("LOGFILES_STORE", "").strip() or "memory",
            tokens_file=env.get("LOGFILES_TOKENS_FILE") or None,
            object_store_url=env.get("LOGFILES_OBJECT_STORE_URL") or None,
            temp_url_key=env.get("LOGFILES_TEMP_URL_KEY") or DEFAULT_TEMP_URL_KEY,
            control=_switch(env, "LOGFILES_CONTROL", True),
            control_token=env.get("LOGFILES_CONTROL_TOKEN") or None,
            control_open=_switch(env, "LOGFILES_CONTROL_OPEN", False),
            journal_size=DEFAULT_JOURNAL_SIZE if journal_size is None else journal_size,
            access_log=_switch(env, "LOGFILES_ACCESS_LOG", True),
            bind=env.get("LOGFILES_BIND", "").strip() or DEFAULT_BIND,
            workers=_integer(env, "LOGFILES_WORKERS"),
            max_object_bytes=DEFAULT_MAX_OBJECT_BYTES if max_object is None else max_object,
            max_stored_bytes=DEFAULT_MAX_STORED_BYTES if max_stored is None else max_stored,
            tls=_switch(env, "LOGFILES_TLS", None),
            tls_ca_file=env.get("LOGFILES_TLS_CA_FILE") or None,
            tls_cert=env.get("LOGFILES_TLS_CERT") or None,
            tls_key=env.get("LOGFILES_TLS_KEY") or None,
            cors_origins=parse_cors_origins(env.get("LOGFILES_CORS_ORIGINS", "")),
            region=env.get("LOGFILES_REGION", "").strip().upper() or DEFAULT_REGION,
        )


def check_secret(variable: str, value: str) -> None:
    """A key or token must be printable ASCII with no spaces around it.

    A header value arrives as latin-1 with its surrounding spaces stripped, and the key is
    HMAC'd as bytes: anything else could never match, or would match differently per client.
    """
    if not value.isascii() or not value.isprintable():
        raise ConfigError(variable, "must be printable ASCII")
    if value != value.strip():
        raise ConfigError(variable, "must not start or end with spaces")


POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*):[^/]*@")


def hide_password(url: str) -> str:
    """`scheme://user:***@host...`: a URL as a message may show it."""
    return _URL_PASSWORD.sub(r"\1:***@", url, count=1)


def check_store_url(url: str) -> None:
    """Accept `memory`, `sqlite:///<path>` or a libpq URL; anything else stops start-up."""
    if url == "memory":
        return
    if url.startswith(POSTGRES_SCHEMES):
        from psycopg import Error
        from psycopg.conninfo import conninfo_to_dict

        # An unencoded @ or / in a password splits the URL elsewhere, and the host or the
        # database named in messages would show part of the password.
        if url.split("?", 1)[0].count("@") > 1:
            raise ConfigError(
                "LOGFILES_STORE",
                "the URL has more than one '@' before its host: percent-encode @ : / % ? # "
                "in the user name and password (p@ss is p%40ss)",
            )
        try:
            conninfo_to_dict(url)
        except Error:
            # libpq's message may echo the URL, password and all: not passed on.
            raise ConfigError(
                "LOGFILES_STORE",
                f"{hide_password(url)!r} is not a PostgreSQL URL libpq can read "
                "(postgresql://user:password@host:port/database, with @ : / % ? # percent-encoded)",
            ) from None
        return
    if url == "sqlite:///:memory:":
        raise ConfigError(
            "LOGFILES_STORE",
            "sqlite:///:memory: would give every connection its own empty database; "
            "use 'memory', or sqlite:///<path> for a file",
        )
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return
    raise ConfigError(
        "LOGFILES_STORE",
        f"unknown store {hide_password(url)!r}; use 'memory', 'sqlite:///<path>' or 'postgresql://user:password@host:port/database'",
    )


_BIND_EXAMPLE = "use HOST:PORT, e.g. 127.0.0.1:8080, or [::1]:8080 for IPv6"


def bind_address(bind: str) -> tuple[str, int]:
    """Split LOGFILES_BIND into (host, port), IPv6 brackets removed; ConfigError if it is not HOST:PORT.

    Checked here rather than left to the servers because each reads a bad value its own
    way: gunicorn takes `host:1:2` as port 1, retries an address without a port for
    seconds, and dies with a traceback on port 99999; `app.py` would pick another port.
    """
    if bind.startswith(("unix:", "fd://")):
        # (ours) One meaning for every entry: the development server cannot listen on a
        # Unix socket, and gunicorn's own --bind (which wins over gunicorn.conf.py) can.
        raise ConfigError(
            "LOGFILES_BIND",
            f"{bind!r}: only TCP is served from this variable; for a Unix socket run "
            "`gunicorn --bind unix:PATH wsgi:app`",
        )
    if bind.startswith("["):
        host, closing, rest = bind[1:].partition("]")
        if not closing or not rest.startswith(":"):
            raise ConfigError("LOGFILES_BIND", f"{bind!r} is not [IPv6]:PORT; {_BIND_EXAMPLE}")
        port = rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigError("LOGFILES_BIND", f"{host!r} in {bind!r} is not an IPv6 address") from None
    else:
        host, colon, port = bind.partition(":")
        if not colon or ":" in port:
            raise ConfigError("LOGFILES_BIND", f"{bind!r} is not HOST:PORT; {_BIND_EXAMPLE}")
        if not is_host(host):
            raise ConfigError(
                "LOGFILES_BIND", f"{host!r} in {bind!r} is not a host name or IPv4 address; {_BIND_EXAMPLE}"
            )
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ConfigError("LOGFILES_BIND", f"port {port!r} in {bind!r} is not an integer from 1 to 65535")
    return host, int(port)


def check_tls(settings: Settings) -> None:
    """The TLS variables must agree with each other; the files themselves are read by tls.py.

    Every combination that would leave a user guessing which certificate is served, or
    whether it is HTTPS at all, stops start-up instead of picking one silently.
    """
    cert, key = settings.tls_cert, settings.tls_key
    if cert is not None and key is None:
        raise ConfigError(
            "LOGFILES_TLS_KEY", "must be set when LOGFILES_TLS_CERT is: give the certificate's key"
        )
    if key is not None and cert is None:
        raise ConfigError(
            "LOGFILES_TLS_CERT", "must be set when LOGFILES_TLS_KEY is: give the key's certificate"
        )
    if cert is not None and settings.tls is False:
        raise ConfigError(
            "LOGFILES_TLS",
            "is off, but LOGFILES_TLS_CERT and LOGFILES_TLS_KEY are set; unset them to serve http, "
            "or unset LOGFILES_TLS to serve https with them",
        )
    if settings.tls_ca_file is not None and cert is not None:
        raise ConfigError(
            "LOGFILES_TLS_CA_FILE",
            "is where the CA made at start is written, and with LOGFILES_TLS_CERT no CA is made; "
            "unset one of them",
        )
    if settings.tls_ca_file is not None and not settings.tls:
        raise ConfigError(
            "LOGFILES_TLS_CA_FILE", "is set, but LOGFILES_TLS is not on: set LOGFILES_TLS=on to make a CA"
        )


def check_object_store_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("LOGFILES_OBJECT_STORE_URL", f"{url!r} is not an http(s) URL")


_Default = TypeVar("_Default", bool, None)
_TRUE = {"1", "on", "true", "yes"}
_FALSE = {"0", "off", "false", "no"}


def _switch(env: Mapping[str, str], name: str, default: _Default) -> bool | _Default:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(name, f"{raw!r} is not one of on/off")


def _integer(env: Mapping[str, str], name: str) -> int | None:
    """The variable as an integer; None when unset or empty."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.lstrip("+-").isdigit() and len(raw) <= 20):
        raise ConfigError(name, f"{raw[:40]!r} is not an integer")
    return int(raw)
