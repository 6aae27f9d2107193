"""From a loaded state document to the agents and log files it seeds (no Flask, no store).

The control plane's PUT and POST /_control/state load the document with STATE_DOCUMENT and
hand it here; what this module needs from the store (the projects of agents the document
names but does not hold) it asks for through a callable, for those ids only.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .errors import Invalid
from .ids import IdSource
from .model import Agent, LogFile, LogFileState
from .schemas import REGISTRATION

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


def build_seed(
    document: Mapping[str, Any], moment: datetime, new_id: IdSource, stored_projects: ProjectLookup | None
) -> Seed:
    """The agents and log files of a loaded state document, defaults filled in.

    A log file takes its agent's project, from the document or else from `stored_projects`
    (None when the store's agents do not count: a replace). Invalid lists every log file and
    `generate` entry whose agent is in neither. Taken ids are the store's to find.
    """
    agents = [_agent(item, moment, new_id) for item in document["agents"]]
    projects = {agent.id: agent.project_id for agent in agents}
    named = {item["agent_id"] for kind in ("logfiles", "generate") for item in document[kind]}
    outside = named - projects.keys()
    if outside and stored_projects is not None:
        projects = {**stored_projects(outside), **projects}
    problems = [
        f"{kind}.{index}.agent_id: no agent '{item['agent_id']}' in the state"
        for kind in ("logfiles", "generate")
        for index, item in enumerate(document[kind])
        if item["agent_id"] not in projects
    ]
    if problems:
        raise Invalid("The state document is not valid.", problems)
    logfiles = [
        LogFile(
            id=item.get("id") or new_id(),
            project_id=projects[item["agent_id"]],
            agent_id=item["agent_id"],
            date=item.get("date") or moment,
            state=LogFileState(item["state"]),
        )
        for item in document["logfiles"]
    ]
    for item in document["generate"]:
        project_id, agent_id = projects[item["agent_id"]], item["agent_id"]
        date, state = item.get("date") or moment, LogFileState(item["state"])
        # One microsecond apart, as if requested one after another: distinct dates, so
        # completed ones get distinct object URLs, and dates that follow the list order.
        logfiles.extend(
            LogFile(new_id(), project_id, agent_id, date + timedelta(microseconds=n), state)
            for n in range(item["count"])
        )
    return Seed(agents, logfiles)


def _agent(item: Mapping[str, Any], moment: datetime, new_id: IdSource) -> Agent:
    return Agent(
        id=item.get("id") or new_id(),
        project_id=item["project_id"],
        registered_time=item.get("registered_time") or moment,
        registration=item.get("registration") or DEFAULT_REGISTRATION,
        enabled=item["enabled"],
        log_level=item["log_level"],
    )
