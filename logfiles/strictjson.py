"""JSON read as strictly as RFC 8259 asks between systems (stdlib only).

One reader for every document the service takes whole: request bodies and the tokens file.
UTF-8 only (json.loads would also guess UTF-16 and UTF-32), no NaN or Infinity, and no member
named twice in one object (json would keep the last silently; RFC 6902's tests call a
duplicate `op` an error). Errors are ValueError, or RecursionError for a document nested
deeper than the parser goes.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A \uD800-\uDFFF escape: the only way JSON text can spell a lone surrogate, which is no
# Unicode text (no store can keep it, no UTF-8 answer can show it). Rare, so looked for first.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def loads(data: bytes | str) -> Any:
    """The document in `data`; ValueError (or RecursionError) when it is not strict JSON."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    document = json.loads(text, object_pairs_hook=_unique_members, parse_constant=_no_constants)
    if _SURROGATE_ESCAPE.search(text):
        check_text(document)
    return document


def may_hold_surrogates(data: bytes) -> bool:
    """Whether JSON bytes spell a surrogate escape (paired or not): then `check_text` what they hold."""
    return _SURROGATE_ESCAPE_BYTES.search(data) is not None


def check_text(value: Any) -> None:
    """ValueError when a string in `value` (names included) holds a lone surrogate."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a \\u escape names a lone surrogate, which is not Unicode text") from None


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, value in pairs:
        if name in members:
            raise ValueError(f"duplicate member {name!r}")
        members[name] = value
    return members


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
