"""Turns an RFC 6902 document into checked changes: a log file's target states, an agent's
(target, value) pairs; the only module that imports jsonpatch.

A document may hold as many operations as fit in the 1 MiB body (SPEC, "Common to every
route", is the contract's only bound on a JSON document): about 20,000 well-formed ones, or
350,000 `{}`. Its cost is linear in its length: each operation is checked by a test of its
three members; only a bad one is described by marshmallow, and only until the answer's
`errors` list is full (MAX_LISTED_ERRORS): past that, problems are counted, not described.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonpatch
from marshmallow import Schema

from .errors import MAX_LISTED_ERRORS, Invalid
from .model import (
    AGENT_PATCH_PATHS,
    TARGET_STATES,
    AgentChanges,
    LogFileState,
    agent_patch_value_problem,
)
from .schemas import AGENT_PATCH_OPERATION, PATCH_OPERATION, flatten_messages

_MESSAGE = "The request body is not a JSON Patch document this log file accepts."
_AGENT_MESSAGE = "The request body is not a JSON Patch document this agent accepts."
_MEMBERS = ("op", "path", "value")
_AGENT_OPS = frozenset({"add", "replace"})  # the page: interpreted alike


@dataclass(frozen=True, slots=True)
class _Shape:
    """What one operation of a resource's PATCH must be; `schema` describes what it is not.

    `problems(operation)` is how many `errors` entries `schema` gives `operation` (0: a
    valid one), without it: one per bad or missing member, or one for an operation that is
    not an object, as marshmallow reports, tested against it (tests/unit/test_patch.py).
    """

    problems: Callable[[Any], int]
    schema: Schema
    message: str


def _state_problems(operation: Any) -> int:
    if not isinstance(operation, dict):
        return 1
    value = operation.get("value")  # absent: None, which is not a state either
    return (
        (operation.get("op") != "replace")
        + (operation.get("path") != "/state")
        + (not (isinstance(value, str) and value in TARGET_STATES))
    )


def _agent_problems(operation: Any) -> int:
    if not isinstance(operation, dict):
        return 1
    op, path = operation.get("op"), operation.get("path")
    bad_value = "value" not in operation or agent_patch_value_problem(path, operation["value"]) is not None
    return (
        (not isinstance(op, str) or op not in _AGENT_OPS)
        + (not isinstance(path, str) or path not in AGENT_PATCH_PATHS)
        + bad_value
    )


_STATE = _Shape(_state_problems, PATCH_OPERATION, _MESSAGE)
_TARGETS = {value: LogFileState(value) for value in TARGET_STATES}  # a lookup, cheaper than the enum's call
_AGENT = _Shape(_agent_problems, AGENT_PATCH_OPERATION, _AGENT_MESSAGE)


def parse_state_patch(document: Any) -> list[LogFileState]:
    """Validate every operation, then apply them in order to a state document.

    Returns the state after each operation, so the model can check each step; raises
    Invalid listing every problem (one entry per bad member) and changes nothing.
    """
    return [_TARGETS[value] for value in _values(document, _STATE, "state")]


def parse_agent_patch(document: Any) -> AgentChanges:
    """An agent PATCH's (target, value) pairs, in order (model.patched_agent applies them),
    checked with the log-file PATCH's rules: Invalid listing every problem, one entry per bad
    member of each operation, and nothing applied unless every operation is valid. `add` and
    `replace` are the same (the page); the targets are model.AGENT_PATCH_PATHS' values."""
    _check_document(document, _AGENT)
    return [(AGENT_PATCH_PATHS[operation["path"]], operation["value"]) for operation in document]


def _values(document: Any, shape: _Shape, member: str) -> list[Any]:
    """The value of `member` after each operation of a checked document."""
    _check_document(document, shape)
    # Every operation is now a `replace` of the one member, so the value after it depends on
    # its value alone, not on the steps before: jsonpatch applies each distinct operation once
    # (two at most), and a long document costs a lookup per operation, not a patch.
    after: dict[tuple[type, Any], Any] = {}
    values: list[Any] = []
    for operation in document:
        value = operation["value"]
        key = (type(value), value)  # a checked value is a string or a boolean: hashable
        if key not in after:
            # Only the members RFC 6902 defines for `replace` go to jsonpatch; others are ignored.
            replace = jsonpatch.ReplaceOperation({name: operation[name] for name in _MEMBERS})
            after[key] = replace.apply({member: None})[member]
        values.append(after[key])
    return values


def _check_document(document: Any, shape: _Shape) -> None:
    """Invalid unless `document` is a non-empty array of operations `shape` accepts."""
    if not isinstance(document, list):
        raise Invalid(shape.message, ["body: must be a JSON array of operation objects"])
    if not document:
        # (ours) SPEC: PATCH, an empty document is a 400, not a no-op.
        raise Invalid(shape.message, ["body: must hold at least one operation"])
    _check(document, shape)


def _check(document: list[Any], shape: _Shape) -> None:
    """Raise Invalid with one entry per problem of every operation, the first ones described.

    Once more than MAX_LISTED_ERRORS entries are written (the answer shows no more), the
    rest are counted: a megabyte of bad operations costs a test each, not a description.
    """
    listed: list[str] = []
    unlisted = 0
    for index, operation in enumerate(document):
        count = shape.problems(operation)
        if not count:
            continue
        if len(listed) > MAX_LISTED_ERRORS:
            unlisted += count
            continue
        listed.extend(flatten_messages(shape.schema.validate(operation), style="pointer", where=f"/{index}"))
    if listed:
        raise Invalid(shape.message, listed, unlisted=unlisted)
