"""marshmallow schemas: what a request may carry (load) and what a response holds (dump)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .model import TARGET_STATES, format_time, parse_time


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


class IntegerOrString(fields.Field):
    """The guide sends `exponent` as the bare integer 10001; a string is accepted too."""

    default_error_messages = {"invalid": "Not a valid integer or string."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | str:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.make_error("invalid")
        return value


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
    addresses = fields.List(fields.Nested(AddressSchema), required=True)


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
    state = fields.String(validate=validate.OneOf(["requested", *TARGET_STATES]))
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
            else:
                child = f"{where}.{key}" if where else str(key)
            out.extend(flatten_messages(value, style=style, where=child))
    elif isinstance(messages, list | tuple):
        for item in messages:
            out.extend(flatten_messages(item, style=style, where=where))
    else:
        text = _PLAIN.get(str(messages), str(messages))
        out.append(f"{where or 'body'}: {text}")
    return out


# The control plane (/_control/): seeding documents, fault rules, clock commands.


class IsoTime(fields.Field):
    """ISO-8601 with a timezone (`Z` or an offset), as the service writes times."""

    default_error_messages = {"invalid": "Not an ISO-8601 time with a timezone."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return parse_time(value)
        except ValueError:
            raise self.make_error("invalid") from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else format_time(value)


class SeedAgentSchema(Schema):
    """An agent as exported, or as a test seeds it (only `project_id` is required)."""

    id = fields.String(validate=validate.Length(min=1))
    project_id = fields.String(required=True, validate=validate.Length(min=1))
    registered_time = IsoTime()
    enabled = StrictBoolean(load_default=True)
    log_level = fields.String(load_default="warn")
    registration = fields.Nested(AgentRegistrationSchema)


class SeedLogFileSchema(Schema):
    """A log file as exported, or as a test seeds it: any state, any date."""

    id = fields.String(validate=validate.Length(min=1))
    agent_id = fields.String(required=True, validate=validate.Length(min=1))
    date = IsoTime()
    state = fields.String(load_default="requested", validate=validate.OneOf(["requested", *TARGET_STATES]))


class GenerateSchema(Schema):
    """Bulk seeding: `count` log files for one agent, with fresh ids, all alike."""

    agent_id = fields.String(required=True, validate=validate.Length(min=1))
    count = StrictInteger(required=True, validate=validate.Range(1, 2_000_000))
    date = IsoTime()
    state = fields.String(load_default="requested", validate=validate.OneOf(["requested", *TARGET_STATES]))


class StateDocumentSchema(Schema):
    """GET/PUT/POST /_control/state: everything the service holds (`generate`: load only)."""

    agents = fields.List(fields.Nested(SeedAgentSchema), load_default=list)
    logfiles = fields.List(fields.Nested(SeedLogFileSchema), load_default=list)
    generate = fields.List(fields.Nested(GenerateSchema), load_default=list, load_only=True)


class FaultRuleSchema(Schema):
    """POST /_control/faults: what to match, what to answer, and when."""

    action = fields.String(load_default="status", validate=validate.OneOf(["status", "latency", "drop"]))
    method = fields.String(load_default=None, allow_none=True)
    path = fields.String(load_default="/v2/*")
    header = fields.String(load_default=None, allow_none=True)
    header_value = fields.String(load_default=None, allow_none=True)
    status = StrictInteger(load_default=503, validate=validate.Range(400, 599))
    message = fields.String(load_default=None, allow_none=True)
    errors = fields.List(fields.String(), load_default=list)
    headers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    latency = fields.Float(load_default=0.0, validate=validate.Range(0, 60))
    times = StrictInteger(load_default=1, allow_none=True, validate=validate.Range(min=1))
    every = StrictInteger(load_default=1, validate=validate.Range(min=1))
    probability = fields.Float(load_default=1.0, validate=validate.Range(0, 1))
    seed = StrictInteger(load_default=0)
    # Shown, never loaded: the rule's id and counters.
    id = fields.String(dump_only=True)
    matched = fields.Integer(dump_only=True)
    fired = fields.Integer(dump_only=True)


class ClockCommandSchema(Schema):
    """POST /_control/clock: exactly one of freeze (a time, or "now"), advance (seconds), real."""

    freeze = fields.String()
    advance = fields.Float()
    real = StrictBoolean()


STATE_DOCUMENT = StateDocumentSchema()
FAULT_RULE = FaultRuleSchema()
CLOCK_COMMAND = ClockCommandSchema()


REGISTRATION = AgentRegistrationSchema()
PATCH_OPERATIONS = PatchOperationSchema(many=True)

__all__ = [
    "CLOCK_COMMAND",
    "FAULT_RULE",
    "REGISTRATION",
    "STATE_DOCUMENT",
    "PATCH_OPERATIONS",
    "ValidationError",
    "flatten_messages",
]
