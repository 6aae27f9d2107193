"""Requests an agent answers: browse (its files, a backup's), vault encryption, vault password
verification; and moving a vault between agents (stdlib only).

SPEC "The whole service": the panel POSTs a request (202), the agent sees the event its page
names in its feed (`host_browse`, `backup_browse`, `vault_encryption_enable`,
`vault_encryption_change`, `vault_password_verify`), the agent POSTs the results, and until
then GET of the results is 404. A request is a document of its kind (kinds.REQUEST_KINDS),
parent the agent that answers it; its body keeps what was asked, `state` (`requested`, then
`reported`) and, once reported, `results`. The encrypted passwords go to the agent's event
only: no document and no answer keeps them (docs/SPEC.md "Contract notes").
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .activities import job_of
from .documents import Document, Kind
from .errors import Conflict, Forbidden, Invalid, NotFound
from .events import Event
from .kinds import BACKUP, BROWSE_REQUEST, VAULT_ENCRYPTION_REQUEST, VAULT_PASSWORD_VERIFICATION_REQUEST
from .model import Agent, Vault, agent_vault, format_time, new_vault, with_vault

# The events the agent's feed shows (the agent events page; `backup_browse`: the backup events page).
HOST_BROWSE = "host_browse"
BACKUP_BROWSE = "backup_browse"
VAULT_ENCRYPTION_ENABLE = "vault_encryption_enable"
VAULT_ENCRYPTION_CHANGE = "vault_encryption_change"
VAULT_PASSWORD_VERIFY = "vault_password_verify"  # noqa: S105 (a name, not a password)
# The `event` of each results body (the GET pages' examples).
HOST_BROWSED = "host_browsed"
BACKUP_BROWSED = "backup_browsed"
VAULT_ENCRYPTION_ENABLED = "vault_encryption_enabled"
VAULT_ENCRYPTION_CHANGED = "vault_encryption_changed"
VAULT_PASSWORD_VERIFIED = "vault_password_verified"  # noqa: S105 (a name, not a password)

REQUESTED = "requested"
REPORTED = "reported"
# An encryption request's `action`, as its report names it (the report page's values).
ENABLED = "enabled"
CHANGED = "changed"

# The pages' 403 messages, as they write them (the second, which the page states but does
# not spell, in the same words).
OLD_PASSWORD_UNENCRYPTED = "An old password was supplied, but the vault is unencrypted."  # noqa: S105 (a name, not a password)
NO_OLD_PASSWORD_ENCRYPTED = "No old password was supplied, but the vault is encrypted."  # noqa: S105 (a name, not a password)
NOT_ENCRYPTED = "Encryption is not enabled for this agent's vault."
MOVE_OTHER_PROJECT = "The source or destination agent is not owned by this project."
MOVE_ENCRYPTED = "The vault is encrypted and cannot be moved."
MOVE_DESTINATION_HOLDS_DATA = "The destination agent's vault already contains data."


def _request(
    kind: Kind, project_id: str, request_id: str, agent_id: str, now: datetime, asked: Mapping[str, Any]
) -> Document:
    body = {
        "id": request_id,
        "project_id": project_id,
        "agent_id": agent_id,
        "requested_time": format_time(now),
        **asked,
        "state": REQUESTED,
    }
    keys = {name: str(body.get(name) or "") for name in kind.indexed}
    return Document(kind.name, project_id, request_id, body, parent=agent_id, keys=keys)


def _event(document: Document, name: str, now: datetime, **details: Any) -> Event:
    agent_id = document.parent or ""
    shown: dict[str, Any] = {"agent": {"id": agent_id, **details.pop("agent", {})}}
    shown["request_id"] = document.id
    shown.update(details)
    return Event(document.project_id, agent_id, now, name, shown)


# Browse requests.


def browse_host(
    project_id: str, request_id: str, agent_id: str, now: datetime, asked: Mapping[str, Any]
) -> tuple[Document, Event]:
    """The request to browse the agent's own files (`path`, `path_encoded`) and its event."""
    document = _request(
        BROWSE_REQUEST,
        project_id,
        request_id,
        agent_id,
        now,
        {"backup_id": None, "path": asked["path"], "path_encoded": asked["path_encoded"]},
    )
    event = _event(document, HOST_BROWSE, now, path=asked["path"], path_encoded=asked["path_encoded"])
    return document, event


