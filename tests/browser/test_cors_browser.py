"""CORS in a real browser: a page on another port PATCHes a log file on a stub under gunicorn.

The page comes from a tiny `http.server` on its own free 127.0.0.1 port, so its origin is not
the stub's: Chromium sends the preflight and then the PATCH exactly as a control panel's page
would. With the stub's CORS off the same page's fetch fails, and nothing changes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Page

from logfiles.client import StubClient
from tests.blackbox.conftest import LiveServer
from tests.browser.conftest import ConsoleLog, screenshot
from tests.conftest import PROJECT

AGENT = "agent-1"
LOGFILE = "log-1"
TOKEN = "any-token"  # open mode: any token may do anything
# Chromium's two console lines for a fetch the CORS check refused; any other error is a failure.
CORS_FAILURE = ("blocked by CORS policy", "net::ERR_FAILED")

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>CORS from another origin</title>
<pre id="result">running</pre>
<script>
const stub = STUB;
const agent = `${stub}/v2/PROJECT/agents/AGENT`;
const token = {"X-Auth-Token": "TOKEN"};

async function run() {
  const result = {};
  try {
    if (location.pathname === "/missing") {
      // An error answer: its status, body and headers are the page's to read too.
      const missing = await fetch(`${agent}/logfiles/no-such-log`, {headers: token});
      result.missing = {status: missing.status, body: await missing.json()};
      return;
    }
    const patched = await fetch(`${agent}/logfiles/LOGFILE`, {
      method: "PATCH",
      headers: {...token, "Content-Type": "application/json-patch+json"},
      body: JSON.stringify([{op: "replace", path: "/state", value: "started"}]),
    });
    result.patch = patched.status;
    const posted = await fetch(`${agent}/logfiles`, {method: "POST", headers: token});
    result.post = posted.status;
    result.location = posted.headers.get("Location");
    result.posted_id = (await posted.json()).id;
  } catch (error) {
    result.error = error.name;
    result.message = error.message;
  } finally {
    show(result);
  }
}

function show(result) {
  const out = document.getElementById("result");
  out.textContent = JSON.stringify(result);
  out.dataset.done = "yes";
}
run();
</script>
"""


class PageServer:
    """Serves the page at `/` and `/missing` from a thread; its `origin` is what the browser sends."""

    def __init__(self) -> None:
        self.html = b""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path not in ("/", "/missing"):
                    self.send_response(204)  # /favicon.ico: nothing, and no console error
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(server.html)))
                self.end_headers()
                self.wfile.write(server.html)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: pytest shows failures, not every page load."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="page-server", daemon=True)
        self.thread.start()

    def serve(self, stub_url: str) -> None:
        page = PAGE.replace("STUB", json.dumps(stub_url)).replace("PROJECT", PROJECT)
        self.html = page.replace("AGENT", AGENT).replace("LOGFILE", LOGFILE).replace("TOKEN", TOKEN).encode()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def page_server() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.stop()


def seeded(server: LiveServer) -> StubClient:
    """The stub's control client, after seeding an agent with one requested log file."""
    control = StubClient(server.url)
    control.seed(agents=[{"id": AGENT, "project_id": PROJECT}], logfiles=[{"id": LOGFILE, "agent_id": AGENT}])
    return control


def run_page(page: Page, page_server: PageServer, path: str = "/") -> dict[str, Any]:
    """Load the page and wait (bounded) for its script to write what happened."""
    answer = page.goto(page_server.origin + path)
    assert answer is not None and answer.status == 200
    page.wait_for_selector("#result[data-done]", timeout=10_000)
    result: dict[str, Any] = json.loads(page.inner_text("#result"))
    return result


def logfile_state(control: StubClient) -> str:
    path = f"/v2/{PROJECT}/agents/{AGENT}/logfiles/{LOGFILE}"
    state: str = control.call("GET", path, headers={"X-Auth-Token": TOKEN})["state"]
    return state


def test_a_page_on_another_port_patches_and_reads_location(
    launch: Callable[..., LiveServer], page: Page, console: ConsoleLog, page_server: PageServer
) -> None:
    server = launch(env={"LOGFILES_CORS_ORIGINS": page_server.origin})
    control = seeded(server)
    page_server.serve(server.url)

    result = run_page(page, page_server)
    screenshot(page, "cors-browser-patch")

    assert result.get("error") is None, result
    assert result["patch"] == 204
    assert result["post"] == 202
    assert result["location"] == f"{server.url}/v2/{PROJECT}/agents/{AGENT}/logfiles/{result['posted_id']}"
    assert logfile_state(control) == "started"
    assert console.errors == []

    # The browser asked first, then sent the PATCH itself, from the page's origin.
    asked = control.requests(method="OPTIONS")
    assert [(e["status"], e["headers"]["Access-Control-Request-Method"]) for e in asked] == [
        (204, "PATCH"),
        (204, "POST"),
    ]
    assert all(e["headers"]["Origin"] == page_server.origin for e in asked)
    (patched,) = control.requests(method="PATCH")
    assert patched["status"] == 204
    assert patched["headers"]["Origin"] == page_server.origin
    assert patched["headers"]["X-Auth-Token"] == TOKEN
    assert json.loads(patched["body"]) == [{"op": "replace", "path": "/state", "value": "started"}]


def test_a_page_on_another_port_reads_an_error_answer(
    launch: Callable[..., LiveServer], page: Page, console: ConsoleLog, page_server: PageServer
) -> None:
    server = launch(env={"LOGFILES_CORS_ORIGINS": page_server.origin})
    seeded(server)
    page_server.serve(server.url)

    result = run_page(page, page_server, "/missing")

    assert result.get("error") is None, result
    assert result["missing"]["status"] == 404
    assert result["missing"]["body"]["message"] == "The log file does not exist."
    # Chromium logs every 4xx a page fetches; that line is the only one.
    assert console.errors == [
        "Failed to load resource: the server responded with a status of 404 (NOT FOUND)"
    ]


def test_with_cors_off_the_fetch_fails_and_nothing_changes(
    launch: Callable[..., LiveServer], page: Page, console: ConsoleLog, page_server: PageServer
) -> None:
    server = launch()
    control = seeded(server)
    page_server.serve(server.url)

    result = run_page(page, page_server)

    assert result["error"] == "TypeError", result  # fetch's one error for a refused request
    assert "patch" not in result
    assert logfile_state(control) == "requested"
    # The preflight was refused (405 as today), so the PATCH itself never left the browser.
    assert [e["status"] for e in control.requests(method="OPTIONS")] == [405]
    assert control.requests(method="PATCH") == []
    # The expected CORS failure, and nothing else.
    assert console.errors, "Chromium reports the refused request"
    assert [e for e in console.errors if not any(part in e for part in CORS_FAILURE)] == []
