"""JSON read as strictly as RFC 8259 asks between systems (stdlib only).

One reader for every document the service takes whole: request bodies and the tokens file.
UTF-8 only (json.loads would also guess UTF-16 and UTF-32), no NaN or Infinity, and no member
named twice in one object (json would keep the last silently; RFC 6902's tests call a
duplicate `op` an error). Errors are ValueError, or RecursionError for a document nested
deeper than the parser goes.
"""

from __future__ import annotations

import json
from typing import Any


def loads(data: bytes | str) -> Any:
    """The document in `data`; ValueError (or RecursionError) when it is not strict JSON."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return json.loads(text, object_pairs_hook=_unique_members, parse_constant=_no_constants)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, value in pairs:
        if name in members:
            raise ValueError(f"duplicate member {name!r}")
        members[name] = value
    return members


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
