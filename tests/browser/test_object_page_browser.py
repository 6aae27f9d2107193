"""Issue 20's attack in Chromium: an uploaded page must not act on the stub that serves it.

An object with `Content-Type: text/html` (or named `x.html`) whose script POSTs to
`/_control/reset` is opened from its object URL and from its temp URL, in open mode, in strict
mode with `LOGFILES_CONTROL_OPEN=on`, and with `LOGFILES_CORS_ORIGINS=*` (where a page on any
site uploads it cross-origin with a temp URL signed with the built-in key and then navigates
to it). The object store's sandbox keeps the script from running, and the seeded agent stays.
A browser still gets an object's bytes: shown as text, or downloaded.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from playwright.sync_api import ConsoleMessage, Error, Page

from logfiles.config import DEFAULT_TEMP_URL_KEY
from tests.blackbox.conftest import LiveServer
from tests.browser.test_cors_browser import PageServer, page_server  # noqa: F401 - the fixture

PROJECT = "110011"
TOKEN = "0f6e9f63600142f0a970911583522217"
KEY = "strict-mode-temp-url-key"
AGENT = "agent-1"
LOGS = f"/cloudfiles/v1/MossoCloudFS_{PROJECT}/CloudBackupLogs"
TIMEOUT = 15.0
ATTACK = (
    "<!doctype html><title>an uploaded page</title><p id='shown'>uploaded page</p><script>"
    "fetch('/_control/reset', {method: 'POST'}).then("
    "(answer) => console.log('ran: reset ' + answer.status), (error) => console.log('ran: ' + error));"
    "</script>"
)
# Chromium's own line for a script the CSP sandbox kept from running.
BLOCKED = "Blocked script execution"


def sign(key: str, method: str, path: str) -> str:
    expires = int(time.time()) + 3600
    signature = hmac.new(key.encode(), f"{method}\n{expires}\n{path}".encode(), hashlib.sha1).hexdigest()
    return f"{path}?temp_url_sig={signature}&temp_url_expires={expires}"


def start(launch: Callable[..., LiveServer], tmp_path: Path, mode: str) -> tuple[LiveServer, str]:
    """The stub in `mode`, with one agent seeded; the temp-URL key it takes."""
    env = {"LOGFILES_CORS_ORIGINS": "*"} if mode == "cors-any" else {}
    key = DEFAULT_TEMP_URL_KEY
    if mode == "strict-control-open":
        tokens = tmp_path / "tokens.json"
        tokens.write_text(json.dumps({TOKEN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]}}))
        env = {
            "LOGFILES_TOKENS_FILE": str(tokens),
            "LOGFILES_CONTROL_OPEN": "on",
            "LOGFILES_TEMP_URL_KEY": KEY,
        }
        key = KEY
    server = launch(env=env)
    seeded = requests.post(
        f"{server.url}/_control/state",
        json={"agents": [{"id": AGENT, "project_id": PROJECT}]},
        timeout=TIMEOUT,
    )
    assert seeded.status_code == 200, seeded.text
    return server, key


def script_string(text: str) -> str:
    """`text` as a JavaScript string inside a <script> element (its `</script>` must not end it)."""
    return json.dumps(text).replace("</", "<\\/")


def agent_survived(server: LiveServer) -> bool:
    answer = requests.get(
        f"{server.url}/v2/{PROJECT}/agents/{AGENT}", headers={"X-Auth-Token": TOKEN}, timeout=TIMEOUT
    )
    return answer.status_code == 200


def ran_or_blocked(message: ConsoleMessage) -> bool:
    return message.text.startswith("ran:") or message.text.startswith(BLOCKED)


def open_and_watch(page: Page, url: str) -> str:
    """Open `url` and return the console line that says whether the page's script ran."""
    with page.expect_console_message(ran_or_blocked) as line:
        page.goto(url)
    return line.value.text


