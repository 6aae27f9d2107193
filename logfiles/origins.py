"""LOGFILES_CORS_ORIGINS: the origins a browser may call the service from, checked at start-up
as browsers write them; and what a host name is (stdlib only)."""

from __future__ import annotations

import ipaddress
import re

from .errors import ConfigError

_HOSTNAME_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def is_host(host: str) -> bool:
    """A host name (RFC 1123 labels) or a dotted IPv4 address; names are not resolved here."""
    if not host or len(host) > 253:
        return False
    labels = host.split(".")
    if all(label.isascii() and label.isdigit() for label in labels):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        return True
    return all(_HOSTNAME_LABEL.fullmatch(label) for label in labels)


CORS_ANY = "*"
_CORS_VARIABLE = "LOGFILES_CORS_ORIGINS"
_CORS_EXAMPLE = "e.g. http://localhost:3000,http://127.0.0.1:5173, or * for any"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_cors_origins(raw: str) -> tuple[str, ...]:
    """LOGFILES_CORS_ORIGINS as a tuple: empty (unset: CORS off), ("*",), or the listed origins.

    Comma-separated, spaces around entries ignored, repeats dropped; each entry is checked by
    `check_cors_origins` (through Settings), so a typo stops start-up instead of silently
    never matching a browser's Origin header.
    """
    raw = raw.strip()
    if not raw:
        return ()
    entries = [entry.strip() for entry in raw.split(",")]
    if "" in entries:
        raise ConfigError(_CORS_VARIABLE, f"{_clip(raw)!r} has an empty entry (two commas, or one at an end)")
    return tuple(dict.fromkeys(entries))


def check_cors_origins(origins: tuple[str, ...]) -> None:
    """Every entry must be an origin as browsers send it in `Origin`, or `*` alone.

    flask-cors compares the header with each entry as text, so anything a browser never
    sends (a path or trailing `/`, a default port, `null`) could never match: refused here.
    """
    if CORS_ANY in origins and len(origins) > 1:
        raise ConfigError(_CORS_VARIABLE, "'*' allows every origin: give it alone, not in a list")
    for origin in origins:
        if origin != CORS_ANY:
            check_origin(origin)


def check_origin(origin: str) -> None:
    """One origin: `http` or `https`, `://`, a host, an optional port; nothing else."""
    shown = repr(_clip(origin))
    if not origin.isascii() or not origin.isprintable() or " " in origin:
        raise ConfigError(
            _CORS_VARIABLE,
            f"{shown} is not an origin: printable ASCII without spaces only "
            "(an international host name in its xn-- form, as browsers send it)",
        )
    if origin.lower() == "null":
        raise ConfigError(
            _CORS_VARIABLE,
            "'null' is the origin of file:// and sandboxed pages, which any page can claim; "
            "serve the page over http(s) and list that origin",
        )
    scheme, separator, authority = origin.partition("://")
    if not separator:
        raise ConfigError(_CORS_VARIABLE, f"{shown} is not an origin (scheme://host[:port]); {_CORS_EXAMPLE}")
    if scheme.lower() not in _DEFAULT_PORTS:
        raise ConfigError(_CORS_VARIABLE, f"{shown}: the scheme must be http or https")
    rest = re.search(r"[/?#]", authority)
    if rest:
        raise ConfigError(
            _CORS_VARIABLE,
            f"{shown} has a path, query or fragment; an origin is scheme://host[:port] only "
            "(browsers send no trailing '/')",
        )
    if "@" in authority:
        raise ConfigError(_CORS_VARIABLE, f"{shown} has user info; an origin is scheme://host[:port] only")
    host, port = _origin_host_port(origin, authority)
    if port is not None:
        if not (port.isdigit() and port[0] != "0" and len(port) <= 5 and int(port) <= 65535):
            raise ConfigError(
                _CORS_VARIABLE, f"{shown}: port {_clip(port, 12)!r} is not an integer from 1 to 65535"
            )
        if int(port) == _DEFAULT_PORTS[scheme.lower()]:
            raise ConfigError(
                _CORS_VARIABLE,
                f"{shown}: {port} is {scheme.lower()}'s default port, which browsers leave out of "
                f"the origin; write {scheme.lower()}://{host}",
            )


def _origin_host_port(origin: str, authority: str) -> tuple[str, str | None]:
    """Split and check the host; the port (unchecked) or None."""
    shown = repr(_clip(origin))
    if authority.startswith("["):
        inside, closing, rest = authority[1:].partition("]")
        if not closing or (rest and not rest.startswith(":")):
            raise ConfigError(_CORS_VARIABLE, f"{shown}: an IPv6 host is [address] or [address]:port")
        try:
            address = ipaddress.IPv6Address(inside)
        except ValueError:
            raise ConfigError(
                _CORS_VARIABLE, f"{shown}: {_clip(inside, 40)!r} is not an IPv6 address"
            ) from None
        if inside.lower() != address.compressed:
            # Browsers serialize the address compressed: [0:0::1] would never match [::1].
            raise ConfigError(_CORS_VARIABLE, f"{shown}: write the address as browsers send it, [{address}]")
        return f"[{inside}]", rest[1:] if rest else None
    host, colon, port = authority.partition(":")
    if not is_host(host):
        raise ConfigError(_CORS_VARIABLE, f"{shown}: {_clip(host, 40)!r} is not a host name or IPv4 address")
    return host, port if colon else None


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
