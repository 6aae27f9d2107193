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

from ..config import REGIONS
from ..errors import Invalid
from ..events import ACTIVATE_MODES, AGENT_ACTIVATE, AGENT_POSTED, PROJECT_POSTED
from ..model import AGENT_PATCH_PATHS, LOG_LEVELS, STATES, TARGET_STATES, agent_patch_value_problem
from ..objects import check_container_name
from .base import MAX_ID_LENGTH, BoundedList, IntegerOrString, Lenient, StrictBoolean, StrictInteger

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
    """A registration's `vault`: the register page's default `use_internal` depends on the
    host's flavor (model.default_use_internal), so an absent one stays absent here."""

    use_internal = StrictBoolean()


class AgentRegistrationSchema(Lenient):
    """POST /v2/{project_id}/agents: the body an agent sends to register."""

    name = _text()
    version = _text()
    host = fields.Nested(HostSchema, required=True)
    rsa_public_key = fields.Nested(RsaPublicKeySchema, required=True)
    vault = fields.Nested(VaultSchema)


def _container_name(value: str) -> None:
    try:
        check_container_name(value)
    except Invalid as exc:
        raise ValidationError(exc.errors[0].split(": ", 1)[-1]) from None


class StoredVaultSchema(Lenient):
    """The vault as an agent's stored registration keeps it, and as a state document gives it:
    every member optional (model.agent_vault fills in what is missing)."""

    id = fields.String(validate=validate.Length(min=1, max=MAX_ID_LENGTH))
    name = fields.String(validate=_container_name)
    state = fields.String(validate=validate.Length(min=1, max=64))
    flavor = fields.String(validate=validate.Length(min=1, max=64))
    encrypted = StrictBoolean()
    region = fields.String(validate=validate.OneOf(REGIONS, error=f"must be one of {', '.join(REGIONS)}"))
    use_internal = StrictBoolean()


class StoredRegistrationSchema(AgentRegistrationSchema):
    """A registration as the service keeps it (a state document's agents): its whole vault."""

    vault = fields.Nested(StoredVaultSchema)


class LinkSchema(Schema):
    href = fields.String(required=True)
    rel = fields.String(required=True)


class MachineBodySchema(Schema):
    id = fields.String()
    links = fields.List(fields.Nested(LinkSchema))


class HostBodySchema(Schema):
    """The host as the agent's body shows it: the registration's, without its `fingerprint`
    (the pages' bodies do not show it) and with the machine's links."""

    flavor = fields.String()
    region = fields.String(allow_none=True)
    machine = fields.Nested(MachineBodySchema)
    os = fields.Nested(OperatingSystemSchema)
    addresses = fields.List(fields.Nested(AddressSchema))


class VaultBodySchema(Schema):
    """The agent's vault as the pages show it (model.Vault and its links)."""

    id = fields.String()
    name = fields.String()
    state = fields.String()
    flavor = fields.String()
    encrypted = fields.Boolean()
    region = fields.String()
    use_internal = fields.Boolean()
    links = fields.List(fields.Nested(LinkSchema), metadata={"description": "publicURL and internalURL"})


class AgentSchema(Schema):
    """An agent as the service shows it; `password` only in the 201 of its registration."""

    project_id = fields.String()
    id = fields.String()
    password = fields.String()
    name = fields.String()
    version = fields.String()
    host = fields.Nested(HostBodySchema)
    enabled = fields.Boolean()
    rsa_public_key = fields.Nested(RsaPublicKeySchema)
    vault = fields.Nested(VaultBodySchema)
    log_level = fields.String(metadata={"enum": list(LOG_LEVELS)})
    registered_time = fields.String()
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


AGENT_PATCH_OPS = ("add", "replace")


class AgentPatchOperationSchema(Lenient):
    """One operation of an agent PATCH: `add` or `replace` (the page: interpreted alike) of a
    path the page lists, with a value that path takes (model.AGENT_PATCH_VALUES)."""

    op = fields.String(
        required=True,
        validate=validate.OneOf(AGENT_PATCH_OPS, error="must be 'add' or 'replace', the operations allowed"),
    )
    path = fields.String(
        required=True,
        validate=validate.OneOf(
            list(AGENT_PATCH_PATHS),
            error=f"must be one of {', '.join(AGENT_PATCH_PATHS)}, the paths that can change",
        ),
    )
    value = fields.Raw(
        required=True,
        metadata={
            "description": "As the path says: true or false (/enabled, /vault/use_internal), a log level "
            "(all, trace, debug, info, warn, error, fatal) or a region (DFW, ORD, IAD, LON, SYD, HKG).",
            "oneOf": [{"type": "boolean"}, {"type": "string"}],
        },
    )

    @validates_schema(skip_on_field_errors=False)
    def value_for_path(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "value" not in data:
            return  # missing: the field's own `required` said so
        problem = agent_patch_value_problem(data.get("path"), data["value"])
        if problem is not None:
            raise ValidationError(problem, "value")


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