def backup_agent_id(backup: Document) -> str:
    """The agent whose vault holds the backup (its document's agent)."""
    return job_of(backup).agent_id


def browse_backup(
    project_id: str,
    request_id: str,
    backup: Document,
    backup_vault: Vault,
    now: datetime,
    asked: Mapping[str, Any],
) -> tuple[Document, Event]:
    """The request to browse a backup's files, answered by the agent the body names (`agent_id`),
    and its `backup_browse` event as the backup events page shows it: the vault holding the
    backup, the backup's configuration and id, the path, and the encrypted password."""
    document = _request(
        BROWSE_REQUEST,
        project_id,
        request_id,
        asked["agent_id"],
        now,
        {"backup_id": backup.id, "path": asked["path"], "path_encoded": asked["path_encoded"]},
    )
    job = job_of(backup)
    details: dict[str, Any] = {
        "agent": {"vault": {"id": backup_vault.id, "encrypted": backup_vault.encrypted}}
    }
    if job.configuration_id is not None:
        details["configuration"] = {"id": job.configuration_id}
    # The page's example shows `backup.snapshot_id` (null until the backup's document has one);
    # `backup.id` names the backup, as its events page's other events do.
    details["backup"] = {"id": backup.id, "snapshot_id": backup.body.get("snapshot_id")}
    details.update(
        path=asked["path"],
        path_encoded=asked["path_encoded"],
        encrypted_password_hex=asked["encrypted_password_hex"],
    )
    return document, _event(document, BACKUP_BROWSE, now, **details)


def browse_results(document: Document, reported: Mapping[str, Any]) -> dict[str, Any]:
    """What a browse report keeps: `succeeded`, the path (the request's unless the report gives
    one) and the items, each with the four members the GET pages show."""
    body = document.body
    path = reported.get("path")
    return {
        "succeeded": reported["succeeded"],
        "path": body.get("path") if path is None else path,
        "path_encoded": reported.get("path_encoded", body.get("path_encoded")),
        "items": [
            {
                "name": item["name"],
                "name_encoded": item.get("name_encoded"),
                "bytes": item["bytes"],
                "mime_type": item["mime_type"],
            }
            for item in reported.get("items", [])
        ],
    }


# Vault encryption requests.


def encryption_action(vault: Vault, old_given: bool) -> str:
    """`enabled` or `changed`: what the request asks; Forbidden (the page's two 403s) when the
    old password's presence does not fit the vault."""
    if old_given and not vault.encrypted:
        raise Forbidden(
            OLD_PASSWORD_UNENCRYPTED,
            [f"old_encrypted_password_hex: the vault '{vault.name}' is not encrypted; send null"],
        )
    if not old_given and vault.encrypted:
        raise Forbidden(
            NO_OLD_PASSWORD_ENCRYPTED,
            [f"old_encrypted_password_hex: the vault '{vault.name}' is encrypted; send its current password"],
        )
    return CHANGED if old_given else ENABLED


def encryption_request(
    project_id: str, request_id: str, agent_id: str, now: datetime, action: str, asked: Mapping[str, Any]
) -> tuple[Document, Event]:
    """The request and its event: `vault_encryption_enable` with the new password, or
    `vault_encryption_change` with the old and the new (the agent events page)."""
    document = _request(VAULT_ENCRYPTION_REQUEST, project_id, request_id, agent_id, now, {"action": action})
    new = asked["new_encrypted_password_hex"]
    if action == ENABLED:
        return document, _event(document, VAULT_ENCRYPTION_ENABLE, now, encrypted_password_hex=new)
    old = asked["old_encrypted_password_hex"]
    event = _event(
        document, VAULT_ENCRYPTION_CHANGE, now, old_encrypted_password_hex=old, new_encrypted_password_hex=new
    )
    return document, event


