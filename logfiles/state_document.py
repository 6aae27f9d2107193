"""A state document, read: streamed JSON (ijson) into validated sections, bounded while it
is read so an oversized or deep document stops early (no Flask, no store).

seeding.py turns what this reads into the agents, log files, events, objects and documents a
store adds; the control plane's PUT and POST /_control/state call `read_state_document`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ijson
from marshmallow import Schema, ValidationError

from .errors import Invalid
from .model import LogFileState
from .pacing import Pause, no_pause
from .schemas import (
    MAX_SEEDED_AGENTS,
    MAX_SEEDED_EVENTS,
    MAX_SEEDED_LOGFILES,
    MAX_SEEDED_OBJECTS,
    GenerateSchema,
    SeedAgentSchema,
    SeedEventSchema,
    SeedLogFileSchema,
    SeedObjectSchema,
    flatten_messages,
)
from .schemas.state import (
    MAX_SEEDED_DOCUMENTS,
    SeedConfigurationSchema,
    SeedDocumentSchema,
    SeedJobSchema,
)
from .strictjson import check_text, may_hold_surrogates

MESSAGE = "The state document is not valid."
# Items one document may hold, by section (log files count generated ones too: see `add`).
_LIMITS = {"agents": MAX_SEEDED_AGENTS, "events": MAX_SEEDED_EVENTS, "objects": MAX_SEEDED_OBJECTS}
MAX_DEPTH = 32  # an agent's registration is the deepest item, four levels
BATCH = 1000  # items validated per marshmallow call: its per-call cost, spread
MAX_PROBLEMS = 1000  # problems collected before the rest are only counted


@dataclass(frozen=True, slots=True)
class LogFileItem:
    """A listed log file, validated: what the document gave, defaults still to fill in."""

    id: str | None
    agent_id: str
    date: datetime | None
    state: LogFileState


@dataclass
class StateDocument:
    """A validated state document: loaded agents and `generate` entries, compact log files."""

    agents: list[dict[str, Any]] = field(default_factory=list)
    logfiles: list[LogFileItem] = field(default_factory=list)
    generate: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    # Documents: as exported (`documents`), or as a test seeds them (`configurations`, `jobs`).
    documents: list[dict[str, Any]] = field(default_factory=list)
    configurations: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)


_SCHEMAS: dict[str, Schema] = {
    "agents": SeedAgentSchema(many=True),
    "logfiles": SeedLogFileSchema(many=True),
    "generate": GenerateSchema(many=True),
    "events": SeedEventSchema(many=True),
    "objects": SeedObjectSchema(many=True),
    "documents": SeedDocumentSchema(many=True),
    "configurations": SeedConfigurationSchema(many=True),
    "jobs": SeedJobSchema(many=True),
}
# The sections that hold documents, counted together against MAX_SEEDED_DOCUMENTS.
_DOCUMENT_SECTIONS = ("documents", "configurations", "jobs")


def read_state_document(data: bytes, pause: Pause = no_pause) -> StateDocument:
    """Parse and validate a state document: Invalid listing its problems, or its content.

    JSON as strictly as the contract's bodies (UTF-8, no NaN, no duplicate members); the
    members are `agents`, `logfiles`, `generate`, `events`, `objects`, `documents`,
    `configurations` and `jobs`, each a list; at
    most MAX_SEEDED_AGENTS agents and MAX_SEEDED_LOGFILES log files, listed and generated
    together, checked while reading, so an oversized document stops early. `pause` is
    called after each batch (pacing.py).
    """
    reader = _Reader()
    check_surrogates = may_hold_surrogates(data)
    try:
        for section, batch in _batches(ijson.basic_parse(io.BytesIO(data), use_float=True)):
            if check_surrogates:
                try:
                    check_text(batch)
                except ValueError as exc:
                    raise Invalid("The state document is not valid JSON.", [f"{section}: {exc}"]) from None
            reader.add(section, batch)
            pause()
    except ijson.JSONError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "not JSON"
        raise Invalid("The state document is not valid JSON.", [f"body: {detail}"]) from None
    except UnicodeDecodeError:  # ijson's C parser, on a lone surrogate escape
        raise Invalid(
            "The state document is not valid JSON.",
            ["body: a \\u escape names a lone surrogate, which is not Unicode text"],
        ) from None
    return reader.finish()


class _Reader:
    """Validates batches of items as they come and keeps their compact form."""

    def __init__(self) -> None:
        self.document = StateDocument()
        self.problems: list[str] = []
        self.more_problems = 0
        self.logfile_count = 0
        self.document_count = 0
        self.offsets = dict.fromkeys(_SCHEMAS, 0)

    def add(self, section: str, batch: list[Any]) -> None:
        offset = self.offsets[section]
        self.offsets[section] += len(batch)
        limit = _LIMITS.get(section)
        if limit is not None and self.offsets[section] > limit:
            raise Invalid(MESSAGE, [f"{section}: at most {limit} in one document"])
        try:
            loaded: list[dict[str, Any]] = _SCHEMAS[section].load(batch)
        except ValidationError as exc:
            self._problems(section, offset, exc.messages)
            loaded = []
        if section == "agents":
            self.document.agents.extend(loaded)
            return
        if section == "objects":
            # Export-shaped items (no bytes) are left out: an export imported again is a no-op for them.
            self.document.objects.extend(item for item in loaded if "content_base64" in item)
            return
        if section == "events":
            self.document.events.extend(loaded)
            return
        if section in _DOCUMENT_SECTIONS:
            self.document_count += len(batch)
            if self.document_count > MAX_SEEDED_DOCUMENTS:
                raise Invalid(
                    MESSAGE,
                    [f"{section}: at most {MAX_SEEDED_DOCUMENTS} documents in one, its sections together"],
                )
            getattr(self.document, section).extend(loaded)
            return
        if section == "logfiles":
            self.document.logfiles.extend(
                LogFileItem(item.get("id"), item["agent_id"], item.get("date"), LogFileState(item["state"]))
                for item in loaded
            )
            self.logfile_count += len(batch)
        else:
            self.document.generate.extend(loaded)
            self.logfile_count += sum(item["count"] for item in loaded)
        if self.logfile_count > MAX_SEEDED_LOGFILES:
            raise Invalid(
                MESSAGE, [f"logfiles: at most {MAX_SEEDED_LOGFILES} in one document, generated ones included"]
            )

    def _problems(self, section: str, offset: int, messages: Any) -> None:
        if isinstance(messages, Mapping):  # {index in the batch: problems}, as marshmallow's many
            messages = {offset + int(index): value for index, value in messages.items()}
        found = flatten_messages(messages, where=section)
        room = MAX_PROBLEMS - len(self.problems)
        self.problems.extend(found[:room])
        self.more_problems += max(0, len(found) - room)

    def finish(self) -> StateDocument:
        if self.problems:
            more = [f"errors: {self.more_problems} more not listed"] if self.more_problems else []
            raise Invalid(MESSAGE, self.problems + more)
        return self.document


def _batches(events: Iterator[tuple[str, Any]]) -> Iterator[tuple[str, list[Any]]]:
    """The top-level object's lists, as (member, up to BATCH items) in document order."""
    first = next(events, None)
    if first is None or first[0] != "start_map":
        raise Invalid(MESSAGE, ["body: must be a JSON object"])
    seen: set[str] = set()
    for event, key in events:
        if event == "end_map":
            break
        if key in seen:
            raise Invalid("The state document is not valid JSON.", [f"body: duplicate member {key!r}"])
        seen.add(key)
        if key not in _SCHEMAS:
            raise Invalid(MESSAGE, [f"{key}: Unknown field."])
        event, _ = _next(events)
        if event != "start_array":
            _value(event, None, events)  # the rest of the document must still be JSON
            raise Invalid(MESSAGE, [f"{key}: Not a valid list."])
        batch: list[Any] = []
        for event, value in events:
            if event == "end_array":
                break
            batch.append(_value(event, value, events))
            if len(batch) == BATCH:
                yield key, batch
                batch = []
        if batch:
            yield key, batch
    for _ in events:  # the parser reports trailing garbage only when asked for more
        pass


_OPENERS = {"start_map": dict, "start_array": list}


def _next(events: Iterator[tuple[str, Any]]) -> tuple[str, Any]:
    """The next event; the parser reports a cut document itself, this is the guard if not."""
    for event in events:
        return event
    raise Invalid("The state document is not valid JSON.", ["body: the document ends too early"])


def _value(event: str, value: Any, events: Iterator[tuple[str, Any]]) -> Any:
    """One JSON value from the parser's events, without recursion; duplicate members refused."""
    if event not in _OPENERS:
        return value
    root: Any = _OPENERS[event]()
    stack: list[Any] = [root]
    key: str = ""
    while stack:
        event, value = _next(events)
        top = stack[-1]
        if event == "map_key":
            if value in top:
                raise Invalid("The state document is not valid JSON.", [f"body: duplicate member {value!r}"])
            key = value
            continue
        if event in ("end_map", "end_array"):
            stack.pop()
            continue
        child = _OPENERS[event]() if event in _OPENERS else value
        if isinstance(top, dict):
            top[key] = child
        else:
            top.append(child)
        if event in _OPENERS:
            if len(stack) >= MAX_DEPTH:
                raise Invalid("The state document is not valid JSON.", ["body: nested too deeply"])
            stack.append(child)
    return root
