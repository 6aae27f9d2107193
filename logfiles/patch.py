"""Turns an RFC 6902 document into checked target states; the only module that imports jsonpatch."""

from __future__ import annotations

from typing import Any

import jsonpatch

from .errors import Invalid
from .model import LogFileState
from .schemas import MAX_PATCH_OPERATIONS, PATCH_OPERATIONS, flatten_messages

_MESSAGE = "The request body is not a JSON Patch document this log file accepts."


def parse_state_patch(document: Any) -> list[LogFileState]:
    """Validate every operation, then apply them in order to a state document.

    Returns the state after each operation, so the model can check each step; raises
    Invalid listing every problem (one entry per bad member) and changes nothing.
    """
    if not isinstance(document, list):
        raise Invalid(_MESSAGE, ["body: must be a JSON array of operation objects"])
    if not document:
        # (ours) SPEC: PATCH, an empty document is a 400, not a no-op.
        raise Invalid(_MESSAGE, ["body: must hold at least one operation"])
    if len(document) > MAX_PATCH_OPERATIONS:
        raise Invalid(_MESSAGE, [f"body: at most {MAX_PATCH_OPERATIONS} operations, not {len(document)}"])
    problems = PATCH_OPERATIONS.validate(document)
    if problems:
        raise Invalid(_MESSAGE, flatten_messages(problems, style="pointer"))
    # Only the members RFC 6902 defines for `replace` go to jsonpatch; others are ignored.
    operations = [{"op": op["op"], "path": op["path"], "value": op["value"]} for op in document]
    targets: list[LogFileState] = []
    state: dict[str, Any] = {"state": LogFileState.REQUESTED.value}
    for operation in operations:
        # One operation at a time, in place: the state after each step is what the model checks.
        state = jsonpatch.ReplaceOperation(operation).apply(state)
        targets.append(LogFileState(state["state"]))
    return targets
