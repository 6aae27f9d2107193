"""Query strings: paging, event feeds, the journal's filters and waits (every value is text)."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    fields,
    post_load,
    validate,
)

from ..events import EventQuery
from ..journal import JournalFilter
from .base import MAX_GLOB_LENGTH, MAX_ID_LENGTH, IsoTime, Lenient

# Query strings: every value is text, so numbers are checked as digits before they are numbers.

DEFAULT_LIMIT = 100  # (ours) as the guide's other lists page, 100 by default
MAX_LIMIT = 1000
MAX_QUERY_DIGITS = 9  # int() of a long digit string costs quadratic time; nothing here needs more


class QueryInteger(fields.Integer):
    """A whole number written in ASCII digits, at most MAX_QUERY_DIGITS of them."""

    digits = MAX_QUERY_DIGITS
    default_error_messages = {"invalid": f"Not a whole number of at most {MAX_QUERY_DIGITS} digits."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        text = value if isinstance(value, str) else ""
        if not (text.isascii() and text.isdigit() and len(text) <= self.digits):
            raise self.make_error("invalid")
        return int(text)


def page_limit() -> QueryInteger:
    """`?limit=` of a list or a feed: 1 to MAX_LIMIT, DEFAULT_LIMIT when absent."""
    return QueryInteger(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT, error=f"must be an integer from 1 to {MAX_LIMIT}"),
    )


class PageQuerySchema(Lenient):
    """`?limit=&marker=` of a list (other parameters are ignored, as the guide says nothing of them)."""

    limit = page_limit()
    marker = fields.String(
        validate=validate.Length(min=1, max=MAX_ID_LENGTH),
        metadata={"description": "The last id of the previous page; one that is not in the list is a 400."},
    )


class AgentListQuerySchema(PageQuerySchema):
    """`GET /v2/{project_id}/agents`: paging, and the page's `host_machine_id` filter."""

    host_machine_id = fields.String(
        validate=validate.Length(min=1, max=MAX_ID_LENGTH),
        metadata={"description": "Only the agents whose `host.machine.id` is exactly this."},
    )


MAX_MARKER_DIGITS = 18  # an event number fits a signed 64-bit integer


class EventMarker(fields.String):
    """An event id, written as a feed writes it: a string of ASCII digits, at most
    MAX_MARKER_DIGITS of them (the validator, which the OpenAPI document shows as a pattern)."""

    def __init__(self, digits: int = MAX_MARKER_DIGITS, **kwargs: Any) -> None:
        super().__init__(
            validate=validate.Regexp(
                f"^[0-9]{{1,{digits}}}$",
                error=f"Not an event id (at most {digits} digits).",
            ),
            **kwargs,
        )

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)  # as a feed writes it


SORT_DIRS = ("asc", "desc")


def sort_dir(default: str) -> fields.String:
    """`?sort_dir=` of a feed: `asc` or `desc`, `default` (as the feed's page says) when absent."""
    return fields.String(
        load_default=default,
        validate=validate.OneOf(SORT_DIRS, error="must be 'asc' or 'desc'"),
        metadata={"description": f"Default {default}, as the guide's page says."},
    )


class EventQuerySchema(Lenient):
    """`?marker=&limit=&sort_dir=` of an agent's events feed (the guide: `asc` by default)."""

    marker = EventMarker(
        metadata={"description": "An event id: ascending, only newer events; descending, only older ones."}
    )
    limit = page_limit()
    sort_dir = sort_dir("asc")

    @post_load
    def make_query(self, data: dict[str, Any], **kwargs: Any) -> EventQuery:
        marker: str | None = data.get("marker")
        return EventQuery(
            limit=data["limit"],
            marker=None if marker is None else int(marker),
            descending=data["sort_dir"] == "desc",
        )


class ProjectEventQuerySchema(EventQuerySchema):
    """`?marker=&limit=&sort_dir=` of a project's events feed (the guide: `desc` by default)."""

    sort_dir = sort_dir("desc")


MAX_SEQ_DIGITS = 18  # a journal entry's number fits a signed 64-bit integer


class JournalSeq(QueryInteger):
    """A journal entry's `seq`: 1 to MAX_SEQ_DIGITS ASCII digits."""

    digits = MAX_SEQ_DIGITS
    default_error_messages = {"invalid": f"Not a journal entry number (1 to {MAX_SEQ_DIGITS} ASCII digits)."}


class JournalQuerySchema(Schema):
    """`GET /_control/requests` filters; an unknown one (a typo such as `stauts`) is a 400."""

    class Meta:
        unknown = RAISE

    method = fields.String(validate=validate.Length(min=1, max=32))
    path = fields.String(validate=validate.Length(min=1, max=MAX_GLOB_LENGTH))
    status = QueryInteger(validate=validate.Range(0, 599))
    since = IsoTime()
    agent_id = fields.String(validate=validate.Length(min=1, max=MAX_ID_LENGTH))
    after = JournalSeq(metadata={"description": "Only entries numbered (`seq`) above this one."})

    @post_load
    def make_filter(self, data: dict[str, Any], **kwargs: Any) -> JournalFilter:
        return JournalFilter(**data)


# (ours) A wait answers within this many seconds: long enough for an agent's background
# work, short enough that no proxy's read timeout (nginx's is 60 s) cuts it first.
MAX_WAIT_SECONDS = 60
DEFAULT_WAIT_SECONDS = 5.0
_SECONDS = re.compile(r"[0-9]{1,2}(\.[0-9]{1,6})?")


class QuerySeconds(fields.Float):
    """Seconds as plain ASCII decimals (`5`, `0.25`; at most 6 places): no sign, exponent, NaN."""

    default_error_messages = {"invalid": "Not a number of seconds such as 5 or 0.25 (up to 6 decimals)."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if not (isinstance(value, str) and value.isascii() and _SECONDS.fullmatch(value)):
            raise self.make_error("invalid")
        return float(value)


class JournalWaitSchema(JournalQuerySchema):
    """`GET /_control/requests/wait`: the journal's filters, and how long to wait."""

    timeout = QuerySeconds(
        load_default=DEFAULT_WAIT_SECONDS,
        validate=validate.Range(0, MAX_WAIT_SECONDS, error=f"must be from 0 to {MAX_WAIT_SECONDS} seconds"),
    )

    @post_load
    def make_filter(self, data: dict[str, Any], **kwargs: Any) -> tuple[JournalFilter, float]:
        timeout = data.pop("timeout")
        return JournalFilter(**data), timeout


PAGE_QUERY = PageQuerySchema()
AGENT_LIST_QUERY = AgentListQuerySchema()
JOURNAL_QUERY = JournalQuerySchema()
JOURNAL_WAIT = JournalWaitSchema()
EVENT_QUERY = EventQuerySchema()
PROJECT_EVENT_QUERY = ProjectEventQuerySchema()