def encryption_results(document: Document, reported: Mapping[str, Any]) -> dict[str, Any]:
    """The report's `action` must be the request's (Conflict, naming both, otherwise)."""
    asked = document.body.get("action")
    if reported["action"] != asked:
        raise Conflict(
            f"The request asked for encryption to be {asked}, not {reported['action']}.",
            [f"action: '{reported['action']}' does not match the request's '{asked}'"],
        )
    return {"action": asked, "succeeded": reported["succeeded"]}


def encrypted_by(document: Document) -> bool:
    """Whether the reported results turn the vault's encryption on (the report page: an
    `enabled` request that succeeded)."""
    results = document.body.get("results") or {}
    return document.body.get("action") == ENABLED and results.get("succeeded") is True


def encrypted(agent: Agent, region: str) -> Agent:
    """The agent with its vault encrypted (itself when it is already)."""
    vault = agent_vault(agent, region)
    return agent if vault.encrypted else with_vault(agent, dataclasses.replace(vault, encrypted=True))


# Vault password verification requests.


def verification_target(vault: Vault, agent_id: str) -> None:
    """Forbidden (the page's 403) unless the vault to verify is encrypted."""
    if not vault.encrypted:
        raise Forbidden(NOT_ENCRYPTED, [f"agent_id: the vault of agent '{agent_id}' is not encrypted"])


def verification_request(
    project_id: str, request_id: str, agent_id: str, target_id: str, now: datetime, password_hex: str
) -> tuple[Document, Event]:
    """The request (answered by `agent_id`, for the vault of `target_id`) and its
    `vault_password_verify` event, as the agent events page shows it."""
    document = _request(
        VAULT_PASSWORD_VERIFICATION_REQUEST,
        project_id,
        request_id,
        agent_id,
        now,
        {"target_agent_id": target_id},
    )
    return document, _event(document, VAULT_PASSWORD_VERIFY, now, encrypted_password_hex=password_hex)


def verification_results(document: Document, reported: Mapping[str, Any]) -> dict[str, Any]:
    return {"valid": reported["verified"]}


# Reports and results, the same for every kind.


def reported(document: Document, results: Mapping[str, Any], now: datetime) -> Document:
    """The request with the agent's results; the request itself when the same results were
    reported already (a retry after a lost answer); Conflict for different ones."""
    body = document.body
    if body.get("state") == REPORTED:
        if body.get("results") == dict(results):
            return document
        raise Conflict(
            "The results of this request were reported already.",
            [f"request_id: the results of '{document.id}' were reported at {body.get('reported_time')}"],
        )
    changed = {**body, "state": REPORTED, "reported_time": format_time(now), "results": dict(results)}
    return dataclasses.replace(document, body=changed)


def results_id(document: Document) -> str:
    """(ours) The results' `id`: a decimal string as the pages show, the same on every read."""
    digest = hashlib.sha256(f"{document.kind}:{document.project_id}:{document.id}".encode()).digest()
    return str(int.from_bytes(digest[:7], "big"))


def _results_event(document: Document) -> str:
    """The results' `event`, as each GET page shows it."""
    body = document.body
    if document.kind == BROWSE_REQUEST.name:
        return BACKUP_BROWSED if body.get("backup_id") else HOST_BROWSED
    if document.kind == VAULT_ENCRYPTION_REQUEST.name:
        return VAULT_ENCRYPTION_ENABLED if body.get("action") == ENABLED else VAULT_ENCRYPTION_CHANGED
    return VAULT_PASSWORD_VERIFIED


