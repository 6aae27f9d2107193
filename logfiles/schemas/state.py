"""State documents of the control plane: what a seed or an import may hold, and the export."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from marshmallow import (
    INCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_dump,
    validate,
    validates_schema,
)

from ..activities import JOB_STATES
from ..documents import MAX_INDEXED
from ..errors import Invalid
from ..events import MAX_SEEDED_EVENT_ID, Event
from ..ids import unreachable
from ..kinds import ALL_KINDS
from ..model import STATES
from ..objects import LOG_CONTAINER, MAX_CONTENT_TYPE_LENGTH, check_container_name, check_object_name
from .base import MAX_ID_LENGTH, Base64Bytes, BoundedList, IsoTime, StrictBoolean, StrictInteger
from .queries import EventMarker
from .v2 import MAX_EVENT_NAME, LinkSchema, StoredRegistrationSchema

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
    registration = fields.Nested(StoredRegistrationSchema)
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


# (ours) Documents one state document may hold: `documents`, `configurations` and `jobs`
# together; an indexed value (a job's time, state, configuration) is short: an index entry.
MAX_SEEDED_DOCUMENTS = 100_000
MAX_KEY_VALUE_LENGTH = 255
MAX_SEEDED_BODY_MEMBERS = 100
_KINDS = [kind.name for kind in ALL_KINDS]


class SeedDocumentSchema(Schema):
    """A document as exported (store.documents.export_documents): any kind of kinds.ALL_KINDS,
    imported as it is, version and all, so that an export imported again is the same store."""

    kind = fields.String(required=True, validate=validate.OneOf(_KINDS))
    project_id = fields.String(required=True, validate=_URL_ID)
    id = fields.String(required=True, validate=_URL_ID)
    parent = fields.String(required=True, allow_none=True, validate=_ID)
    version = StrictInteger(required=True, validate=validate.Range(1, 2**53))
    keys = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=64)),
        values=fields.String(validate=validate.Length(max=MAX_KEY_VALUE_LENGTH)),
        validate=validate.Length(max=MAX_INDEXED),
        load_default=dict,
    )
    body = fields.Dict(keys=fields.String(), required=True)


class SeedConfigurationSchema(Schema):
    """A configuration as a test seeds it: the create page's body (its other members are kept
    as given, at most MAX_SEEDED_BODY_MEMBERS), `agent_id` required, `id` optional. Kept as
    a plain document of kind `configuration`; the configurations' own schema checks the
    body once it is part of the service (to be refined at integration)."""

    class Meta:
        unknown = INCLUDE

    id = fields.String(validate=_URL_ID)
    agent_id = fields.String(required=True, validate=_ID)
    name = fields.String(validate=validate.Length(min=1, max=MAX_ID_LENGTH))

    @validates_schema(pass_original=True)
    def bounded(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        if isinstance(original, dict) and len(original) > MAX_SEEDED_BODY_MEMBERS:
            raise ValidationError(f"at most {MAX_SEEDED_BODY_MEMBERS} members", "_schema")


class SeedJobSchema(Schema):
    """A backup, restore or cleanup as a test seeds it: what its activity shows (activities.Job).
    `state` is one of its kind's (default `completed`); `last_updated_time` the seed's moment
    unless given; `backup_id` only for a restore."""

    type = fields.String(required=True, validate=validate.OneOf(list(JOB_STATES)))
    id = fields.String(validate=_URL_ID)
    agent_id = fields.String(required=True, validate=_ID)
    configuration_id = fields.String(allow_none=True, validate=_ID)
    backup_id = fields.String(allow_none=True, validate=_ID)
    state = fields.String(load_default="completed", validate=validate.Length(min=1, max=64))
    last_updated_time = IsoTime()

    @validates_schema
    def fits_its_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        states = JOB_STATES.get(data.get("type", ""))
        if states is None:
            return
        if data["state"] not in states:
            raise ValidationError(f"a {data['type']} is in one of {', '.join(states)}", "state")
        if data.get("backup_id") is not None and data["type"] != "restore":
            raise ValidationError("only a restore names a backup", "backup_id")


class StateDocumentSchema(Schema):
    """GET /_control/state: everything the service holds, in the form PUT and POST take back.

    PUT and POST read a document item by item (state_document.read_state_document) with the item
    schemas above, so that a large one is never held twice; the export is streamed a member at
    a time (api/control.py), each with the item schema this schema names for it.
    """

    agents = fields.List(fields.Nested(SeedAgentSchema), load_default=list)
    logfiles = fields.List(fields.Nested(SeedLogFileSchema), load_default=list)
    generate = fields.List(fields.Nested(GenerateSchema), load_default=list, load_only=True)
    events = fields.List(fields.Nested(SeedEventSchema), load_default=list)
    objects = fields.List(fields.Nested(SeedObjectSchema), load_default=list)
    documents = fields.List(fields.Nested(SeedDocumentSchema), load_default=list)
    configurations = fields.List(fields.Nested(SeedConfigurationSchema), load_default=list, load_only=True)
    jobs = fields.List(fields.Nested(SeedJobSchema), load_default=list, load_only=True)


STATE_DOCUMENT = StateDocumentSchema()
