"""The agent's whole configuration document (GET /v2/{p}/agents/{id}/configuration), and the
guide's limit on its size, which a configuration's create or PATCH must keep (stdlib only).

Its configurations' entries come from configurations.py; its vault from model.agent_vault.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from . import schedule
from .config import MAX_BODY_BYTES
from .configurations import run_times, url_segment
from .documents import Document
from .errors import Invalid
from .model import Agent, Vault

# The guide's Limits page: the agent's whole configuration document is at most 1 MB (read
# as 1 MiB, as SPEC reads the same limit on a body); past it a create or PATCH is a 400.
MAX_AGENT_DOCUMENT_BYTES = MAX_BODY_BYTES
# (ours) How many next run times the agent's configuration document lists (the page's example: 3).
TIMES_SHOWN = 3
TOO_LARGE_MESSAGE = "The agent's configuration document would be over the guide's limit of 1 MB."
# The agent configuration page's system preferences, as its example shows them (ours: fixed).
_POLLING = {
    "interval_ms": {"idle": 10000, "active": 1000, "real_time": 300},
    "timeout_ms": {"idle": 90000, "active": 60000, "real_time": 40000},
}
_HEARTBEAT = {
    "interval_ms": {"idle": 3600000, "active": 1000, "real_time": 1000},
    "timeout_ms": {"idle": 0, "active": 75000, "real_time": 75000},
}


def vault_entry(vault: Vault, links: Sequence[Mapping[str, str]], host: str) -> dict[str, Any]:
    """The agent's vault as the agent configuration page shows it: the agent's own vault
    (model.agent_vault: kept with the agent, or its defaults), its container's links, and
    `data_services` (this server: the stub has no separate data service)."""
    return {
        "id": vault.id,
        "use_internal": vault.use_internal,
        "encrypted": vault.encrypted,
        "links": [*links, {"href": host, "rel": "data_services"}],
    }


def system_preferences(agent: Agent, host: str) -> dict[str, Any]:
    """The page's example values, but the logging level (the agent's `log_level`) and the
    events host and channel: this server and the agent's own feed, where it polls."""
    channel = f"/v2/{url_segment(agent.project_id)}/agents/{url_segment(agent.id)}/events"
    return {
        "environment": {"minimum_disk_space_mb": {"backup": 100, "restore": 100, "cleanup": 100}},
        "logging": {"level": agent.log_level},
        "events": {"rse": {"host": host, "channel": channel, "polling": _POLLING, "heartbeat": _HEARTBEAT}},
        "backup_controls": {"disable_vss": 0},
    }


def agent_configuration_entry(document: Document, vault_id: str, now: datetime) -> dict[str, Any]:
    body = document.body
    times = run_times(body, now, TIMES_SHOWN)
    return {
        "id": document.id,
        "name": body.get("name"),
        "enabled": body.get("enabled"),
        "vault_id": vault_id,
        "retention": body.get("retention"),
        "times": None if times is None else [schedule.format_schedule_time(t) for t in times],
        "inclusions": body.get("inclusions"),
        "exclusions": body.get("exclusions"),
    }


def agent_document(
    agent: Agent, vault: dict[str, Any], documents: Sequence[Document], host: str, now: datetime
) -> dict[str, Any]:
    """The agent's whole configuration: preferences, its vault (`vault_entry`), every
    configuration of it (enabled or not: each says which), in creation order."""
    return {
        "system_preferences": system_preferences(agent, host),
        "vaults": [vault],
        "configurations": [agent_configuration_entry(d, vault["id"], now) for d in documents],
    }


def document_size(document: Mapping[str, Any]) -> int:
    """Bytes of the document as the service writes it (compact JSON, UTF-8)."""
    return len(
        json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    )


def check_document_size(document: Mapping[str, Any]) -> None:
    """Invalid (400) past MAX_AGENT_DOCUMENT_BYTES: the guide's Limits page."""
    size = document_size(document)
    if size > MAX_AGENT_DOCUMENT_BYTES:
        raise Invalid(
            TOO_LARGE_MESSAGE,
            [
                f"configuration: the agent's configuration document would be {size} bytes,"
                f" over the limit of {MAX_AGENT_DOCUMENT_BYTES}"
            ],
        )