def results_body(document: Document) -> dict[str, Any]:
    """The GET page's body; NotFound (the pages' 404) until the agent reported the results."""
    body = document.body
    label = document.kind.replace("_", " ")
    if body.get("state") != REPORTED:
        raise NotFound(
            f"The results of this {label} have not been reported yet.",
            [f"request_id: the agent has not reported the results of '{document.id}' yet"],
        )
    results = dict(body.get("results") or {})
    results.pop("action", None)
    return {
        "id": results_id(document),
        "time": body.get("reported_time"),
        "event": _results_event(document),
        "agent": {"id": document.parent},
        "request_id": document.id,
        **results,
    }


def request_of(document: Document, agent_id: str | None = None, backup_id: str | None = None) -> Document:
    """The request, when it is the agent's (or the backup's) it is asked through; NotFound
    otherwise, as for an unknown id (a browse request of an agent is not found under a backup)."""
    body = document.body
    mine = (agent_id is None or document.parent == agent_id) and (
        body.get("backup_id") == backup_id if document.kind == BROWSE_REQUEST.name else True
    )
    if not mine:
        label = document.kind.replace("_", " ")
        raise NotFound(f"The {label} does not exist.", [f"request_id: no {label} '{document.id}' here"])
    return document


# Moving a vault.


@dataclasses.dataclass(frozen=True, slots=True)
class VaultMove:
    """The page's move: the source's vault to the destination; the source gets a new empty one.

    `region` is the service's (for a vault an agent's registration does not keep whole);
    `new_vault_id` the source's new vault's id.
    """

    source_id: str
    destination_id: str
    new_vault_id: str
    region: str

    def check(self, source: Agent, destination: Agent, destination_objects: int) -> None:
        """The page's 403s: the vault is encrypted; the destination's vault holds data."""
        vault = agent_vault(source, self.region)
        if vault.encrypted:
            raise Forbidden(MOVE_ENCRYPTED, [f"source_agent_id: the vault '{vault.name}' is encrypted"])
        if destination_objects:
            held = agent_vault(destination, self.region)
            raise Forbidden(
                MOVE_DESTINATION_HOLDS_DATA,
                [f"agent_id: the vault '{held.name}' holds {destination_objects} object(s)"],
            )

    def moved(self, agents: Mapping[str, Agent]) -> dict[str, Agent]:
        """Both agents after the move (pure: the store runs it on what it read, locked). The
        destination takes the vault whole but for `use_internal` (how its own host reaches
        it); the source gets a new vault with its old one's region and `use_internal`."""
        source, destination = agents[self.source_id], agents[self.destination_id]
        vault = agent_vault(source, self.region)
        if vault.encrypted:  # checked before; a report may have encrypted it meanwhile
            raise Forbidden(MOVE_ENCRYPTED, [f"source_agent_id: the vault '{vault.name}' is encrypted"])
        kept = agent_vault(destination, self.region)
        fresh = new_vault(self.new_vault_id, vault.region, vault.use_internal)
        return {
            self.source_id: with_vault(source, fresh),
            self.destination_id: with_vault(
                destination, dataclasses.replace(vault, use_internal=kept.use_internal)
            ),
        }

    def rehomed(self, backup: Document) -> Document:
        """A backup of the moved vault, now the destination's (its parent and `agent_id`)."""
        body = dict(backup.body)
        if "agent_id" in body:
            body["agent_id"] = self.destination_id
        return dataclasses.replace(backup, parent=self.destination_id, body=body)


MOVED_KINDS: tuple[Kind, ...] = (BACKUP,)


def check_move_body(source_id: str, destination_id: str) -> None:
    """400 when the body names the destination itself as the source."""
    if source_id == destination_id:
        raise Invalid(
            "The vault cannot be moved to the agent it belongs to.",
            [f"source_agent_id: '{source_id}' is the destination agent itself"],
        )
