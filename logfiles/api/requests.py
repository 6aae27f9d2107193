"""Browse requests (an agent's files, a backup's), vault encryption and password verification
requests, and moving a vault (the pages of each, SPEC "The whole service": requests).

Thin, as the other blueprints: the checks in SPEC order (401, 403, 404 parent then child, 415,
413, 400, then the pages' 403s and 409), the body through its schema, the core
(logfiles/requests.py), the store. The panel asks (202 with `Location`, the event in the
agent's feed in the same write); the agent reports (204); the results are 404 until then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, jsonify
from marshmallow import Schema

from .. import requests
from ..auth import Action
from ..documents import Document, Kind
from ..errors import Forbidden, NotFound
from ..events import Event
from ..kinds import BACKUP, BROWSE_REQUEST, VAULT_ENCRYPTION_REQUEST, VAULT_PASSWORD_VERIFICATION_REQUEST
from ..model import Agent, agent_vault
from ..schemas.requests import (
    BACKUP_BROWSE,
    BROWSE_RESULTS,
    ENCRYPTION_REQUEST,
    ENCRYPTION_RESULTS,
    HOST_BROWSE,
    VAULT_MOVE,
    VERIFICATION_REQUEST,
    VERIFICATION_RESULTS,
)
from ..store.base import DocumentMove
from ..store.documents import update
from . import checks, no_content, now, runtime
from .links import agent_url, host_url, segment

bp = Blueprint("requests", __name__, url_prefix="/v2/<id:project_id>")

# Each kind's collection under the agent, as the routes name it.
_COLLECTIONS = {
    BROWSE_REQUEST.name: "browse-requests",
    VAULT_ENCRYPTION_REQUEST.name: "vault-encryption-requests",
    VAULT_PASSWORD_VERIFICATION_REQUEST.name: "vault-password-verification-requests",
}
Results = Callable[[Document, Mapping[str, Any]], dict[str, Any]]


def _accepted(url: str) -> Response:
    response = no_content(202)
    response.headers["Location"] = url
    return response


def _agent_request_url(document: Document) -> str:
    base = agent_url(document.project_id, document.parent or "")
    return f"{base}/{_COLLECTIONS[document.kind]}/{segment(document.id)}"


def _backup_url(project_id: str, backup_id: str) -> str:
    return f"{host_url()}/v2/{segment(project_id)}/backups/{segment(backup_id)}"


_KINDS = {
    kind.name: kind
    for kind in (BROWSE_REQUEST, VAULT_ENCRYPTION_REQUEST, VAULT_PASSWORD_VERIFICATION_REQUEST)
}


def _load(schema: Schema, message: str) -> Any:
    """415, 413, then 400 listing every problem (the journal masks the passwords: journal.py's
    secret names end with `passwordhex` too)."""
    return checks.load_json(schema, message)


def _ask(document: Document, event: Event, url: str) -> Response:
    """The request and its event in one write; 202 with the results' URL."""
    runtime().store.documents.create(_KINDS[document.kind], document, [event])
    return _accepted(url)


def _request(
    kind: Kind, project_id: str, request_id: str, agent_id: str | None, backup_id: str | None
) -> Document:
    document = runtime().store.documents.get(kind, project_id, request_id)
    return requests.request_of(document, agent_id=agent_id, backup_id=backup_id)


def _report(current: Document, schema: Schema, results: Results) -> Document:
    """415, 413, 400 (the body), 409 (other results reported already, or they do not fit the
    request); the results kept; a same-results retry writes nothing."""
    reported = _load(schema, "The results are not valid.")
    kept = results(current, reported)
    moment = now()
    requests.reported(current, kept, moment)  # 409 now, before anything is written

    def change(document: Document) -> Document:
        return requests.reported(document, kept, moment)

    return update(runtime().store.documents, _KINDS[current.kind], current.project_id, current.id, change)


# Browse requests: an agent's files.


@bp.post("/agents/<agent:agent_id>/browse-requests")
def browse_agent(project_id: str, agent_id: str) -> Response:
    checks.authorize(project_id, Action.CREATE)
    runtime().store.get_agent(project_id, agent_id)
    asked = _load(HOST_BROWSE, "The browse request is not valid.")
    document, event = requests.browse_host(project_id, runtime().new_id(), agent_id, now(), asked)
    return _ask(document, event, _agent_request_url(document))


