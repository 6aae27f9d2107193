"""Agents: register, details, delete (only what log files need)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from ..auth import Action
from ..model import Agent, format_time
from ..schemas import REGISTRATION, AgentSchema
from . import checks, no_content, now, runtime
from .links import agent_url

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
    checks.authorize(project_id, Action.CREATE)
    registration = checks.load_json(REGISTRATION, "The agent registration is not valid.")
    rt = runtime()
    agent = Agent(
        id=rt.new_id(),
        project_id=project_id,
        registered_time=now(),
        registration=registration,
    )
    rt.store.add_agent(agent)
    location = agent_url(project_id, agent.id)
    return jsonify(agent_body(agent, password=rt.new_id())), 201, {"Location": location}


@bp.get("/<id:agent_id>")
def get_agent(project_id: str, agent_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    return jsonify(agent_body(runtime().store.get_agent(project_id, agent_id)))


@bp.delete("/<id:agent_id>")
def delete_agent(project_id: str, agent_id: str) -> Response:
    checks.authorize(project_id, Action.DELETE)
    runtime().store.delete_agent(project_id, agent_id)
    return no_content()
