"""The ceiling of our stack: bare Flask answering the benchmark's request shapes, doing nothing else.

Served by the same gunicorn settings as the stub (gunicorn.conf.py), so the ratio of the stub's
throughput to this app's is the share of the stack's capacity the stub's own code leaves.
Bodies are rendered once at import: the same shape and roughly the same bytes as the stub's
(a configuration's details: the same bytes but for two times),
with no per-request work beyond routing, so JSON encoding counts as the stub's cost. An object
upload is read whole and hashed (MD5, 64 KiB at a time, as the stub reads it) and kept nowhere;
a download answers the same 1 MiB the stub's seeded object holds, from memory.
"""

from __future__ import annotations

import hashlib
import json
from typing import cast

from flask import Flask, Response, request

from bench.scenarios import (
    CONFIG_AGENT,
    CONFIG_BODY,
    CONFIG_ID,
    FEED_PROJECT,
    OBJECT_BODY,
    OBJECT_MD5,
    fresh_markers,
)

# The stub lists 100 log files per page by default; the bench's a10 agent has only 10.
DEFAULT_PAGE = 100
PAGE_SIZES = {"a10": 10}
FAKE_ID = "00000000-0000-4000-8000-000000000000"
FAKE_DATE = "2014-09-23T00:00:00.000000Z"


def _logfile(project_id: str, agent_id: str, logfile_id: str) -> dict[str, object]:
    href = f"http://127.0.0.1/v2/{project_id}/agents/{agent_id}/logfiles/{logfile_id}"
    return {"date": FAKE_DATE, "id": logfile_id, "links": [{"href": href, "rel": "self"}], "state": "started"}


def _json(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


DETAILS = _json(_logfile("p", "a10", FAKE_ID))
PAGES = {size: _json({"logfiles": [_logfile("p", "a", FAKE_ID)] * size}) for size in {DEFAULT_PAGE, 10}}
# The stub's links carry the Host wrk sends: 127.0.0.1 and the bench's port (5 digits).
FEED_HOST = "http://127.0.0.1:40000"


def _feed_page(path: str, marker: int, project: bool = False) -> bytes:
    """A feed's page when nothing is new: no events, `next` from the marker, `previous` back.

    The project's feed is read with `sort_dir=asc` (newest first is its default), which its
    `next` link repeats."""
    url = f"{FEED_HOST}{path}?marker={marker}"
    ahead = f"{url}&sort_dir=asc" if project else url
    links = [{"href": ahead, "rel": "next"}, {"href": f"{url}&sort_dir=desc", "rel": "previous"}]
    return _json({"events": [], "links": links})


# Keyed by agent (the project's feed by project): the marker is each feed's latest event id.
FEEDS = {
    name: _feed_page(
        f"/v2/{FEED_PROJECT}/events" if name == FEED_PROJECT else f"/v2/{FEED_PROJECT}/agents/{name}/events",
        marker,
        project=name == FEED_PROJECT,
    )
    for name, marker in fresh_markers().items()
}


def _configuration() -> bytes:
    """The stub's details of the bench's configuration, member for member and in its order, with
    fixed times of the same length for its `schedule.start` and `next.scheduled_time`
    (`tests/bench` checks the two are the same bytes but for those)."""
    here = f"{FEED_HOST}/v2/p"
    own = f"{here}/configurations/{CONFIG_ID}"
    body: dict[str, object] = {
        "project_id": "p",
        "id": CONFIG_ID,
        "agent": {"id": CONFIG_AGENT, "links": [{"href": f"{here}/agents/{CONFIG_AGENT}", "rel": "full"}]},
    }
    body.update(CONFIG_BODY)
    # The stub shows the schedule's start first (the seed's moment, as the create route keeps it).
    body["schedule"] = {"start": "2014-08-05T18:22:21Z", **cast(dict[str, object], CONFIG_BODY["schedule"])}
    body["deleted"] = False
    body["backups"] = {"last_completed": None, "next": {"scheduled_time": "2014-08-05T20:22:21Z"}}
    body["links"] = [
        {"href": own, "rel": "self"},
        {"href": f"{own}/activities", "rel": "activities"},
        {"href": f"{own}/events", "rel": "events"},
    ]
    return _json(body)


CONFIGURATION = _configuration()
HEALTHY = _json({"status": "ok"})
LOGFILES = "/v2/<project_id>/agents/<agent_id>/logfiles"
EVENTS = "/v2/<project_id>/agents/<agent_id>/events"
CONFIGURATIONS = "/v2/<project_id>/configurations"
OBJECT = "/cloudfiles/v1/MossoCloudFS_<project_id>/<container>/<path:name>"
# The stub reads an upload this many bytes at a time (logfiles.objects.CHUNK_BYTES).
CHUNK_BYTES = 64 * 1024

app = Flask(__name__)


def _answer(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status=status, headers=headers, content_type="application/json")


@app.get("/healthz")
def healthz() -> Response:
    return _answer(HEALTHY)


@app.patch(f"{LOGFILES}/<logfile_id>")
def update_logfile(project_id: str, agent_id: str, logfile_id: str) -> tuple[str, int]:
    return "", 204


@app.get(f"{LOGFILES}/<logfile_id>")
def get_logfile(project_id: str, agent_id: str, logfile_id: str) -> Response:
    return _answer(DETAILS)


@app.get(LOGFILES)
def list_logfiles(project_id: str, agent_id: str) -> Response:
    return _answer(PAGES[PAGE_SIZES.get(agent_id, DEFAULT_PAGE)])


@app.post(LOGFILES)
def request_logfile(project_id: str, agent_id: str) -> Response:
    location = f"http://127.0.0.1/v2/{project_id}/agents/{agent_id}/logfiles/{FAKE_ID}"
    return _answer(DETAILS, 202, {"Location": location})


@app.get(EVENTS)
def agent_events(project_id: str, agent_id: str) -> Response:
    return _answer(FEEDS.get(agent_id, FEEDS[FEED_PROJECT]))


@app.get("/v2/<project_id>/events")
def project_events(project_id: str) -> Response:
    return _answer(FEEDS.get(project_id, FEEDS[FEED_PROJECT]))


@app.get(f"{CONFIGURATIONS}/<configuration_id>")
def get_configuration(project_id: str, configuration_id: str) -> Response:
    return _answer(CONFIGURATION)


@app.patch(f"{CONFIGURATIONS}/<configuration_id>")
def update_configuration(project_id: str, configuration_id: str) -> tuple[str, int]:
    return "", 204


@app.put(OBJECT)
def upload(project_id: str, container: str, name: str) -> Response:
    """Read the whole body as the stub does (64 KiB at a time, hashed), keep nothing: 201 and the ETag."""
    stream = request.environ["wsgi.input"]
    left = request.content_length or 0
    md5 = hashlib.md5(usedforsecurity=False)
    while left > 0:
        chunk = stream.read(min(CHUNK_BYTES, left))
        if not chunk:
            break
        left -= len(chunk)
        md5.update(chunk)
    return Response(b"", status=201, headers={"ETag": md5.hexdigest()})


@app.get(OBJECT)
def download(project_id: str, container: str, name: str) -> Response:
    """The 1 MiB object, canned at import: the same bytes as the stub's seeded one."""
    return Response(OBJECT_BODY, headers={"ETag": OBJECT_MD5}, content_type="application/octet-stream")
