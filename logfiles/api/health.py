"""Health check, health details, ping and summary settings (the guide's healthCheck and
summarySettings sections). Thin: the checks in SPEC order, the core (health.py,
summary_settings.py), the answer."""

from __future__ import annotations

import logging
import socket
from typing import Any

from flask import Blueprint, Response, jsonify

from .. import health, summary_settings
from ..auth import Action
from ..objects import LOG_CONTAINER, ListingQuery
from . import checks, no_content, runtime
from .links import host_url, segment
from .pipeline import store_free

bp = Blueprint("health", __name__, url_prefix="/v2/<id:project_id>")
log = logging.getLogger("logfiles")
RETRY_AFTER_SECONDS = 1


def _statuses(project_id: str) -> list[health.Status]:
    """Every dependent system, probed now: the store as /healthz asks it, the object store by a
    one-item listing of the project's logs container, this process by answering at all."""
    store = runtime().store
    stored = health.probe(health.STORE, store.health)
    objects = health.after(
        stored,
        health.OBJECT_STORE,
        lambda: store.list_objects(project_id, LOG_CONTAINER, ListingQuery(limit=1)),
    )
    serving = health.Status(health.TRANSPORT, True, extra={"node": socket.gethostname()})
    statuses = [stored, objects, serving]
    if problems := health.problems(statuses):
        log.warning("health of project %s: %s", project_id, "; ".join(problems))
    return statuses


def _answer(body: dict[str, Any], status: int) -> tuple[Response, int, dict[str, str]]:
    """The report with the page's status; a 503 also says when to ask again, as the store's do."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {}
    return jsonify(body), status, headers


def _url_of(project_id: str) -> Any:
    base = f"{host_url()}/v2/{segment(project_id)}/health/"
    return lambda name: base + name


@bp.get("/health")
@store_free
def health_check(project_id: str) -> tuple[Response, int, dict[str, str]]:
    """200, or 503 with the same report (the page's 503 body) if any system has an issue."""
    checks.authorize(project_id, Action.READ)
    statuses = _statuses(project_id)
    return _answer(health.report(statuses, _url_of(project_id)), health.http_status(statuses))


@bp.get("/health/<id:dependent_system>")
@store_free
def health_details(project_id: str, dependent_system: str) -> tuple[Response, int, dict[str, str]]:
    """One system's entry: 200 online, 503 offline (the page's two examples); 404 unknown."""
    checks.authorize(project_id, Action.READ)
    health.require_known(dependent_system)
    (status,) = [s for s in _statuses(project_id) if s.name == dependent_system]
    body = health.entry(status, _url_of(project_id)(status.name))
    return _answer(body, health.http_status([status]))


@bp.get("/ping")
@store_free
def ping(project_id: str) -> Response:
    """The page: 204 while the service runs (a load balancer's check; it reads nothing)."""
    checks.authorize(project_id, Action.READ)
    return no_content()


@bp.get("/settings/summaries")
def get_summary_settings(project_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    return jsonify(summary_settings.read(runtime().store.documents, project_id))


@bp.put("/settings/summaries")
def put_summary_settings(project_id: str) -> Response:
    """Replace the settings whole. A change of the project's, as PATCH of an agent is: the
    update right (creator and admin; observers 403). Order: 401/403, 415, 413, 400."""
    checks.authorize(project_id, Action.UPDATE)
    checks.require_content_type(checks.JSON)
    body = summary_settings.load(checks.read_json())
    summary_settings.replace(runtime().store.documents, project_id, body)
    return no_content()
