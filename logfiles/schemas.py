"""marshmallow schemas: what a request may carry (load) and what a response holds (dump)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_dump,
    validate,
    validates,
    validates_schema,
)

from .clock import ClockCommand
from .errors import Invalid
from .events import AGENT_ACTIVATE, MAX_SEEDED_EVENT_ID, Event, EventQuery
from .faults import DEFAULT_PATH, FaultAction, FaultRule
from .ids import unreachable
from .journal import JournalFilter
from .model import STATES, TARGET_STATES, format_time, parse_time
from .objects import LOG_CONTAINER, MAX_CONTENT_TYPE_LENGTH, check_container_name, check_object_name


class _Lenient(Schema):
    """Unknown members are ignored: strict on what the guide says, permissive on the rest."""

    class Meta:
        unknown = EXCLUDE


class StrictBoolean(fields.Boolean):
    """Only JSON `true`/`false`; marshmallow's Boolean would also take 1, "yes"..."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictInteger(fields.Integer):
    """Only JSON integers: no floats, no strings of digits, no booleans."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class IntegerOrString(fields.Field[int | str]):
    """The guide sends `exponent` as the bare integer 10001; a string is accepted too."""

    default_error_messages = {"invalid": "Not a valid integer or string."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | str:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.make_error("invalid")
        return value


class BoundedList(fields.List[Any]):
    """A list of at most `max_items`, counted before any item is read: a 1 MiB body of
    empty objects must not cost a validation of each of its third of a million items."""

    def __init__(self, cls_or_instance: Any, *, max_items: int, **kwargs: Any) -> None:
        super().__init__(cls_or_instance, **kwargs)
        self.max_items = max_items

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, list) and len(value) > self.max_items:
            raise ValidationError(f"at most {self.max_items} items, not {len(value)}")
        return super()._deserialize(value, attr, data, **kwargs)


MAX_ADDRESSES = 256


def _text(**kwargs: Any) -> fields.String:
    return fields.String(required=True, **kwargs)


class AddressSchema(_Lenient):
    version = StrictInteger(required=True, validate=validate.OneOf([4, 6]))
    addr = _text()


class MachineSchema(_Lenient):
    id = _text()


class OperatingSystemSchema(_Lenient):
    name = _text()
    version = _text()
    architecture = _text()


class HostSchema(_Lenient):
    flavor = _text()
    # SPEC: the guide allows a null region for the `nova` flavor.
    region = fields.String(required=True, allow_none=True)
    machine = fields.Nested(MachineSchema, required=True)
    os = fields.Nested(OperatingSystemSchema, required=True)
    fingerprint = _text()
    addresses = BoundedList(fields.Nested(AddressSchema), max_items=MAX_ADDRESSES, required=True)


class RsaPublicKeySchema(_Lenient):
    modulus = _text()
    exponent = IntegerOrString(required=True, metadata={"oneOf": [{"type": "integer"}, {"type": "string"}]})


class VaultSchema(_Lenient):
    use_internal = StrictBoolean(load_default=False)


class AgentRegistrationSchema(_Lenient):
    """POST /v2/{project_id}/agents: the body an agent sends to register."""

    name = _text()
    version = _text()
    host = fields.Nested(HostSchema, required=True)
    rsa_public_key = fields.Nested(RsaPublicKeySchema, required=True)
    vault = fields.Nested(VaultSchema, load_default=lambda: {"use_internal": False})


class LinkSchema(Schema):
    href = fields.String(required=True)
    rel = fields.String(required=True)


class AgentSchema(Schema):
    """An agent as the service shows it; `password` only in the 201 of its registration."""

    id = fields.String()
    project_id = fields.String()
    name = fields.String()
    version = fields.String()
    host = fields.Nested(HostSchema)
    rsa_public_key = fields.Nested(RsaPublicKeySchema)
    vault = fields.Dict()
    enabled = fields.Boolean()
    log_level = fields.String()
    registered_time = fields.String()
    password = fields.String()
    links = fields.List(fields.Nested(LinkSchema))


class LogFileSchema(Schema):
    """A log file as the service shows it."""

    id = fields.String()
    date = fields.String()
    state = fields.String(validate=validate.OneOf(STATES))
    links = fields.List(fields.Nested(LinkSchema))


class LogFileListSchema(Schema):
    logfiles = fields.List(fields.Nested(LogFileSchema))
    links = fields.List(fields.Nested(LinkSchema))


class PatchOperationSchema(_Lenient):
    """One RFC 6902 operation as this resource allows it; other members are ignored (RFC 6902 §4)."""

    op = fields.String(
        required=True,
        validate=validate.Equal("replace", error="must be 'replace', the only operation allowed"),
    )
    path = fields.String(
        required=True,
        validate=validate.Equal("/state", error="must be '/state', the only path that can change"),
    )
    value = fields.Raw(
        required=True,
        validate=validate.OneOf(TARGET_STATES, error="must be 'started' or 'completed'"),
        metadata={"type": "string", "enum": list(TARGET_STATES)},
    )


def _boolean_only(value: Any) -> None:
    # OneOf([True, False]) would take 1 and 0, which compare equal to them.
    if not isinstance(value, bool):
        raise ValidationError("must be true or false")


class AgentPatchOperationSchema(_Lenient):
    """One operation of an agent PATCH: the guide lets a client change only `enabled`."""

    op = fields.String(
        required=True,
        validate=validate.Equal("replace", error="must be 'replace', the only operation allowed"),
    )
    path = fields.String(
        required=True,
        validate=validate.Equal("/enabled", error="must be '/enabled', the only path that can change"),
    )
    value = fields.Raw(required=True, validate=_boolean_only, metadata={"type": "boolean"})


class AuthOperatingSystemSchema(_Lenient):
    name = fields.String()
    version = fields.String()
    architecture = fields.String()


class AuthHostSchema(_Lenient):
    os = fields.Nested(AuthOperatingSystemSchema)
    fingerprint = fields.String()
    addresses = BoundedList(fields.Nested(AddressSchema), max_items=MAX_ADDRESSES)


class AgentAuthSchema(_Lenient):
    """POST /v2/{project_id}/agents/tokens: `id` and `password` decide; the rest describes
    the host (its `fingerprint` is compared with the registered one)."""

    id = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    project_id = fields.String()
    name = fields.String()
    version = fields.String()
    host = fields.Nested(AuthHostSchema)


class TokenSchema(Schema):
    id = fields.String()
    expires = fields.String()


class AgentTokenSchema(Schema):
    """The 200 of an agent's authentication."""

    token = fields.Nested(TokenSchema)


