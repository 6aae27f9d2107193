"""The dashboard's jobs fragments: an agent's vault and its backups, restores and cleanups, and
the pane where a person watches one job's progress (logfiles/dashboard/jobs.py reads them).

A blueprint of its own under the dashboard's prefix, guarded and protected as the dashboard's
fragments are (the same functions), so that api/dashboard.py stays one screenful of views.
"""

from __future__ import annotations

from flask import Blueprint, Response
from marshmallow import RAISE, Schema, fields, validate

from ..activities import JOB_KIND_NAMES, JOB_STATES
from ..dashboard import jobs
from ..documents import Query
from ..errors import NotFound
from ..events import EventQuery, oldest_kept
from ..kinds import JOB_KINDS
from ..model import agent_vault
from ..schemas import MAX_ID_LENGTH
from . import checks, now, runtime
from .dashboard import fragment, protect, require_token_for_fragments

bp = Blueprint("dashboard_jobs", __name__, url_prefix="/_control/dashboard")
bp.before_request(require_token_for_fragments)
bp.after_request(protect)

# The newest jobs of each kind shown for an agent (the API's lists page through the rest).
JOBS_SHOWN = 10
# The newest events of the job's agent's feed read for the job's own: a bounded read each poll,
# whatever the feed's length (an older event of the job is left out of its pane, not its route).
HISTORY_READ = 500
_ID = validate.Length(min=1, max=MAX_ID_LENGTH)


class JobsQuerySchema(Schema):
    """The jobs fragment: one agent's vault and newest jobs."""

    class Meta:
        unknown = RAISE

    project = fields.String(required=True, validate=_ID)
    agent = fields.String(required=True, validate=_ID)


class JobQuerySchema(Schema):
    """The watched job: its kind and id in its project."""

    class Meta:
        unknown = RAISE

    project = fields.String(required=True, validate=_ID)
    kind = fields.String(required=True, validate=validate.OneOf(list(JOB_STATES)))
    id = fields.String(required=True, validate=_ID)


JOBS_QUERY = JobsQuerySchema()
JOB_QUERY = JobQuerySchema()


@bp.get("/jobs")
def agent_jobs() -> Response:
    """The agent's vault (its container's object count and size) and its newest jobs of each
    kind, newest first; 404 when the agent is gone (the page then forgets it)."""
    query = checks.load_query(JOBS_QUERY, "The jobs filter is not valid.")
    project, agent_id = query["project"], query["agent"]
    rt = runtime()
    agent = rt.store.get_agent(project, agent_id)
    vault = agent_vault(agent, rt.settings.region)
    try:
        usage: tuple[int, int] | None = rt.store.container_usage(project, vault.name)
    except NotFound:  # no backup has written to it yet
        usage = None
    kinds = []
    for kind in JOB_KINDS:
        found = rt.store.documents.query(
            Query(kind, project, parent=agent_id, sort="time", descending=True, limit=JOBS_SHOWN)
        )
        kinds.append((kind.name, [jobs.job_row(document) for document in found.items], found.more))
    return fragment(
        "jobs.html",
        project=project,
        agent=agent_id,
        vault=vault,
        usage=usage,
        kinds=kinds,
        titles=jobs.TITLES,
        shown=JOBS_SHOWN,
        size_text=jobs.size_text,
    )


@bp.get("/job")
def watched_job() -> Response:
    """One job's progress, times and results, as the page refreshes it while a person watches."""
    query = checks.load_query(JOB_QUERY, "The job is not valid.")
    store = runtime().store
    document = store.documents.get(JOB_KIND_NAMES[query["kind"]], query["project"], query["id"])
    feed = store.list_events(
        document.project_id, document.parent, EventQuery(HISTORY_READ, descending=True), oldest_kept(now())
    )
    shown = jobs.history(feed.items, document.kind, document.id)
    return fragment("job.html", job=jobs.job_row(document), history=shown)
