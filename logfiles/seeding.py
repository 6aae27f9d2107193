"""From a state document to the agents and log files it seeds (no Flask, no store).

PUT and POST /_control/state hand the body to `read_state_document`, which parses it as a
stream and validates it item by item, so that a large document costs what it seeds plus the
body, not several times the body (a whole parsed document is about fifteen times its text).
`build_seed` then makes the domain objects; what it needs from the store (the projects of
agents the document names but does not hold) it asks for through a callable, for those ids only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import ijson
from marshmallow import Schema, ValidationError

from . import configurations
from .activities import Job, job_document
from .documents import Document
from .errors import Invalid
from .events import AGENT_ACTIVATE, DETAIL_ORDER, Event
from .ids import IdSource
from .model import Agent, LogFile, LogFileState, password_hash
from .objects import ObjectInfo, content_type_for
from .pacing import Pause, no_pause, paced
from .schemas import (
    MAX_SEEDED_AGENTS,
    MAX_SEEDED_EVENTS,
    MAX_SEEDED_LOGFILES,
    MAX_SEEDED_OBJECTS,
    REGISTRATION,
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

# The projects of those of the given agents that the store holds (Store.agent_projects).
ProjectLookup = Callable[[Collection[str]], Mapping[str, str]]

# A seeded agent that names no registration shows this generic one (loaded once, like a
# registration the service accepted).
DEFAULT_REGISTRATION: dict[str, Any] = REGISTRATION.load(
    {
        "name": "seeded agent",
        "version": "1.0.0",
        "host": {
            "flavor": "nova",
            "region": "DFW",
            "machine": {"id": "00000000-0000-4000-8000-000000000000"},
            "os": {"name": "Ubuntu", "version": "22.04", "architecture": "64-bit"},
            "fingerprint": "seeded",
            "addresses": [],
        },
        "rsa_public_key": {"modulus": "00", "exponent": 10001},
        "vault": {"use_internal": False},
    }
)


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


@dataclass(frozen=True, slots=True)
class Seed:
    """What a state document adds: agents in document order, then its log files, then generated ones."""

    agents: list[Agent]
    logfiles: list[LogFile]
    events: list[Event] = field(default_factory=list)
    objects: list[tuple[ObjectInfo, bytes]] = field(default_factory=list)
    # `documents` as given, then `configurations`, then `jobs`, each in document order.
    documents: list[Document] = field(default_factory=list)


def build_seed(
    document: StateDocument,
    moment: datetime,
    new_id: IdSource,
    stored_projects: ProjectLookup | None,
    pause: Pause = no_pause,
) -> Seed:
    """The agents and log files of a read state document, defaults filled in.

    A log file takes its agent's project, from the document or else from `stored_projects`
    (None when the store's agents do not count: a replace). Invalid lists every log file and
    `generate` entry whose agent is in neither. Taken ids are the store's to find. `pause`
    is called every pacing.PIECE items.
    """
    agents = [_agent(item, moment, new_id) for item in paced(document.agents, pause)]
    projects = {agent.id: agent.project_id for agent in agents}
    named = {item.agent_id for item in document.logfiles} | {item["agent_id"] for item in document.generate}
    named |= {item["agent_id"] for item in document.events if item.get("agent_id") is not None}
    named |= {item["agent_id"] for item in [*document.configurations, *document.jobs]}
    outside = named - projects.keys()
    if outside and stored_projects is not None:
        projects = {**stored_projects(outside), **projects}
    problems = [
        f"logfiles.{index}.agent_id: no agent '{item.agent_id}' in the state"
        for index, item in enumerate(document.logfiles)
        if item.agent_id not in projects
    ] + [
        f"generate.{index}.agent_id: no agent '{item['agent_id']}' in the state"
        for index, item in enumerate(document.generate)
        if item["agent_id"] not in projects
    ]
    events = []
    for index, item in enumerate(document.events):
        event = _event(item, projects, moment)
        if isinstance(event, str):
            problems.append(f"events.{index}.{event}")
        else:
            events.append(event)
    for section in ("configurations", "jobs"):
        problems += [
            f"{section}.{index}.agent_id: no agent '{item['agent_id']}' in the state"
            for index, item in enumerate(getattr(document, section))
            if item["agent_id"] not in projects
        ]
    if problems:
        raise Invalid(MESSAGE, problems)
    logfiles = [
        LogFile(
            id=item.id or new_id(),
            project_id=projects[item.agent_id],
            agent_id=item.agent_id,
            date=item.date or moment,
            state=item.state,
        )
        for item in paced(document.logfiles, pause)
    ]
    for item in document.generate:
        project_id, agent_id = projects[item["agent_id"]], item["agent_id"]
        date, state = item.get("date") or moment, LogFileState(item["state"])
        # One microsecond apart, as if requested one after another: distinct dates, so
        # completed ones get distinct object URLs, and dates that follow the list order.
        logfiles.extend(
            LogFile(new_id(), project_id, agent_id, date + timedelta(microseconds=n), state)
            for n in paced(range(item["count"]), pause)
        )
    objects = [_object(item, moment) for item in document.objects]
    return Seed(agents, logfiles, events, objects, _documents(document, projects, moment, new_id))


def _documents(
    document: StateDocument, projects: Mapping[str, str], moment: datetime, new_id: IdSource
) -> list[Document]:
    """The documents a state document seeds, each at version 1 unless exported with its own.

    A seeded configuration is kept as the create route keeps it when its body is a valid create
    body, else as given (configurations.seeded_body), plus `project_id` and `id`; a seeded
    job is the minimal body its activity shows (activities.job_document).
    """
    documents = [
        Document(
            item["kind"],
            item["project_id"],
            item["id"],
            item["body"],
            parent=item["parent"],
            keys=item["keys"],
            version=item["version"],
        )
        for item in document.documents
    ]
    for item in document.configurations:
        project_id, config_id = projects[item["agent_id"]], item.get("id") or new_id()
        body = {**configurations.seeded_body(item, moment), "id": config_id, "project_id": project_id}
        documents.append(Document("configuration", project_id, config_id, body, item["agent_id"], version=1))
    for item in document.jobs:
        job = Job(
            kind=item["type"],
            project_id=projects[item["agent_id"]],
            id=item.get("id") or new_id(),
            agent_id=item["agent_id"],
            state=item["state"],
            last_updated_time=item.get("last_updated_time") or moment,
            configuration_id=item.get("configuration_id"),
            backup_id=item.get("backup_id"),
        )
        documents.append(dataclasses.replace(job_document(job), version=1))
    return documents


def _object(item: Mapping[str, Any], moment: datetime) -> tuple[ObjectInfo, bytes]:
    data: bytes = item["content_base64"]
    info = ObjectInfo(
        project_id=item["project_id"],
        container=item["container"],
        name=item["name"],
        bytes=len(data),
        hash=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        content_type=item.get("content_type") or content_type_for(item["name"], None),
        last_modified=item.get("last_modified") or moment,
    )
    return info, data


def _event(item: Mapping[str, Any], projects: Mapping[str, str], moment: datetime) -> Event | str:
    """The event of a document item, or what is wrong with it (`member: problem`)."""
    agent_id = item.get("agent_id")
    details = {name: item[name] for name in DETAIL_ORDER if name in item}
    if agent_id is None:
        project_id = item["project_id"]
    else:
        if agent_id not in projects:
            return f"agent_id: no agent '{agent_id}' in the state"
        project_id = projects[agent_id]
        if item.get("project_id", project_id) != project_id:
            return f"project_id: agent '{agent_id}' is in project '{project_id}'"
        if item["event"] != AGENT_ACTIVATE:  # the guide's feeds show it without `agent`
            details.setdefault("agent", {"id": agent_id})
    return Event(
        project_id, agent_id, item.get("time") or moment, item["event"], details, int(item.get("id", 0))
    )


def _agent(item: Mapping[str, Any], moment: datetime, new_id: IdSource) -> Agent:
    registration = item.get("registration") or DEFAULT_REGISTRATION
    if "fingerprint" in item:
        registration = {**registration, "host": {**registration["host"], "fingerprint": item["fingerprint"]}}
    if "password" in item:
        password_sha256 = password_hash(item["password"])
    else:
        password_sha256 = item.get("password_sha256", "")
    roles = item.get("roles")
    return Agent(
        id=item.get("id") or new_id(),
        project_id=item["project_id"],
        registered_time=item.get("registered_time") or moment,
        registration=registration,
        enabled=item["enabled"],
        log_level=item["log_level"],
        password_sha256=password_sha256,
        roles=None if roles is None else tuple(roles),
    )
