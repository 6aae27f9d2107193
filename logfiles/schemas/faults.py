"""Fault rules of the control plane: what a rule matches, answers and when (POST /_control/faults)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)

from ..faults import DEFAULT_PATH, FIELD_OWNERS, FaultAction, FaultRule
from .base import MAX_GLOB_LENGTH, Base64Bytes, BoundedList, StrictInteger, StrictNumber

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
# (ours) A `trickle` rule's bytes per second: 1 (a stall) to 10 MB/s (a slow link).
MAX_TRICKLE_RATE = 10_000_000
# Statuses whose answer has no body (RFC 9110): a `body` rule with one gives none.
BODILESS_STATUSES = frozenset({*range(100, 200), 204, 304})
_ACTIONS = [action.value for action in FaultAction]


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

    Each action has its own fields, with their defaults (faults.ACTIONS): `status` (a
    `status` rule's 400-599; a `body` rule's 100-599), `latency`, `body` or `body_base64`,
    `size` (garbage) and `rate` (trickle); each is refused, and shown null, on the other kinds.
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
        for name, owners in FIELD_OWNERS.items():
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
        """A rule without its id, which the caller gives it (FaultRule fills in its action's defaults)."""
        return FaultRule.from_fields({**data, "id": ""})


FAULT_RULE = FaultRuleSchema()
