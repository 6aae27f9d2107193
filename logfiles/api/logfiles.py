"""Log files: request, list, details, update (the seed PATCH) and delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from .. import events
from ..auth import Action
from ..model import LogFile, change_state, format_time, states_entered
from ..patch import parse_state_patch
from ..schemas import PAGE_QUERY
from . import checks, no_content, now, runtime
from .links import agent_url, logfile_links, logfile_url, next_link, object_url

bp = Blueprint("logfiles", __name__, url_prefix="/v2/<id:project_id>/agents/<id:agent_id>/logfiles")


def logfile_bodies(logfiles: list[LogFile], project_id: str, agent_id: str) -> list[dict[str, Any]]:
    """The guide's log file bodies, in its member order (LogFileSchema documents them).

    Built directly rather than through `LogFileSchema.dump`: a list page holds up to a
    thousand, and the schema would only copy what is built here.
    """
    rt = runtime()
    agent = agent_url(project_id, agent_id)
    return [
        {
            "id": logfile.id,
            "date": format_time(logfile.date),
            "state": logfile.state.value,
            "links": logfile_links(rt.settings, logfile, now, agent),  # reads the clock only if needed
        }
        for logfile in logfiles
    ]


@bp.post("")
def request_logfile(project_id: str, agent_id: str) -> tuple[Response, int, dict[str, str]]:
    checks.authorize(project_id, Action.CREATE)
    rt = runtime()
    logfile = LogFile(id=rt.new_id(), project_id=project_id, agent_id=agent_id, date=now())
    # The agent learns of it from its feed: the upload link is the completed log file's `logfile`.
    upload = events.logfile_upload(logfile, object_url(rt.settings, logfile))
    rt.store.add_logfile(logfile, [upload])  # NotFound when there is no such agent
    return (
        jsonify(logfile_bodies([logfile], project_id, agent_id)[0]),
        202,
        {"Location": logfile_url(logfile)},
    )


@bp.get("")
def list_logfiles(project_id: str, agent_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    rt = runtime()
    rt.store.get_agent(project_id, agent_id)
    query = checks.load_query(PAGE_QUERY, "The list parameters are not valid.")
    page = rt.store.list_logfiles(project_id, agent_id, query["limit"], query.get("marker"))
    body: dict[str, Any] = {"logfiles": logfile_bodies(page.items, project_id, agent_id)}
    if page.more:
        body["links"] = [next_link(query["limit"], page.items[-1].id)]
    return jsonify(body)


@bp.get("/<id:logfile_id>")
def get_logfile(project_id: str, agent_id: str, logfile_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    logfile = runtime().store.get_logfile(project_id, agent_id, logfile_id)
    return jsonify(logfile_bodies([logfile], project_id, agent_id)[0])


@bp.patch("/<id:logfile_id>")
def update_logfile(project_id: str, agent_id: str, logfile_id: str) -> Response:
    checks.authorize(project_id, Action.UPDATE)
    store = runtime().store
    current = store.get_logfile(project_id, agent_id, logfile_id)
    checks.require_content_type(checks.JSON_PATCH)
    targets = parse_state_patch(checks.read_json())
    # A retry that changes nothing (or a 409) is decided on what was just read, with no write:
    # that read is a moment the answer was true. Only a real change goes through the store's
    # atomic check-and-set, which applies the patch again to the state current by then.
    if change_state(current, targets) is not current:
        moment = now()
        store.update_logfile(
            project_id,
            agent_id,
            logfile_id,
            lambda logfile: change_state(logfile, targets),
            lambda before, _after: events.states_events(before, states_entered(before, targets), moment),
            expected=current,
        )
    return no_content()


@bp.delete("/<id:logfile_id>")
def delete_logfile(project_id: str, agent_id: str, logfile_id: str) -> Response:
    checks.authorize(project_id, Action.DELETE)
    runtime().store.delete_logfile(project_id, agent_id, logfile_id)
    return no_content()
