"""From a read state document to what it seeds: agents, log files, events, objects, documents
(no Flask, no store).

PUT and POST /_control/state hand the body to `state_document.read_state_document`, which
parses it as a stream and validates it item by item, so that a large document costs what it
seeds plus the body, not several times the body (a whole parsed document is about fifteen
times its text). `build_seed` then makes the domain objects; what it needs from the store (the projects of
agents the document names but does not hold) it asks for through a callable, for those ids only.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import configurations
from .activities import Job
from .documents import Document
from .errors import Invalid
from .events import AGENT_ACTIVATE, DETAIL_ORDER, Event
from .ids import IdSource
from .jobs import seeded_document
from .model import Agent, LogFile, LogFileState, password_hash
from .objects import ObjectInfo, content_type_for
from .pacing import Pause, no_pause, paced
from .schemas import REGISTRATION
from .state_document import MESSAGE, StateDocument

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
    job has the body its routes show, with the start pages' defaults (jobs.seeded_document).
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
        documents.append(dataclasses.replace(seeded_document(job), version=1))
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
