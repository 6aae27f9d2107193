"""Turns an RFC 6902 document into checked target states; the only module that imports jsonpatch."""

from __future__ import annotations

from typing import Any

import jsonpatch
from marshmallow import Schema

from .errors import Invalid
from .model import LogFileState
from .schemas import AGENT_PATCH_OPERATIONS, MAX_PATCH_OPERATIONS, PATCH_OPERATIONS, flatten_messages

_MESSAGE = "The request body is not a JSON Patch document this log file accepts."
_AGENT_MESSAGE = "The request body is not a JSON Patch document this agent accepts."


def parse_state_patch(document: Any) -> list[LogFileState]:
    """Validate every operation, then apply them in order to a state document.

    Returns the state after each operation, so the model can check each step; raises
    Invalid listing every problem (one entry per bad member) and changes nothing.
    """
    return [LogFileState(value) for value in _values(document, PATCH_OPERATIONS, "state", _MESSAGE)]


def parse_enabled_patch(document: Any) -> list[bool]:
    """The same rules for an agent, whose one changeable member is `enabled` (true or false)."""
    return [bool(value) for value in _values(document, AGENT_PATCH_OPERATIONS, "enabled", _AGENT_MESSAGE)]


def _values(document: Any, operations_schema: Schema, member: str, message: str) -> list[Any]:
    """The value of `member` after each operation of a checked document."""
    if not isinstance(document, list):
        raise Invalid(message, ["body: must be a JSON array of operation objects"])
    if not document:
        # (ours) SPEC: PATCH, an empty document is a 400, not a no-op.
        raise Invalid(message, ["body: must hold at least one operation"])
    if len(document) > MAX_PATCH_OPERATIONS:
        raise Invalid(message, [f"body: at most {MAX_PATCH_OPERATIONS} operations, not {len(document)}"])
    problems = operations_schema.validate(document)
    if problems:
        raise Invalid(message, flatten_messages(problems, style="pointer"))
    # Only the members RFC 6902 defines for `replace` go to jsonpatch; others are ignored.
    operations = [{"op": op["op"], "path": op["path"], "value": op["value"]} for op in document]
    values: list[Any] = []
    state: dict[str, Any] = {member: None}
    for operation in operations:
        # One operation at a time, in place: the value after each step is what the model checks.
        state = jsonpatch.ReplaceOperation(operation).apply(state)
        values.append(state[member])
    return values
