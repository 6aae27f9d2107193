"""Routing: the id converter of the /v2 routes (the routing checks are in pipeline.py)."""

from __future__ import annotations

from werkzeug.routing import BaseConverter

from ..ids import URL_ID_PATTERN


class IdConverter(BaseConverter):
    """One non-empty path segment that does not end in `.xml` or `.json`.

    SPEC: XML is not served, and a `.xml` suffix is an unknown route (404 before the token
    is looked at), not part of an id; a `.json` suffix is the guide's way to ask for JSON,
    which routing takes off the path (api/pipeline.py, step 3), not part of an id either.
    """

    regex = URL_ID_PATTERN


class AgentIdConverter(IdConverter):
    """An agent's id right under `/agents/`, where `tokens` is the authentication route.

    So `GET /v2/{p}/agents/tokens` is a method that route does not have (405, `Allow: POST`),
    not a look-up of an agent called "tokens".
    """

    regex = r"(?!tokens(?![^/]))" + IdConverter.regex


class ObjectNameConverter(BaseConverter):
    """The rest of the path, whatever it holds: Swift names may start with `/` or hold newlines.

    (werkzeug's `path` converter wants a first character other than `/` and stops at a newline.)
    """

    regex = r"(?s:.+)"
    part_isolating = False
