"""Agents: register, list, details, update, status, delete, and an agent's own authentication."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from .. import events
from ..auth import TOKEN_LIFETIME, Action, IssuedToken, new_token_id
from ..config import Settings
from ..errors import Conflict, Forbidden, NotFound, Unauthorized, UnsupportedMediaType
from ..journal import clip, mask_members
from ..model import (
    Agent,
    agent_vault,
    default_use_internal,
    format_time,
    is_online,
    new_vault,
    password_hash,
    password_matches,
    patched_agent,
)
from ..patch import parse_agent_patch
from ..schemas import AGENT_AUTH, AGENT_LIST_QUERY, REGISTRATION, AgentSchema
from . import checks, no_content, now, runtime
from .links import agent_links, agent_url, machine_links, next_link, vault_links

bp = Blueprint("agents", __name__, url_prefix="/v2/<id:project_id>/agents")
AGENT = AgentSchema()
# The PATCH page's 403 message, as it writes it.
VAULT_NOT_EMPTY = "The vault property (region) cannot be updated, reason: vault is not empty."
PATCH_MEDIA = (checks.JSON_PATCH, checks.JSON)  # SPEC (ours): the service's own SDK sends the second


def agent_body(agent: Agent, settings: Settings, password: str | None = None) -> dict[str, Any]:
    """The agent as the pages show it: its registration (host with the machine's links, no
    fingerprint), what the service assigned, its vault with links, its links."""
    registration = agent.registration
    host = dict(registration.get("host") or {})
    machine = dict(host.get("machine") or {})
    machine["links"] = machine_links(agent.project_id, str(machine.get("id", "")))
    host["machine"] = machine
    vault = agent_vault(agent, settings.region)
    body = {
        **registration,
        "host": host,
        "id": agent.id,
        "project_id": agent.project_id,
        "enabled": agent.enabled,
        "vault": {**vault.as_dict(), "links": vault_links(settings, agent.project_id, vault.name)},
        "log_level": agent.log_level,
        "registered_time": format_time(agent.registered_time),
        "links": agent_links(agent_url(agent.project_id, agent.id)),
    }
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
    agent_id = rt.new_id()
    # SPEC: every agent has a vault from its registration; `use_internal` as the body gives it,
    # else the register page's default for the host's flavor.
    use_internal = registration.get("vault", {}).get("use_internal")
    if use_internal is None:
        use_internal = default_use_internal(registration["host"]["flavor"])
    vault = new_vault(rt.new_id(), rt.settings.region, use_internal)
    agent = Agent(
        id=agent_id,
        project_id=project_id,
        registered_time=now(),
        registration={**registration, "vault": vault.as_dict()},
        password_sha256=password_hash(password),
        # SPEC: the agent's tokens are "the token of the user who registered the agent".
        roles=None if grant is None else grant.roles,
    )
    rt.store.add_agent(agent, [events.agent_registered(agent, rt.new_id())])
    location = agent_url(project_id, agent.id)
    return jsonify(agent_body(agent, rt.settings, password=password)), 201, {"Location": location}


@bp.get("")
def list_agents(project_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    query = checks.load_query(AGENT_LIST_QUERY, "The list parameters are not valid.")
    rt = runtime()
    machine_id = query.get("host_machine_id")
    page = rt.store.list_agents(project_id, query["limit"], query.get("marker"), machine_id)
    body: dict[str, Any] = {"agents": [agent_body(agent, rt.settings) for agent in page.items]}
    if page.more:
        keep = {} if machine_id is None else {"host_machine_id": machine_id}
        body["links"] = [next_link(query["limit"], page.items[-1].id, **keep)]
    return jsonify(body)


@bp.get("/<agent:agent_id>")
def get_agent(project_id: str, agent_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    rt = runtime()
    return jsonify(agent_body(rt.store.get_agent(project_id, agent_id), rt.settings))


@bp.patch("/<agent:agent_id>")
def update_agent(project_id: str, agent_id: str) -> Response:
    """The page's paths (`/enabled`, `/log_level`, `/vault/region`, `/vault/use_internal`),
    with the log-file PATCH's checks: 401, 403, 404, 415, 413, 400; then the page's 403 when
    the vault's region would change while its container holds an object (a state check, so
    last, where a 409 would be). All or nothing; a same-value change writes nothing."""
    checks.authorize(project_id, Action.UPDATE)
    rt = runtime()
    agent = rt.store.get_agent(project_id, agent_id)
    if request.mimetype not in PATCH_MEDIA:
        shown = request.headers.get("Content-Type") or "none"
        raise UnsupportedMediaType(
            f"The request body must be sent as {checks.JSON_PATCH} (or {checks.JSON}).",
            [f"Content-Type: '{shown}' is neither {checks.JSON_PATCH} nor {checks.JSON}"],
        )
    changes = parse_agent_patch(checks.read_json())
    region = rt.settings.region
    vault = agent_vault(agent, region)
    if agent_vault(patched_agent(agent, changes, region), region).region != vault.region:
        count, _ = _usage(project_id, vault.name)
        if count:
            raise Forbidden(
                VAULT_NOT_EMPTY,
                [
                    f"/vault/region: the vault '{vault.name}' holds {count} object(s);"
                    " its region can change only while it is empty"
                ],
            )
    rt.store.update_agent(project_id, agent_id, lambda current: patched_agent(current, changes, region))
    return no_content()


def _usage(project_id: str, container: str) -> tuple[int, int]:
    """The container's object count and bytes; none while it does not exist."""
    try:
        return runtime().store.container_usage(project_id, container)
    except NotFound:
        return 0, 0


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