@bp.get("/agents/<agent:agent_id>/browse-requests/<id:request_id>")
def agent_browse_results(project_id: str, agent_id: str, request_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    runtime().store.get_agent(project_id, agent_id)
    return jsonify(requests.results_body(_request(BROWSE_REQUEST, project_id, request_id, agent_id, None)))


@bp.post("/agents/<agent:agent_id>/browse-requests/<id:request_id>")
def report_agent_browse(project_id: str, agent_id: str, request_id: str) -> Response:
    """SPEC: the agent reports a browse's results here, with the GET page's body."""
    checks.authorize(project_id, Action.UPDATE)
    runtime().store.get_agent(project_id, agent_id)
    current = _request(BROWSE_REQUEST, project_id, request_id, agent_id, None)
    _report(current, BROWSE_RESULTS, requests.browse_results)
    return no_content()


# Browse requests: a backup's files.


def _backup(project_id: str, backup_id: str) -> Document:
    return runtime().store.documents.get(BACKUP, project_id, backup_id)


@bp.post("/backups/<id:backup_id>/browse-requests")
def browse_backup(project_id: str, backup_id: str) -> Response:
    """Order: 401/403, 404 (the backup), 415, 413, 400, 404 (the agent the body names)."""
    checks.authorize(project_id, Action.CREATE)
    backup = _backup(project_id, backup_id)
    asked = _load(BACKUP_BROWSE, "The browse request is not valid.")
    rt = runtime()
    rt.store.get_agent(project_id, asked["agent_id"])
    vault = agent_vault(rt.store.get_agent(project_id, requests.backup_agent_id(backup)), rt.settings.region)
    document, event = requests.browse_backup(project_id, rt.new_id(), backup, vault, now(), asked)
    return _ask(
        document, event, f"{_backup_url(project_id, backup_id)}/browse-requests/{segment(document.id)}"
    )


@bp.get("/backups/<id:backup_id>/browse-requests/<id:request_id>")
def backup_browse_results(project_id: str, backup_id: str, request_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    _backup(project_id, backup_id)
    return jsonify(requests.results_body(_request(BROWSE_REQUEST, project_id, request_id, None, backup_id)))


@bp.post("/backups/<id:backup_id>/browse-requests/<id:request_id>")
def report_backup_browse(project_id: str, backup_id: str, request_id: str) -> Response:
    """SPEC: the agent reports a backup browse's results here, with the GET page's body."""
    checks.authorize(project_id, Action.UPDATE)
    _backup(project_id, backup_id)
    current = _request(BROWSE_REQUEST, project_id, request_id, None, backup_id)
    _report(current, BROWSE_RESULTS, requests.browse_results)
    return no_content()


# Vault encryption requests.


@bp.post("/agents/<agent:agent_id>/vault-encryption-requests")
def ask_encryption(project_id: str, agent_id: str) -> Response:
    """Order: 401/403, 404, 415, 413, 400, then the page's 403s (the vault's state)."""
    checks.authorize(project_id, Action.CREATE)
    rt = runtime()
    agent = rt.store.get_agent(project_id, agent_id)
    asked = _load(ENCRYPTION_REQUEST, "The vault encryption request is not valid.")
    vault = agent_vault(agent, rt.settings.region)
    action = requests.encryption_action(vault, asked["old_encrypted_password_hex"] is not None)
    document, event = requests.encryption_request(project_id, rt.new_id(), agent_id, now(), action, asked)
    return _ask(document, event, _agent_request_url(document))


@bp.get("/agents/<agent:agent_id>/vault-encryption-requests/<id:request_id>")
def encryption_results(project_id: str, agent_id: str, request_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    runtime().store.get_agent(project_id, agent_id)
    document = _request(VAULT_ENCRYPTION_REQUEST, project_id, request_id, agent_id, None)
    return jsonify(requests.results_body(document))


@bp.post("/agents/<agent:agent_id>/vault-encryption-requests/<id:request_id>")
def report_encryption(project_id: str, agent_id: str, request_id: str) -> Response:
    """The report page: an `enabled` that succeeded turns the vault's `encrypted` on (first,
    so that a report answered 204 has always done it; a retry does it again harmlessly)."""
    checks.authorize(project_id, Action.UPDATE)
    rt = runtime()
    rt.store.get_agent(project_id, agent_id)
    current = _request(VAULT_ENCRYPTION_REQUEST, project_id, request_id, agent_id, None)
    reported = _load(ENCRYPTION_RESULTS, "The results are not valid.")
    kept = requests.encryption_results(current, reported)
    moment = now()
    after = requests.reported(current, kept, moment)  # 409 before anything is written
    if requests.encrypted_by(after):
        region = rt.settings.region
        rt.store.update_agent(project_id, agent_id, lambda agent: requests.encrypted(agent, region))
    update(
        rt.store.documents,
        VAULT_ENCRYPTION_REQUEST,
        project_id,
        request_id,
        lambda document: requests.reported(document, kept, moment),
    )
    return no_content()


# Vault password verification requests.


@bp.post("/agents/<agent:agent_id>/vault-password-verification-requests")
def ask_verification(project_id: str, agent_id: str) -> Response:
    """Order: 401/403, 404, 415, 413, 400, 404 (the agent the body names), then the page's 403
    (that agent's vault is not encrypted). `agent_id` null: the URL's agent's own vault."""
    checks.authorize(project_id, Action.CREATE)
    rt = runtime()
    agent = rt.store.get_agent(project_id, agent_id)
    asked = _load(VERIFICATION_REQUEST, "The vault password verification request is not valid.")
    target_id = asked["agent_id"] or agent_id
    target = agent if target_id == agent_id else rt.store.get_agent(project_id, target_id)
    requests.verification_target(agent_vault(target, rt.settings.region), target_id)
    document, event = requests.verification_request(
        project_id, rt.new_id(), agent_id, target_id, now(), asked["encrypted_password_hex"]
    )
    return _ask(document, event, _agent_request_url(document))


@bp.get("/agents/<agent:agent_id>/vault-password-verification-requests/<id:request_id>")
def verification_results(project_id: str, agent_id: str, request_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    runtime().store.get_agent(project_id, agent_id)
    document = _request(VAULT_PASSWORD_VERIFICATION_REQUEST, project_id, request_id, agent_id, None)
    return jsonify(requests.results_body(document))


@bp.post("/agents/<agent:agent_id>/vault-password-verification-requests/<id:request_id>")
def report_verification(project_id: str, agent_id: str, request_id: str) -> Response:
    checks.authorize(project_id, Action.UPDATE)
    runtime().store.get_agent(project_id, agent_id)
    current = _request(VAULT_PASSWORD_VERIFICATION_REQUEST, project_id, request_id, agent_id, None)
    _report(current, VERIFICATION_RESULTS, requests.verification_results)
    return no_content()


# Moving a vault.


def _owned_agent(project_id: str, agent_id: str) -> Agent:
    """The agent; the page's 403 when it is another project's, 404 when there is none."""
    store = runtime().store
    try:
        return store.get_agent(project_id, agent_id)
    except NotFound:
        if agent_id in store.agent_projects([agent_id]):
            raise Forbidden(
                requests.MOVE_OTHER_PROJECT,
                [f"agent_id: agent '{agent_id}' is not owned by project '{project_id}'"],
            ) from None
        raise


def _objects(project_id: str, container: str) -> int:
    try:
        count, _ = runtime().store.container_usage(project_id, container)
    except NotFound:
        return 0
    return count


@bp.post("/agents/<agent:agent_id>/vault")
def move_vault(project_id: str, agent_id: str) -> Response:
    """The page: the source's vault becomes the URL agent's, the source gets a new empty one,
    the backups in it become the destination's; both agents in one store write. Order:
    401/403, 403/404 (the destination), 415, 413, 400, 403/404 (the source), the page's 403s."""
    checks.authorize(project_id, Action.UPDATE)
    rt = runtime()
    destination = _owned_agent(project_id, agent_id)
    source_id = _load(VAULT_MOVE, "The vault move is not valid.")["source_agent_id"]
    requests.check_move_body(source_id, agent_id)
    source = _owned_agent(project_id, source_id)
    region = rt.settings.region
    move = requests.VaultMove(source_id, agent_id, rt.new_id(), region)
    move.check(source, destination, _objects(project_id, agent_vault(destination, region).name))
    moves = [DocumentMove(kind, source_id, agent_id, move.rehomed) for kind in requests.MOVED_KINDS]
    rt.store.update_agents(project_id, (source_id, agent_id), move.moved, moves)
    return no_content()