@pytest.mark.parametrize("mode", ["open", "strict-control-open", "cors-any"])
def test_an_uploaded_page_opened_from_its_urls_cannot_reset_the_stub(
    launch: Callable[..., LiveServer], tmp_path: Path, page: Page, mode: str
) -> None:
    server, key = start(launch, tmp_path, mode)
    auth = {"X-Auth-Token": TOKEN}
    for name, headers in (("page", {"Content-Type": "text/html; charset=utf-8"}), ("x.html", {})):
        put = requests.put(
            f"{server.url}{LOGS}/{name}", data=ATTACK, headers={**auth, **headers}, timeout=TIMEOUT
        )
        assert put.status_code == 201, put.text

    for name in ("page", "x.html"):
        line = open_and_watch(page, server.url + sign(key, "GET", f"{LOGS}/{name}"))
        assert line.startswith(BLOCKED), line
        assert page.inner_text("#shown") == "uploaded page"  # the page was shown, its script not run
        assert agent_survived(server), (mode, name, "temp URL")

    page.set_extra_http_headers(auth)  # the object URL, with a token as a proxy or extension would add it
    for name in ("page", "x.html"):
        line = open_and_watch(page, f"{server.url}{LOGS}/{name}")
        assert line.startswith(BLOCKED), line
        assert agent_survived(server), (mode, name, "object URL")


def test_with_cors_any_a_page_elsewhere_uploads_a_page_and_opens_it_and_nothing_is_wiped(
    launch: Callable[..., LiveServer],
    tmp_path: Path,
    page: Page,
    page_server: PageServer,  # noqa: F811
) -> None:
    server, key = start(launch, tmp_path, "cors-any")
    path = f"{LOGS}/planted.html"
    put_url, get_url = server.url + sign(key, "PUT", path), server.url + sign(key, "GET", path)
    page_server.html = (
        "<!doctype html><script>"
        f"fetch({json.dumps(put_url)}, {{method: 'PUT', headers: {{'Content-Type': 'text/html'}}, "
        f"body: {script_string(ATTACK)}}})"
        f".then(() => {{ location.href = {json.dumps(get_url)}; }}, (e) => console.log('put failed ' + e));"
        "</script>"
    ).encode()

    line = open_and_watch(page, page_server.origin)

    assert line.startswith(BLOCKED), line
    assert page.url == get_url
    stored = requests.get(get_url, timeout=TIMEOUT)
    assert (stored.text, stored.headers["Content-Type"]) == (ATTACK, "text/html")  # the upload did happen
    assert agent_survived(server)


def test_a_browser_still_gets_an_objects_bytes(
    launch: Callable[..., LiveServer], tmp_path: Path, page: Page
) -> None:
    server, key = start(launch, tmp_path, "open")
    text = "2014-09-23 12:22:40 backup started\n2014-09-23 12:22:41 <b>not markup</b>\n"
    log = gzip.compress(text.encode() * 200)
    for name, data, kind in (("log.txt", text.encode(), "text/plain"), ("log.gz", log, "application/gzip")):
        put = requests.put(
            f"{server.url}{LOGS}/{name}",
            data=data,
            headers={"X-Auth-Token": TOKEN, "Content-Type": kind},
            timeout=TIMEOUT,
        )
        assert put.status_code == 201, put.text

    shown = page.goto(server.url + sign(key, "GET", f"{LOGS}/log.txt"))
    assert shown is not None and shown.status == 200
    assert shown.headers["content-type"] == "text/plain"
    assert page.inner_text("body").rstrip("\n") == text.rstrip("\n")  # as text, not markup

    # Chromium ends the navigation to start the download: goto raises, the download goes on.
    with page.expect_download() as download, pytest.raises(Error, match="Download is starting"):
        page.goto(server.url + sign(key, "GET", f"{LOGS}/log.gz"))
    saved = download.value.path()
    assert Path(saved).read_bytes() == log
