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


def next_link(limit: int, marker: str) -> dict[str, str]:
    """The `next` page of the list being answered: the same URL, the same limit, after `marker`."""
    query = urlencode({"limit": limit, "marker": marker})
    return {"href": f"{request.base_url}?{query}", "rel": "next"}


def feed_links(
    query: EventQuery, items: list[Event], keep_limit: bool, descending_by_default: bool = False
) -> list[dict[str, str]]:
    """The guide's `next` and `previous` links of an events feed, always both.

    `next` goes on in the page's direction from its last event (or from the marker given, so
    a poll that found nothing polls again from the same place); `previous` goes the other
    way from its first, as the pages' `previous` (`marker=<first id>&sort_dir=desc` after an
    ascending page). `sort_dir=desc` is always written, `sort_dir=asc` only where it is not
    the feed's default (the project's feed: `desc` by default); `limit` is repeated only when
    the request gave one.
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
