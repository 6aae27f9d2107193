"""Agents: register, list, details, update, status, delete, and an agent's own authentication."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, g, jsonify

from .. import events
from ..auth import TOKEN_LIFETIME, Action, IssuedToken, new_token_id
from ..errors import Conflict, NotFound, Unauthorized
from ..journal import clip, mask_members
from ..model import Agent, format_time, is_online, password_hash, password_matches
from ..patch import parse_enabled_patch
from ..schemas import AGENT_AUTH, PAGE_QUERY, REGISTRATION, AgentSchema
from . import checks, no_content, now, runtime
from .links import agent_url, next_link

bp = Blueprint("agents", __name__, url_prefix="/v2/<id:project_id>/agents")
AGENT = AgentSchema()


def agent_body(agent: Agent, password: str | None = None) -> dict[str, Any]:
    body = dict(agent.registration)
    body.update(
        id=agent.id,
        project_id=agent.project_id,
        enabled=agent.enabled,
        log_level=agent.log_level,
        registered_time=format_time(agent.registered_time),
        links=[{"href": agent_url(agent.project_id, agent.id), "rel": "self"}],
    )
    if password is not None:
        body["password"] = password
    shown: dict[str, Any] = AGENT.dump(body)
    return shown


@bp.post("")
def register_agent(project_id: str) -> tuple[Response, int, dict[str, str]]:
    grant = checks.authorize(project_id, Action.CREATE)
    registration = checks.load_json(REGISTRATION, "The agent registration is not valid.")
    rt = runtime()
    password = rt.new_id()
    agent = Agent(
        id=rt.new_id(),
        project_id=project_id,
        registered_time=now(),
        registration=registration,
        password_sha256=password_hash(password),
        # SPEC: the agent's tokens are "the token of the user who registered the agent".
        roles=None if grant is None else grant.roles,
    )
    rt.store.add_agent(agent, [events.agent_registered(agent, rt.new_id())])
    location = agent_url(project_id, agent.id)
    return jsonify(agent_body(agent, password=password)), 201, {"Location": location}


@bp.get("")
def list_agents(project_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    query = checks.load_query(PAGE_QUERY, "The list parameters are not valid.")
    page = runtime().store.list_agents(project_id, query["limit"], query.get("marker"))
    body: dict[str, Any] = {"agents": [agent_body(agent) for agent in page.items]}
    if page.more:
        body["links"] = [next_link(query["limit"], page.items[-1].id)]
    return jsonify(body)


@bp.get("/<agent:agent_id>")
def get_agent(project_id: str, agent_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    return jsonify(agent_body(runtime().store.get_agent(project_id, agent_id)))


@bp.patch("/<agent:agent_id>")
def update_agent(project_id: str, agent_id: str) -> Response:
    """The guide lets a client change only `enabled`; the checks are the log-file PATCH's."""
    checks.authorize(project_id, Action.UPDATE)
    store = runtime().store
    store.get_agent(project_id, agent_id)
    checks.require_content_type(checks.JSON_PATCH)
    enabled = parse_enabled_patch(checks.read_json())[-1]
    store.update_agent(
        project_id,
        agent_id,
        lambda agent: agent if agent.enabled is enabled else replace(agent, enabled=enabled),
    )
    return no_content()


@bp.get("/<agent:agent_id>/status")
def agent_status(project_id: str, agent_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    store = runtime().store
    agent = store.get_agent(project_id, agent_id)
    busy = store.agent_busy(project_id, agent_id)
    return jsonify({"busy": busy, "online": is_online(agent, now())})


@bp.delete("/<agent:agent_id>")
def delete_agent(project_id: str, agent_id: str) -> Response:
    checks.authorize(project_id, Action.DELETE)
    runtime().store.delete_agent(project_id, agent_id)
    return no_content()


@bp.post("/tokens")
def authenticate_agent(project_id: str) -> Response:
    """SPEC: no X-Auth-Token here; the agent's id and password (from its registration) decide.

    Order: 415, 413, 400 (the body), then 401 (who it is), then 409 (the fingerprint).
    """
    try:
        credentials = checks.load_json(AGENT_AUTH, "The agent credentials are not valid.")
    finally:
        # As Identity's: the password never reaches the journal (a 400's body included).
        if g.get("body"):
            g.body = mask_members(g.body, ("password",))
    rt = runtime()
    agent_id = credentials["id"]
    try:
        agent: Agent | None = rt.store.get_agent(project_id, agent_id)
    except NotFound:
        agent = None
    if agent is None or not password_matches(agent, credentials["password"]):
        raise Unauthorized(
            "The agent id or password is not valid.",
            [f"id, password: no agent '{clip(agent_id, 64)}' with this password in project '{project_id}'"],
        )
    fingerprint = (credentials.get("host") or {}).get("fingerprint")
    if fingerprint is not None and fingerprint != agent.fingerprint:
        raise Conflict(
            "The host's fingerprint is not the one this agent registered with: "
            "two agents may be authenticating as one.",
            [f"host.fingerprint: '{clip(fingerprint, 64)}' differs from the registered fingerprint"],
        )
    moment = now()
    token = IssuedToken(new_token_id(), agent.project_id, agent.roles, moment + TOKEN_LIFETIME, agent.id)
    rt.store.add_token(token)
    rt.store.touch_agent(project_id, agent.id, moment)
    return jsonify({"token": {"id": token.id, "expires": format_time(token.expires)}})
