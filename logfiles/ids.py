"""Where new ids come from (random UUID4 strings, as the real service gives), and which ids a
URL can carry (stdlib only)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

IdSource = Callable[[], str]

# One non-empty path segment that does not end in `.xml` (SPEC: XML is not served, so such a
# suffix is an unknown route) nor in `.json` (the guide's JSON suffix, which routing takes off:
# api/pipeline.py), in any case: the id converter of the /v2 routes (api/routing.py).
URL_ID_PATTERN = r"[^/]+(?<![.][xX][mM][lL])(?<![.][jJ][sS][oO][nN])"
# Path segments that clients remove before sending (RFC 3986, 5.2.4: dot segments).
DOT_SEGMENTS = frozenset({".", ".."})


def random_ids() -> IdSource:
    """Fresh random UUID4 strings, as the real service gives."""
    return lambda: str(uuid.uuid4())


def unreachable(value: str) -> str | None:
    """Why no /v2 URL can name this id (a seeded one must be reachable), or None if one can."""
    if "/" in value:
        return "must not hold '/': no URL could reach it"
    if value in DOT_SEGMENTS:
        return f"must not be '{value}': clients remove it from URLs (RFC 3986 dot segments)"
    if value[-4:].lower() == ".xml":
        return "must not end in '.xml': such a URL is an unknown route (XML is not served)"
    if value[-5:].lower() == ".json":
        return "must not end in '.json': a URL reads that as the guide's JSON suffix"
    return None