class AgentStatusSchema(Schema):
    busy = fields.Boolean()
    online = fields.Boolean()


MAX_EVENT_NAME = 255


class PostedEventSchema(_Lenient):
    """POST .../events: the guide's examples are `{"event": "startup"}` and
    `{"event": "agent_activate", "mode": "active"}`."""

    event = fields.String(required=True, validate=validate.Length(min=1, max=MAX_EVENT_NAME))
    mode = fields.String(validate=validate.OneOf(["active", "idle"], error="must be 'active' or 'idle'"))

    @validates_schema
    def activate_has_mode(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("event") == AGENT_ACTIVATE and "mode" not in data:
            raise ValidationError("agent_activate needs a mode, 'active' or 'idle'", "mode")


class EventSchema(Schema):
    """An event as a feed shows it (the members besides these depend on its type)."""

    id = fields.String(metadata={"description": "A decimal number, increasing, never reused."})
    time = fields.String()
    event = fields.String()
    agent = fields.Dict()
    request_id = fields.String()
    mode = fields.String()
    links = fields.List(fields.Nested(LinkSchema))


class EventListSchema(Schema):
    events = fields.List(fields.Nested(EventSchema))
    links = fields.List(fields.Nested(LinkSchema))


class AgentListSchema(Schema):
    agents = fields.List(fields.Nested(AgentSchema))
    links = fields.List(fields.Nested(LinkSchema))


class FaultSchema(Schema):
    """The guide's fault body, for every 4xx and 5xx."""

    message = fields.String(required=True)
    errors = fields.List(fields.String(), required=True)


_PLAIN = {
    "Invalid input type.": "must be a JSON object",
}


def flatten_messages(messages: Any, *, style: str = "dotted", where: str = "") -> list[str]:
    """One `where: problem` entry per problem in marshmallow's nested `messages`.

    style "dotted" writes `host.os.name`; style "pointer" writes `/0/path` (JSON Pointer).
    """
    out: list[str] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key == "_schema":
                out.extend(flatten_messages(value, style=style, where=where))
                continue
            if style == "pointer":
                child = f"{where}/{key}"
            elif where:
                child = f"{where}.{key}"
            else:
                child = str(key)
            out.extend(flatten_messages(value, style=style, where=child))
    elif isinstance(messages, list | tuple):
        for item in messages:
            out.extend(flatten_messages(item, style=style, where=where))
    else:
        text = _PLAIN.get(str(messages), str(messages))
        out.append(f"{where or 'body'}: {text}")
    return out


class IsoTime(fields.Field[datetime]):
    """ISO-8601 with a timezone (`Z` or an offset), as the service writes times."""

    default_error_messages = {"invalid": "Not an ISO-8601 time with a timezone."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return parse_time(value)
        except ValueError:
            raise self.make_error("invalid") from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else format_time(value)


# Query strings: every value is text, so numbers are checked as digits before they are numbers.

DEFAULT_LIMIT = 100  # (ours) as the guide's other lists page, 100 by default
MAX_LIMIT = 1000
MAX_QUERY_DIGITS = 9  # int() of a long digit string costs quadratic time; nothing here needs more
MAX_GLOB_LENGTH = 1024  # a path glob: longer than any path the request line lets through
MAX_ID_LENGTH = 1024


class QueryInteger(fields.Integer):
    """A whole number written in ASCII digits, at most MAX_QUERY_DIGITS of them."""

    default_error_messages = {"invalid": f"Not a whole number of at most {MAX_QUERY_DIGITS} digits."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        text = value if isinstance(value, str) else ""
        if not (text.isascii() and text.isdigit() and len(text) <= MAX_QUERY_DIGITS):
            raise self.make_error("invalid")
        return int(text)


class PageQuerySchema(_Lenient):
    """`?limit=&marker=` of a list (other parameters are ignored, as the guide says nothing of them)."""

    limit = QueryInteger(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT, error=f"must be an integer from 1 to {MAX_LIMIT}"),
    )
    marker = fields.String(
        validate=validate.Length(min=1, max=MAX_ID_LENGTH),
        metadata={"description": "The last id of the previous page; one that is not in the list is a 400."},
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


class EventQuerySchema(_Lenient):
    """`?marker=&limit=&sort_dir=` of an events feed."""

    marker = EventMarker(
        metadata={"description": "An event id: ascending, only newer events; descending, only older ones."}
    )
    limit = QueryInteger(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT, error=f"must be an integer from 1 to {MAX_LIMIT}"),
    )
    sort_dir = fields.String(
        load_default="asc", validate=validate.OneOf(["asc", "desc"], error="must be 'asc' or 'desc'")
    )

    @post_load
    def make_query(self, data: dict[str, Any], **kwargs: Any) -> EventQuery:
        marker: str | None = data.get("marker")
        return EventQuery(
            limit=data["limit"],
            marker=None if marker is None else int(marker),
            descending=data["sort_dir"] == "desc",
        )


MAX_SEQ_DIGITS = 18  # a journal entry's number fits a signed 64-bit integer


class JournalSeq(fields.Integer):
    """A journal entry's `seq`: 1 to MAX_SEQ_DIGITS ASCII digits."""

    default_error_messages = {"invalid": f"Not a journal entry number (1 to {MAX_SEQ_DIGITS} ASCII digits)."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        text = value if isinstance(value, str) else ""
        if not (text.isascii() and text.isdigit() and len(text) <= MAX_SEQ_DIGITS):
            raise self.make_error("invalid")
        return int(text)


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


# The control plane (/_control/): seeding documents, fault rules, clock commands.


# (ours) What one state document may create, so that a document's cost is bounded before
# anything is built; `generate` counts towards the log files.
MAX_SEEDED_AGENTS = 100_000
MAX_SEEDED_LOGFILES = 2_000_000
MAX_SEEDED_EVENTS = 100_000
# (ours) Seeded objects are a test's small fixtures (a log to download), not bulk data.
MAX_SEEDED_OBJECTS = 1_000
MAX_SEEDED_OBJECT_BYTES = 1024 * 1024
_ID = validate.Length(min=1, max=MAX_ID_LENGTH)


def _in_urls(value: str) -> None:
    """A seeded id that the /v2 routes name must be one a URL can carry (ids.unreachable)."""
    reason = unreachable(value)
    if reason is not None:
        raise ValidationError(reason)


def _agent_id_in_urls(value: str) -> None:
    """As `_in_urls`; and `tokens` under `/agents/` is the authentication route, not an agent."""
    _in_urls(value)
    if value == "tokens":
        raise ValidationError("must not be 'tokens': /agents/tokens is the authentication route")


_URL_ID = validate.And(_ID, _in_urls)
_URL_AGENT_ID = validate.And(_ID, _agent_id_in_urls)


MAX_ROLES = 100


class SeedAgentSchema(Schema):
    """An agent as exported, or as a test seeds it (only `project_id` is required).

    `password` (write-only) or `password_sha256` (what an export shows) let the agent
    authenticate; `fingerprint` sets its registration's `host.fingerprint`; `roles` are what
    its tokens carry (null: every right on its project).
    """

    id = fields.String(validate=_URL_AGENT_ID)
    project_id = fields.String(required=True, validate=_URL_ID)
    registered_time = IsoTime()
    enabled = StrictBoolean(load_default=True)
    log_level = fields.String(load_default="warn", validate=validate.Length(max=32))
    registration = fields.Nested(AgentRegistrationSchema)
    password = fields.String(load_only=True, validate=validate.Length(min=1, max=MAX_ID_LENGTH))
    password_sha256 = fields.String(
        validate=validate.Regexp(r"\A([0-9a-f]{64})?\Z", error="must be 64 lower-case hex digits")
    )
    fingerprint = fields.String(load_only=True, validate=validate.Length(max=MAX_ID_LENGTH))
    roles = BoundedList(
        fields.String(validate=validate.Length(min=1, max=128)),
        max_items=MAX_ROLES,
        allow_none=True,
        load_default=None,
    )

    @validates_schema
    def one_password(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "password" in data and "password_sha256" in data:
            raise ValidationError("give 'password' or 'password_sha256', not both", "password")


class SeedEventSchema(Schema):
    """An event as exported, or as a test seeds it, in the feed's own members. An agent's
    event takes its agent's project (and shows `agent: {"id"}` unless given); a project-wide
    one (no `agent_id`) needs `project_id`. An `id` (as exported) is kept, so an export
    imported again is the same feed; an event without one gets a new number."""

    # At most 15 digits (events.MAX_SEEDED_EVENT_ID): the counter moves past a seeded number,
    # and must keep room below the feeds' 18-digit markers.
    id = EventMarker(digits=len(str(MAX_SEEDED_EVENT_ID)))
    agent_id = fields.String(validate=_ID, allow_none=True)
    project_id = fields.String(validate=_URL_ID)
    time = IsoTime()
    event = fields.String(required=True, validate=validate.Length(min=1, max=MAX_EVENT_NAME))
    agent = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=64)))
    request_id = fields.String(validate=validate.Length(max=MAX_ID_LENGTH))
    mode = fields.String(validate=validate.Length(max=64))
    links = BoundedList(fields.Nested(LinkSchema), max_items=20)

    @validates_schema
    def has_a_project(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("agent_id") is None and "project_id" not in data:
            raise ValidationError("an event without 'agent_id' needs a 'project_id'", "project_id")

    @pre_dump
    def flatten(self, event: Any, **kwargs: Any) -> Any:
        """An Event's details are members of its own, as in a feed."""
        if isinstance(event, Event):
            return {
                "id": event.id,
                "agent_id": event.agent_id,
                "project_id": event.project_id,
                "time": event.time,
                "event": event.event,
                **event.details,
            }
        return event


class SeedLogFileSchema(Schema):
    """A log file as exported, or as a test seeds it: any state, any date."""

    id = fields.String(validate=_URL_ID)
    agent_id = fields.String(required=True, validate=_ID)
    date = IsoTime()
    state = fields.String(load_default=STATES[0], validate=validate.OneOf(STATES))


class GenerateSchema(Schema):
    """Bulk seeding: `count` log files for one agent, with fresh ids, all alike."""

    agent_id = fields.String(required=True, validate=_ID)
    count = StrictInteger(required=True, validate=validate.Range(1, MAX_SEEDED_LOGFILES))
    date = IsoTime()
    state = fields.String(load_default=STATES[0], validate=validate.OneOf(STATES))


class Base64Bytes(fields.Field[bytes]):
    """Bytes as standard base64 text, at most `max_bytes` once decoded."""

    def __init__(self, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_bytes = max_bytes

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bytes:
        # 4 characters carry 3 bytes: a text that cannot fit is refused before it is decoded.
        if not isinstance(value, str) or len(value) > (self.max_bytes + 2) // 3 * 4 + 4:
            raise ValidationError(f"base64 of at most {self.max_bytes:,} bytes")
        try:
            decoded = base64.b64decode(value.encode("ascii"), validate=True)
        except (ValueError, binascii.Error):
            raise ValidationError("not standard base64") from None
        if len(decoded) > self.max_bytes:
            raise ValidationError(f"base64 of at most {self.max_bytes:,} bytes")
        return decoded


def _domain_rule(check: Callable[[str], None]) -> Callable[[str], None]:
    """A marshmallow validator that applies one of the model's own checks (objects.py), so a
    seeded name meets the rule an upload meets, written once."""

    def validator(value: str) -> None:
        try:
            check(value)
        except Invalid as exc:
            raise ValidationError(exc.errors[0]) from None

    return validator


class SeedObjectSchema(Schema):
    """An object as exported (no bytes: skipped on import), or as a test seeds it with
    `content_base64`; `bytes` and `hash`, when given with the content, must be its own."""

    project_id = fields.String(required=True, validate=_ID)
    container = fields.String(
        load_default=LOG_CONTAINER,
        validate=_domain_rule(check_container_name),
    )
    name = fields.String(required=True, validate=_domain_rule(check_object_name))
    bytes = StrictInteger(validate=validate.Range(0, None))
    hash = fields.String(validate=validate.Regexp("^[0-9a-f]{32}$"))
    content_type = fields.String(validate=validate.Length(min=1, max=MAX_CONTENT_TYPE_LENGTH))
    last_modified = IsoTime()
    content_base64 = Base64Bytes(MAX_SEEDED_OBJECT_BYTES, load_only=True)

    @validates_schema
    def consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        content = data.get("content_base64")
        if content is None:
            return
        if "bytes" in data and data["bytes"] != len(content):
            raise ValidationError(f"the content is {len(content)} bytes", "bytes")
        digest = hashlib.md5(content, usedforsecurity=False).hexdigest()
        if "hash" in data and data["hash"] != digest:
            raise ValidationError(f"the content's MD5 is {digest}", "hash")


class StateDocumentSchema(Schema):
    """GET /_control/state: everything the service holds, in the form PUT and POST take back.

    PUT and POST read a document item by item (seeding.read_state_document) with the item
    schemas above, so that a large one is never held twice; this schema dumps the export.
    """

    agents = fields.List(fields.Nested(SeedAgentSchema), load_default=list)
    logfiles = fields.List(fields.Nested(SeedLogFileSchema), load_default=list)
    generate = fields.List(fields.Nested(GenerateSchema), load_default=list, load_only=True)
    events = fields.List(fields.Nested(SeedEventSchema), load_default=list)
    objects = fields.List(fields.Nested(SeedObjectSchema), load_default=list)


class StrictNumber(fields.Float):
    """Only JSON numbers (no strings of digits, no booleans); NaN and infinities are refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


MAX_LATENCY_SECONDS = 60
MAX_FAULT_HEADERS = 20
# RFC 9110: a name is a token; a value is visible Latin-1 with inner spaces, never CR or LF.
HEADER_NAME = r"\A[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}\Z"
HEADER_VALUE = r"\A[\x21-\x7e\xa0-\xff]([\x20-\x7e\t\xa0-\xff]{0,1022}[\x21-\x7e\xa0-\xff])?\Z|\A\Z"
FRAMING_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "trailer", "te"}
)
MAX_FAULT_TEXT = 1024  # a message or one of its errors
MAX_FAULT_ERRORS = 100
# (ours) A `body` rule's answer: a test's broken page or bad JSON, not bulk data.
MAX_FAULT_BODY_BYTES = 64 * 1024
# (ours) A `garbage` rule's random bytes: enough to fill any client's first read.
MAX_GARBAGE_BYTES = 64 * 1024
DEFAULT_GARBAGE_BYTES = 1024
# (ours) A `trickle` rule's bytes per second: 1 (a stall) to 10 MB/s (a slow link).
MAX_TRICKLE_RATE = 10_000_000
DEFAULT_TRICKLE_RATE = 1024
# Statuses whose answer has no body (RFC 9110): a `body` rule with one gives none.
BODILESS_STATUSES = frozenset({*range(100, 200), 204, 304})
_ACTIONS = [action.value for action in FaultAction]
# Each action-specific field, and the actions that have it: on any other it is a 400, and a
# listed rule shows it null, so that a rule never shows an answer it does not give.
_FIELD_OWNERS: dict[str, frozenset[FaultAction]] = {
    "status": frozenset({FaultAction.STATUS, FaultAction.BODY}),
    "latency": frozenset({FaultAction.LATENCY}),
    "body": frozenset({FaultAction.BODY}),
    "body_base64": frozenset({FaultAction.BODY}),
    "size": frozenset({FaultAction.GARBAGE}),
    "rate": frozenset({FaultAction.TRICKLE}),
}


def _utf8_within(limit: int) -> Callable[[str], None]:
    """A validator: the text is UTF-8 (no lone surrogates) of at most `limit` bytes."""

    def validator(value: str) -> None:
        try:
            size = len(value.encode())
        except UnicodeEncodeError:
            raise ValidationError(
                "not UTF-8 text (a lone surrogate?): give the bytes as body_base64"
            ) from None
        if size > limit:
            raise ValidationError(f"at most {limit:,} bytes of UTF-8, not {size:,}")

    return validator


def _base64_within(limit: int) -> Callable[[str], None]:
    """A validator: standard base64 of at most `limit` bytes once decoded (refused before decoding)."""

    def validator(value: str) -> None:
        Base64Bytes(limit).deserialize(value)

    return validator


class FaultRuleSchema(Schema):
    """POST /_control/faults: what to match, what to answer, and when; loads into a FaultRule.

    Each action has its own fields (_FIELD_OWNERS): `status` (a `status` rule's 400-599,
    default 503; a `body` rule's 100-599, default 200), `latency`, `body` or `body_base64`,
    `size` (garbage) and `rate` (trickle); each is null on the other kinds.
    """

    action = fields.String(load_default=FaultAction.STATUS.value, validate=validate.OneOf(_ACTIONS))
    method = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 32))
    path = fields.String(load_default=DEFAULT_PATH, validate=validate.Length(1, MAX_GLOB_LENGTH))
    header = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 256))
    header_value = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=MAX_GLOB_LENGTH)
    )
    status = StrictInteger(load_default=None, allow_none=True, validate=validate.Range(100, 599))
    message = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_FAULT_TEXT))
    errors = BoundedList(
        fields.String(validate=validate.Length(max=MAX_FAULT_TEXT)),
        max_items=MAX_FAULT_ERRORS,
        load_default=list,
    )
    headers = fields.Dict(
        keys=fields.String(validate=validate.Regexp(HEADER_NAME, error="not an HTTP header name")),
        values=fields.String(validate=validate.Regexp(HEADER_VALUE, error="not a one-line Latin-1 value")),
        load_default=dict,
        validate=validate.Length(max=MAX_FAULT_HEADERS),
    )
    latency = StrictNumber(
        load_default=None, allow_none=True, validate=validate.Range(0, MAX_LATENCY_SECONDS)
    )
    body = fields.String(load_default=None, allow_none=True, validate=_utf8_within(MAX_FAULT_BODY_BYTES))
    body_base64 = fields.String(
        load_default=None, allow_none=True, validate=_base64_within(MAX_FAULT_BODY_BYTES)
    )
    size = StrictInteger(load_default=None, allow_none=True, validate=validate.Range(1, MAX_GARBAGE_BYTES))
    rate = StrictInteger(load_default=None, allow_none=True, validate=validate.Range(1, MAX_TRICKLE_RATE))
    times = StrictInteger(load_default=1, allow_none=True, validate=validate.Range(min=1))
    every = StrictInteger(load_default=1, validate=validate.Range(min=1))
    probability = StrictNumber(load_default=1.0, validate=validate.Range(0, 1))
    seed = StrictInteger(load_default=0)
    # Shown, never loaded: the rule's id and counters.
    id = fields.String(dump_only=True)
    matched = fields.Integer(dump_only=True)
    fired = fields.Integer(dump_only=True)

    @validates("headers")
    def no_framing_headers(self, value: dict[str, str], **kwargs: Any) -> None:
        """The server frames the answer; a rule that set these would break the connection."""
        framing = sorted(name for name in value if name.lower() in FRAMING_HEADERS)
        if framing:
            raise ValidationError(f"{', '.join(framing)}: set by the server, not by a rule")

    @validates_schema
    def fields_of_the_action(self, data: dict[str, Any], **kwargs: Any) -> None:
        action = data.get("action")
        for name, owners in _FIELD_OWNERS.items():
            if data.get(name) is not None and action not in owners:
                kinds = " or ".join(f"'{owner}'" for owner in sorted(owners))
                raise ValidationError(f"only a {kinds} rule has a {name}, not a '{action}' rule", name)
        status = data.get("status")
        if action == FaultAction.STATUS and status is not None and status < 400:
            raise ValidationError("a 'status' rule answers 400-599 (a 'body' rule answers any)", "status")
        if data.get("body") is not None and data.get("body_base64") is not None:
            raise ValidationError("give 'body' or 'body_base64', not both", "body")
        has_body = bool(data.get("body") or data.get("body_base64"))
        if has_body and status in BODILESS_STATUSES:
            raise ValidationError(f"a {status} answer has no body (RFC 9110)", "body")

    @post_load
    def make_rule(self, data: dict[str, Any], **kwargs: Any) -> FaultRule:
        """A rule without its id, which the caller gives it; each action's defaults filled in."""
        action = FaultAction(data["action"])
        defaults: dict[FaultAction, tuple[str, Any]] = {
            FaultAction.STATUS: ("status", 503),
            FaultAction.BODY: ("status", 200),
            FaultAction.LATENCY: ("latency", 0.0),
            FaultAction.GARBAGE: ("size", DEFAULT_GARBAGE_BYTES),
            FaultAction.TRICKLE: ("rate", DEFAULT_TRICKLE_RATE),
        }
        if action in defaults:
            name, value = defaults[action]
            if data[name] is None:
                data[name] = value
        return FaultRule.from_fields({**data, "id": ""})


MAX_ADVANCE_SECONDS = 100 * 365 * 24 * 3600  # a century either way


class NowOrTime(IsoTime):
    """`"now"` (None: the service's current time) or an ISO-8601 time."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return None if value == "now" else super()._deserialize(value, attr, data, **kwargs)


class ClockCommandSchema(Schema):
    """POST /_control/clock: exactly one of freeze (a time, or "now"), advance (seconds), real."""

    freeze = NowOrTime()
    advance = StrictNumber(validate=validate.Range(-MAX_ADVANCE_SECONDS, MAX_ADVANCE_SECONDS))
    real = StrictBoolean(validate=validate.Equal(True, error="must be true"))

    @validates_schema
    def exactly_one(self, data: dict[str, Any], **kwargs: Any) -> None:
        if len(data) != 1:
            raise ValidationError("give exactly one of 'freeze', 'advance', 'real'", "body")

    @post_load
    def make_command(self, data: dict[str, Any], **kwargs: Any) -> ClockCommand:
        if "freeze" in data:
            return ClockCommand(freeze=True, at=data["freeze"])
        if "advance" in data:
            return ClockCommand(advance=timedelta(seconds=data["advance"]))
        return ClockCommand()


STATE_DOCUMENT = StateDocumentSchema()
FAULT_RULE = FaultRuleSchema()
CLOCK_COMMAND = ClockCommandSchema()
PAGE_QUERY = PageQuerySchema()
JOURNAL_QUERY = JournalQuerySchema()
JOURNAL_WAIT = JournalWaitSchema()


REGISTRATION = AgentRegistrationSchema()
PATCH_OPERATION = PatchOperationSchema()
AGENT_PATCH_OPERATION = AgentPatchOperationSchema()
AGENT_AUTH = AgentAuthSchema()
POSTED_EVENT = PostedEventSchema()
EVENT_QUERY = EventQuerySchema()

__all__ = [
    "CLOCK_COMMAND",
    "FAULT_RULE",
    "JOURNAL_QUERY",
    "PAGE_QUERY",
    "PATCH_OPERATION",
    "REGISTRATION",
    "STATE_DOCUMENT",
    "ValidationError",
    "flatten_messages",
]
