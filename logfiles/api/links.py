"""Absolute URLs: `self` links, `Location`, object-store links and temp-URL signatures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode, urlsplit

from flask import request

from .. import tempurl
from ..config import Settings
from ..events import Event, EventQuery
from ..identity import object_store_url
from ..model import LogFile, LogFileState, format_time

TEMP_URL_LIFETIME = timedelta(days=1)


def host_url() -> str:
    """`<scheme>://<host>` of the request, as the client addressed us."""
    return request.host_url.rstrip("/")


def next_link(limit: int, marker: str, **keep: str) -> dict[str, str]:
    """The `next` page of the list being answered: the same URL, the same limit (and the
    filters in `keep`), after `marker`."""
    query = urlencode({**keep, "limit": limit, "marker": marker})
    return {"href": f"{request.base_url}?{query}", "rel": "next"}


def feed_links(
    query: EventQuery, items: list[Event], keep_limit: bool, descending_by_default: bool = False
) -> list[dict[str, str]]:
    """The guide's `next` and `previous` links of an events feed, always both.

    `next` goes on in the page's direction from its last event (or from the marker given, so
    a poll that found nothing polls again from the same place); `previous` goes the other
    way from its first, as the pages' `previous` (`marker=<first id>&sort_dir=desc` after an
    ascending page). `sort_dir=desc` is always written, `sort_dir=asc` only where it is not
    the feed's default (the project's and a configuration's feeds: `desc` by default);
    `limit` is repeated only when the request gave one.
    """

    # Every value is a number or a direction, which urlencode would leave as they are: the
    # query is joined directly, and the request's URL read once (a poll makes these on every call).
    base = request.base_url
    limit = [f"limit={query.limit}"] if keep_limit else []

    def href(marker: int | None, descending: bool) -> str:
        params = [f"marker={marker}"] if marker is not None else []
        params += limit
        if descending:
            params.append("sort_dir=desc")
        elif descending_by_default:
            params.append("sort_dir=asc")
        return f"{base}?{'&'.join(params)}" if params else base

    last = items[-1].id if items else query.marker
    first = items[0].id if items else query.marker
    return [
        {"href": href(last, query.descending), "rel": "next"},
        {"href": href(first, not query.descending), "rel": "previous"},
    ]


def version_url(version: str) -> str:
    """Where the versions document sends a client to read one version."""
    return f"{host_url()}/{version}"


def segment(value: str) -> str:
    """One path segment, percent-encoded: an id may hold a space, `?` or `#`."""
    return quote(value, safe="")


def agent_url(project_id: str, agent_id: str) -> str:
    return f"{host_url()}/v2/{segment(project_id)}/agents/{segment(agent_id)}"


# The rels beside `self` that the agent pages show, each the agent's URL and itself.
AGENT_RELS = ("activities", "configuration", "configurations", "events", "logfiles", "status")


def agent_links(url: str) -> list[dict[str, str]]:
    """An agent's `links`, from its URL: `self`, then its sub-resources as the pages list them."""
    return [{"href": url, "rel": "self"}] + [{"href": f"{url}/{rel}", "rel": rel} for rel in AGENT_RELS]


def machine_links(project_id: str, machine_id: str) -> list[dict[str, str]]:
    """`host.machine.links`: (ours) the page's `full` link to the Cloud Servers server, on this
    server (`/cloudservers/v2/{project_id}/servers/{id}`), which serves no Cloud Servers and so
    answers 404 (SPEC: it may point nowhere), rather than at a real service."""
    href = f"{host_url()}/cloudservers/v2/{segment(project_id)}/servers/{segment(machine_id)}"
    return [{"href": href, "rel": "full"}]


