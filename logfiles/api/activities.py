"""Activities: the backups, restores and cleanups of a project, an agent or a configuration."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .. import activities
from ..auth import Action
from ..kinds import CONFIGURATION
from ..schemas.activities import ACTIVITY_QUERY
from . import checks, runtime
from .links import ActivityUrls, paging_links

bp = Blueprint("activities", __name__, url_prefix="/v2/<id:project_id>")


@bp.get("/activities", endpoint="project_activities")
@bp.get("/agents/<id:agent_id>/activities", endpoint="agent_activities")
@bp.get("/configurations/<id:configuration_id>/activities", endpoint="configuration_activities")
def list_activities(
    project_id: str, agent_id: str | None = None, configuration_id: str | None = None
) -> Response:
    """401/403, 404 for an unknown agent or configuration, 400 for the query; one page."""
    checks.authorize(project_id, Action.READ)
    store = runtime().store
    if agent_id is not None:
        store.get_agent(project_id, agent_id)
    if configuration_id is not None:
        store.documents.get(CONFIGURATION, project_id, configuration_id)
    given = checks.load_query(ACTIVITY_QUERY, "The activity list parameters are not valid.")
    query = activities.ActivityQuery(project_id, agent_id, configuration_id, **given)
    page = activities.list_activities(store.documents.get, store.documents.query, query)
    urls = ActivityUrls()
    items = [activities.activity(job, urls) for job in page.items]
    limit = query.limit if "limit" in request.args else None
    first, last = (page.items[0].id, page.items[-1].id) if page.items else (None, None)
    return jsonify(
        {
            "activities": items,
            "links": paging_links(first, last, page.more, query.marker is not None, limit, query.descending),
        }
    )
