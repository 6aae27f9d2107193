"""The v2 API's bodies: what an agent or a user sends (load) and what the service shows (dump)."""

from __future__ import annotations

from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from ..events import ACTIVATE_MODES, AGENT_ACTIVATE, AGENT_POSTED, PROJECT_POSTED
from ..model import STATES, TARGET_STATES
from .base import BoundedList, IntegerOrString, Lenient, StrictBoolean, StrictInteger

MAX_ADDRESSES = 256


def _text(**kwargs: Any) -> fields.String:
    return fields.String(required=True, **kwargs)


class AddressSchema(Lenient):
    version = StrictInteger(required=True, validate=validate.OneOf([4, 6]))
    addr = _text()


class MachineSchema(Lenient):
    id = _text()


class OperatingSystemSchema(Lenient):
    name = _text()
    version = _text()
    architecture = _text()


class HostSchema(Lenient):
    flavor = _text()
    # SPEC: the guide allows a null region for the `nova` flavor.
    region = fields.String(required=True, allow_none=True)
    machine = fields.Nested(MachineSchema, required=True)
    os = fields.Nested(OperatingSystemSchema, required=True)
    fingerprint = _text()
    addresses = BoundedList(fields.Nested(AddressSchema), max_items=MAX_ADDRESSES, required=True)


class RsaPublicKeySchema(Lenient):
    modulus = _text()
    exponent = IntegerOrString(required=True, metadata={"oneOf": [{"type": "integer"}, {"type": "string"}]})


class VaultSchema(Lenient):
    use_internal = StrictBoolean(load_default=False)


class AgentRegistrationSchema(Lenient):
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


def _only_replace() -> fields.String:
    """A JSON Patch `op` that must be `replace`: every PATCH of the guide only replaces."""
    return fields.String(
        required=True,
        validate=validate.Equal("replace", error="must be 'replace', the only operation allowed"),
    )


def _only_path(path: str) -> fields.String:
    """A JSON Patch `path` that must be `path`, the one member the resource lets a client change."""
    return fields.String(
        required=True,
        validate=validate.Equal(path, error=f"must be '{path}', the only path that can change"),
    )


class PatchOperationSchema(Lenient):
    """One RFC 6902 operation as this resource allows it; other members are ignored (RFC 6902 §4)."""

    op = _only_replace()
    path = _only_path("/state")
    value = fields.Raw(
        required=True,
        validate=validate.OneOf(TARGET_STATES, error="must be 'started' or 'completed'"),
        metadata={"type": "string", "enum": list(TARGET_STATES)},
    )


def _boolean_only(value: Any) -> None:
    # OneOf([True, False]) would take 1 and 0, which compare equal to them.
    if not isinstance(value, bool):
        raise ValidationError("must be true or false")


class AgentPatchOperationSchema(Lenient):
    """One operation of an agent PATCH: the guide lets a client change only `enabled`."""

    op = _only_replace()
    path = _only_path("/enabled")
    value = fields.Raw(required=True, validate=_boolean_only, metadata={"type": "boolean"})


class AuthOperatingSystemSchema(Lenient):
    name = fields.String()
    version = fields.String()
    architecture = fields.String()


class AuthHostSchema(Lenient):
    os = fields.Nested(AuthOperatingSystemSchema)
    fingerprint = fields.String()
    addresses = BoundedList(fields.Nested(AddressSchema), max_items=MAX_ADDRESSES)


class AgentAuthSchema(Lenient):
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


class ProjectEventSchema(Lenient):
    """POST /v2/{p}/events: the page's `{"event": "agent_activate", "mode": "active"}`, whose
    `mode` is one of the page's `idle`, `active`, `real_time`. Other members are ignored."""

    event = fields.String(
        required=True,
        validate=validate.OneOf(PROJECT_POSTED, error=f"must be one of: {', '.join(PROJECT_POSTED)}"),
    )
    mode = fields.String(
        validate=validate.OneOf(ACTIVATE_MODES, error=f"must be one of: {', '.join(ACTIVATE_MODES)}"),
        metadata={"description": "Required with agent_activate, and shown on it only; checked when given."},
    )

    @validates_schema
    def activate_has_mode(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("event") == AGENT_ACTIVATE and "mode" not in data:
            raise ValidationError(f"agent_activate needs a mode, one of: {', '.join(ACTIVATE_MODES)}", "mode")


class AgentEventSchema(ProjectEventSchema):
    """POST /v2/{p}/agents/{id}/events: the page's `startup` and `shutdown`, (ours) `heartbeat`,
    and `agent_activate` for this agent alone (the page's note)."""

    event = fields.String(
        required=True,
        validate=validate.OneOf(AGENT_POSTED, error=f"must be one of: {', '.join(AGENT_POSTED)}"),
    )


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


REGISTRATION = AgentRegistrationSchema()
PATCH_OPERATION = PatchOperationSchema()
AGENT_PATCH_OPERATION = AgentPatchOperationSchema()
AGENT_AUTH = AgentAuthSchema()
AGENT_EVENT = AgentEventSchema()
PROJECT_EVENT = ProjectEventSchema()