def vault_links(settings: Settings, project_id: str, vault_name: str) -> list[dict[str, str]]:
    """The vault's `publicURL` and `internalURL`: its container in the object store that the
    log files' links use (this server's unless LOGFILES_OBJECT_STORE_URL); one server, so the
    internal URL is the public one (as Identity's catalog gives it)."""
    url = f"{object_store_url(host_url(), project_id, settings.object_store_url)}/{segment(vault_name)}"
    return [{"href": url, "rel": "publicURL"}, {"href": url, "rel": "internalURL"}]


def logfile_url(logfile: LogFile, agent: str | None = None) -> str:
    """`agent` is the agent's URL when the caller has it already (a list page)."""
    agent = agent or agent_url(logfile.project_id, logfile.agent_id)
    return f"{agent}/logfiles/{segment(logfile.id)}"


def object_url(settings: Settings, logfile: LogFile) -> str:
    """SPEC: `.../CloudBackupLogs/v2/{agent_id}/{date with ':' replaced by '-'}.gz`."""
    base = object_store_url(host_url(), logfile.project_id, settings.object_store_url)
    name = format_time(logfile.date).replace(":", "-")
    return f"{base}/CloudBackupLogs/v2/{segment(logfile.agent_id)}/{name}.gz"


def temp_url(settings: Settings, url: str, now: datetime) -> str:
    """An OpenStack Swift temp URL: HMAC-SHA1 over method, expiry and object path."""
    expires = int((now + TEMP_URL_LIFETIME).timestamp())
    sig = tempurl.sign(settings.temp_url_key, "GET", expires, urlsplit(url).path)
    return f"{url}?temp_url_sig={sig}&temp_url_expires={expires}"


def logfile_links(
    settings: Settings, logfile: LogFile, now: Callable[[], datetime], agent: str | None = None
) -> list[dict[str, str]]:
    """`self` always; `logfile` and `logfile_temp_url` once the upload is completed.

    `now` is called only for a completed log file: reading the clock may cost a query.
    """
    links = [{"href": logfile_url(logfile, agent), "rel": "self"}]
    if logfile.state is LogFileState.COMPLETED:
        url = object_url(settings, logfile)
        links.append({"href": url, "rel": "logfile"})
        links.append({"href": temp_url(settings, url, now()), "rel": "logfile_temp_url"})
    return links


# A job kind's name -> its collection in the URL (the jobs' routes: /backups/<id>...).
JOB_COLLECTIONS = {"backup": "backups", "restore": "restores", "cleanup": "cleanups"}


class ActivityUrls:
    """activities.Urls from this request's host (read once per page): the agent, the
    configuration (`/v2/{p}/configurations/{id}`) and the job (`/v2/{p}/backups/{id}`...)."""

    def __init__(self) -> None:
        self.base = f"{host_url()}/v2/"

    def agent(self, project_id: str, agent_id: str) -> str:
        return f"{self.base}{segment(project_id)}/agents/{segment(agent_id)}"

    def configuration(self, project_id: str, configuration_id: str) -> str:
        return f"{self.base}{segment(project_id)}/configurations/{segment(configuration_id)}"

    def job(self, kind: str, project_id: str, job_id: str) -> str:
        return f"{self.base}{segment(project_id)}/{JOB_COLLECTIONS[kind]}/{segment(job_id)}"


def paging_links(
    first: str | None, last: str | None, more: bool, had_marker: bool, limit: int | None, descending: bool
) -> list[dict[str, str]]:
    """`next` (when more follow: after the page's last item, the same way) and `previous`
    (when the request had a marker: before its first item, the other way) of a list whose
    default `sort_dir` is `desc`, as the activities pages show them. `limit` is repeated
    only when the request gave one."""

    def href(marker: str, desc: bool) -> str:
        params = {"marker": marker}
        if limit is not None:
            params["limit"] = str(limit)
        if not desc:
            params["sort_dir"] = "asc"
        return f"{request.base_url}?{urlencode(params)}"

    links = []
    if more and last is not None:
        links.append({"href": href(last, descending), "rel": "next"})
    if had_marker and first is not None:
        links.append({"href": href(first, not descending), "rel": "previous"})
    return links
