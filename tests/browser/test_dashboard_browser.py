"""The dashboard as a person uses it: Chromium (headless) against `gunicorn wsgi:app`.

Each test starts its own stub, drives the page, and changes the stub over HTTP as an agent or a
test would; the page must follow by itself (it polls once a second). Screenshots of the main
views go to build/screenshots/ (the test run's artefacts).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from logfiles.client import StubClient
from tests.blackbox.conftest import LiveServer
from tests.browser.conftest import ConsoleLog, screenshot

PROJECT = "110011"
WHEN = "2014-09-23T12:22:40.606703Z"
WAIT_MS = 10_000  # the page polls every second; a change shows within a poll or two
JSON_PATCH = "application/json-patch+json"


def dashboard(server: LiveServer, tab: str = "agents") -> str:
    return f"{server.url}/_control/dashboard#{tab}"


def patch_state(server: LiveServer, agent_id: str, logfile_id: str, state: str) -> requests.Response:
    """What an agent sends, over HTTP, from outside the page."""
    return requests.patch(
        f"{server.url}/v2/{PROJECT}/agents/{agent_id}/logfiles/{logfile_id}",
        data=json.dumps([{"op": "replace", "path": "/state", "value": state}]),
        headers={"X-Auth-Token": "agent", "Content-Type": JSON_PATCH},
        timeout=10,
    )


@pytest.fixture
def server(launch: Callable[..., LiveServer], request: pytest.FixtureRequest, tmp_path: Path) -> LiveServer:
    """The memory store; `sqlite` (indirect parameter): two workers sharing one SQLite file."""
    if getattr(request, "param", "memory") == "sqlite":
        return launch(env={"LOGFILES_STORE": f"sqlite:///{tmp_path / 'stub.db'}", "LOGFILES_WORKERS": "2"})
    return launch()


@pytest.fixture
def stub(server: LiveServer) -> StubClient:
    client = StubClient(server.url)
    client.seed(
        agents=[{"id": "agent-1", "project_id": PROJECT}, {"id": "agent-2", "project_id": PROJECT}],
        logfiles=[
            {"id": "log-1", "agent_id": "agent-1"},
            {"id": "log-0", "agent_id": "agent-2", "state": "completed"},
        ],
        generate=[{"agent_id": "agent-2", "count": 40, "state": "requested"}],
    )
    return client


def patch_job(server: LiveServer, path: str, operations: list[dict[str, Any]]) -> requests.Response:
    """An agent's PATCH of one of its jobs (`backups/<id>`...), over HTTP from outside the page."""
    return requests.patch(
        f"{server.url}/v2/{PROJECT}/{path}",
        data=json.dumps(operations),
        headers={"X-Auth-Token": "agent", "Content-Type": JSON_PATCH},
        timeout=10,
    )


def test_an_agents_configurations_vault_and_jobs_show_and_a_backup_is_watched(
    server: LiveServer, page: Page, console: ConsoleLog
) -> None:
    document: dict[str, Any] = {
        "agents": [{"id": "agent-1", "project_id": PROJECT}],
        "configurations": [
            {"id": "config-1", "agent_id": "agent-1", "name": "nightly", "enabled": True,
             "schedule": {"recurrence": ["RRULE:FREQ=DAILY"], "time_zone": "UTC"}},
        ],
        "jobs": [
            {"type": "backup", "id": "backup-1", "agent_id": "agent-1", "configuration_id": "config-1",
             "state": "start_requested"},
            {"type": "cleanup", "id": "cleanup-1", "agent_id": "agent-1", "state": "completed"},
        ],
    }  # fmt: skip
    assert requests.post(f"{server.url}/_control/state", json=document, timeout=10).status_code == 200
    page.goto(dashboard(server))
    page.get_by_role("button", name="agent-1", exact=True).click()
    row = page.locator('#logfiles-panel tr[data-configuration="config-1"]')
    expect(row).to_contain_text("nightly", timeout=WAIT_MS)
    expect(row).to_contain_text("RRULE:FREQ=DAILY · UTC")

    jobs = page.locator("#jobs-panel")
    expect(jobs.locator("tr[data-vault]")).to_contain_text("phoenix_", timeout=WAIT_MS)
    expect(jobs.locator('tr[data-job="cleanup-1"] [data-state]')).to_have_text("completed")
    backup = jobs.locator('tr[data-job="backup-1"]')
    expect(backup.locator("[data-state]")).to_have_text("start_requested")
    backup.get_by_role("button", name="backup-1").click()
    watch = page.locator("#job-panel .job-watch")
    expect(watch).to_have_attribute("data-state", "start_requested", timeout=WAIT_MS)
    # The agent moves it step by step over HTTP: the pane follows, as a person watches.
    for state in ("queued", "preparing", "in_progress"):
        moved = patch_job(server, "backups/backup-1", [{"op": "replace", "path": "/state", "value": state}])
        assert moved.status_code == 204, moved.text
        expect(watch).to_have_attribute("data-state", state, timeout=WAIT_MS)
        expect(watch.locator('[data-status="current"]')).to_have_text(state)
    results: list[dict[str, Any]] = [
        {"op": "replace", "path": "/state", "value": "completed_with_errors"},
        {"op": "add", "path": "/started_time", "value": "2014-08-05T18:22:22.238641Z"},
        {"op": "add", "path": "/ended_time", "value": "2014-08-05T18:23:50.489715Z"},
        {"op": "add", "path": "/files_backed_up", "value": 6},
        {"op": "add", "path": "/bytes_backed_up", "value": 127000000},
        {"op": "add", "path": "/errors", "value": {"count": 1, "reason": "unable_to_process_some_files"}},
    ]
    assert patch_job(server, "backups/backup-1", results).status_code == 204
    expect(watch).to_have_attribute("data-state", "completed_with_errors", timeout=WAIT_MS)
    expect(watch.locator('[data-status="final"]')).to_have_text("completed_with_errors")
    expect(watch.locator('[data-result="bytes_backed_up"]')).to_have_text("121.1 MiB (127,000,000 B)")
    expect(watch.locator("dd[data-errors]")).to_have_attribute("data-errors", "1")
    expect(backup.locator("[data-state]")).to_have_text("completed_with_errors")
    expect(watch.locator('.history li[data-event="backup_queued"]')).to_have_count(1)
    screenshot(page, "dashboard-jobs")
    watch.get_by_role("button", name="Stop watching").click()
    expect(page.locator("#job-panel .job-watch")).to_have_count(0, timeout=WAIT_MS)
    assert console.errors == []


@pytest.mark.parametrize("server", ["memory", "sqlite"], indirect=True)
def test_the_logfile_table_follows_an_agents_patch(
    server: LiveServer, stub: StubClient, page: Page, console: ConsoleLog
) -> None:
    page.goto(dashboard(server))
    expect(page.locator("#agents-panel tr[data-agent]")).to_have_count(2, timeout=WAIT_MS)
    page.get_by_role("button", name="agent-1", exact=True).click()
    row = page.locator('#logfiles-panel tr[data-logfile="log-1"]')
    expect(row.locator("[data-state]")).to_have_text("requested", timeout=WAIT_MS)
    machine = page.locator("#agents-panel svg.states")
    expect(machine.locator('[data-state="requested"] .state-count')).to_have_text("1")

    assert patch_state(server, "agent-1", "log-1", "started").status_code == 204
    expect(row.locator("[data-state]")).to_have_text("started", timeout=WAIT_MS)
    expect(machine.locator('[data-state="started"] .state-count')).to_have_text("1")
    expect(machine.locator('[data-state="requested"] .state-count')).to_have_text("0")

    assert patch_state(server, "agent-1", "log-1", "completed").status_code == 204
    expect(row.locator("[data-state]")).to_have_text("completed", timeout=WAIT_MS)
    screenshot(page, "dashboard-agents")
    assert console.errors == []


def test_requesting_a_logfile_and_paging_from_the_page(
    server: LiveServer, stub: StubClient, page: Page, console: ConsoleLog
) -> None:
    page.goto(dashboard(server))
    page.get_by_role("button", name="agent-2", exact=True).click()
    rows = page.locator("#logfiles-panel tr[data-logfile]")
    expect(rows).to_have_count(25, timeout=WAIT_MS)
    expect(rows.first).to_have_attribute("data-logfile", "log-0")
    page.get_by_role("button", name="Next page").click()
    expect(rows).to_have_count(16, timeout=WAIT_MS)  # 41 log files: 25, then 16
    expect(page.get_by_role("button", name="Next page")).to_have_count(0)
    page.get_by_role("button", name="First page").last.click()
    expect(rows.first).to_have_attribute("data-logfile", "log-0", timeout=WAIT_MS)

    form = page.locator("#request-logfile")
    expect(form.locator('input[name="agent"]')).to_have_value("agent-2")
    form.get_by_role("button", name="POST …/logfiles").click()
    expect(page.locator("#notice")).to_contain_text("requested (202)", timeout=WAIT_MS)
    counts = page.locator('#agents-panel tr[data-agent="agent-2"] td.num')
    expect(counts.first).to_have_text("41", timeout=WAIT_MS)
    posted = stub.requests(method="POST")
    assert [(r["path"], r["status"], r["headers"]["X-Auth-Token"]) for r in posted] == [
        (f"/v2/{PROJECT}/agents/agent-2/logfiles", 202, "dashboard")
    ]
    assert console.errors == []


def test_a_fault_added_in_the_form_fails_the_next_call_and_shows_in_tail_and_timeline(
    server: LiveServer, stub: StubClient, page: Page, console: ConsoleLog
) -> None:
    before = requests.get(
        f"{server.url}/v2/{PROJECT}/agents/agent-2", headers={"X-Auth-Token": "t"}, timeout=10
    )
    assert before.status_code == 200
    page.goto(dashboard(server, "faults"))
    form = page.locator("#fault-form")
    form.locator('input[name="method"]').fill("GET")
    form.locator('input[name="path"]').fill("/v2/*/agents/*")
    form.locator('input[name="status"]').fill("503")
    form.locator('input[name="message"]').fill("Injected outage.")
    form.locator('input[name="times"]').fill("null")
    form.get_by_role("button", name="Add the rule").click()
    expect(page.locator("#notice")).to_contain_text("added", timeout=WAIT_MS)
    (rule,) = stub.faults()
    assert (rule["status"], rule["times"], rule["message"]) == (503, None, "Injected outage.")
    rule_row = page.locator(f'#faults-panel tr[data-fault="{rule["id"]}"]')
    expect(rule_row).to_contain_text("status 503: Injected outage.", timeout=WAIT_MS)

    answer = requests.get(
        f"{server.url}/v2/{PROJECT}/agents/agent-1", headers={"X-Auth-Token": "t"}, timeout=10
    )
    assert answer.status_code == 503 and answer.json()["message"] == "Injected outage."
    expect(rule_row.locator("[data-fired]")).to_have_text("1", timeout=WAIT_MS)
    screenshot(page, "dashboard-faults")

    page.get_by_role("link", name="Requests").click()
    failed = page.locator("#tail-rows tr[data-seq]").filter(has=page.locator('[data-status="503"]'))
    expect(failed).to_have_count(1, timeout=WAIT_MS)
    expect(failed).to_contain_text(f"/v2/{PROJECT}/agents/agent-1")
    expect(failed).to_contain_text(rule["id"][:8])
    expect(page.locator("#timeline-panel svg.timeline")).to_have_attribute("data-5xx", "1", timeout=WAIT_MS)
    expect(page.locator("#timeline-panel rect.col.s5xx")).to_have_count(1)

    rows = page.locator("#tail-rows tr[data-seq]")
    expect(rows).to_have_count(2)
    expect(page.locator("#timeline-panel svg.timeline")).to_have_attribute("data-2xx", "1")
    journal_filter = page.locator("#journal-filter")
    journal_filter.locator('input[name="status"]').fill("503")
    journal_filter.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    journal_filter.locator('input[name="status"]').fill("")
    journal_filter.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2, timeout=WAIT_MS)

    failed.click()
    detail = page.locator("#request-detail")
    expect(detail).to_contain_text("X-Auth-Token", timeout=WAIT_MS)
    expect(detail).to_contain_text(rule["id"])
    screenshot(page, "dashboard-requests")

    page.get_by_role("link", name="Faults").click()
    rule_row.get_by_role("button", name="Remove").click()
    expect(page.locator("#faults-panel")).to_contain_text("No fault rules.", timeout=WAIT_MS)
    assert stub.faults() == []
    assert console.errors == []


def test_a_bad_rule_shows_the_apis_own_message(server: LiveServer, page: Page, console: ConsoleLog) -> None:
    page.goto(dashboard(server, "faults"))
    form = page.locator("#fault-form")
    form.locator('input[name="status"]').fill("five hundred")
    form.locator('select[name="action"]').select_option("latency")
    form.get_by_role("button", name="Add the rule").click()
    notice = page.locator("#notice")
    expect(notice.locator(".notice-message")).to_have_text("The fault rule is not valid.", timeout=WAIT_MS)
    expect(notice.locator(".notice-errors li")).to_contain_text(["status: Not a valid integer."])
    # Chromium logs every answer of 400 and more as a console error: the API's refusal is the one.
    assert len(console.errors) == 1 and "status of 400" in console.errors[0], console.errors


def test_freezing_the_clock_shows_on_the_page(
    server: LiveServer, stub: StubClient, page: Page, console: ConsoleLog
) -> None:
    page.goto(dashboard(server, "clock"))
    badge = page.locator("#clock-badge .clock")
    expect(badge).to_have_attribute("data-frozen", "no", timeout=WAIT_MS)
    page.get_by_role("button", name="Freeze now").click()
    expect(badge).to_have_attribute("data-frozen", "yes", timeout=WAIT_MS)
    assert stub.clock()["frozen"] is True

    page.locator('#freeze-at input[name="at"]').fill(WHEN)
    page.locator("#freeze-at").get_by_role("button", name="Freeze").click()
    expect(badge).to_have_text(f"clock frozen at {WHEN}", timeout=WAIT_MS)
    page.locator('#advance input[name="seconds"]').fill("60")
    page.get_by_role("button", name="Advance").click()
    expect(badge).to_have_text("clock frozen at 2014-09-23T12:23:40.606703Z", timeout=WAIT_MS)
    expect(page.locator("#clock-panel .clock")).to_have_text("clock frozen at 2014-09-23T12:23:40.606703Z")
    screenshot(page, "dashboard-clock")

    stub.real_time()  # from outside the page: the page follows
    expect(badge).to_have_attribute("data-frozen", "no", timeout=WAIT_MS)
    page.get_by_role("button", name="Freeze now").click()
    expect(badge).to_have_attribute("data-frozen", "yes", timeout=WAIT_MS)
    page.get_by_role("button", name="Back to real time").click()
    expect(badge).to_have_attribute("data-frozen", "no", timeout=WAIT_MS)
    assert console.errors == []


def test_export_import_and_reset(
    server: LiveServer, stub: StubClient, page: Page, console: ConsoleLog, tmp_path: Path
) -> None:
    page.goto(dashboard(server, "clock"))
    with page.expect_download() as download:
        page.get_by_role("button", name="Export the state (download)").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert download.value.suggested_filename == "logfiles-state.json"
    assert exported == stub.state()

    reset = page.get_by_role("button", name="Reset everything")
    reset.click()
    expect(reset).to_have_text("Click again to reset everything")
    assert len(stub.state()["agents"]) == 2  # one click is not enough
    reset.click()
    expect(page.locator("#notice")).to_contain_text("Everything is reset.", timeout=WAIT_MS)
    assert stub.state()["agents"] == []

    document = tmp_path / "state.json"
    document.write_text(json.dumps(exported))
    page.locator('#import input[name="document"]').set_input_files(str(document))
    page.locator("#import").get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("2 agents, 42 logfiles", timeout=WAIT_MS)
    assert stub.state() == exported
    page.get_by_role("link", name="Agents, log files & jobs").click()
    expect(page.locator("#agents-panel tr[data-agent]")).to_have_count(2, timeout=WAIT_MS)
    assert console.errors == []


class TestControlToken:
    TOKEN = "s3cret-control"

    @pytest.fixture
    def server(self, launch: Callable[..., LiveServer]) -> LiveServer:
        return launch(env={"LOGFILES_CONTROL_TOKEN": self.TOKEN})

    def test_the_page_asks_for_the_token_and_refuses_a_wrong_one(
        self, server: LiveServer, page: Page, console: ConsoleLog
    ) -> None:
        StubClient(server.url, control_token=self.TOKEN).seed(
            agents=[{"id": "agent-1", "project_id": PROJECT}]
        )
        page.goto(dashboard(server))
        prompt = page.locator("#token-form")
        expect(prompt).to_be_visible()
        expect(page.locator("#main")).to_be_hidden()

        prompt.locator('input[name="token"]').fill("wrong")
        prompt.get_by_role("button", name="Open the dashboard").click()
        expect(page.locator("#token-error")).to_have_text(
            "The control plane needs its token. X-Control-Token: missing or wrong", timeout=WAIT_MS
        )
        expect(prompt).to_be_visible()
        expect(page.locator("#main")).to_be_hidden()
        screenshot(page, "dashboard-token")

        prompt.locator('input[name="token"]').fill(self.TOKEN)
        prompt.get_by_role("button", name="Open the dashboard").click()
        expect(page.locator("#agents-panel tr[data-agent]")).to_have_count(1, timeout=WAIT_MS)
        expect(prompt).to_be_hidden()

        page.reload()  # the token is kept for the tab (sessionStorage): no second prompt
        expect(page.locator("#agents-panel tr[data-agent]")).to_have_count(1, timeout=WAIT_MS)
        expect(prompt).to_be_hidden()
        # Chromium logs every answer of 400 and more as a console error: the refusal is the one.
        assert len(console.errors) == 1 and "status of 401" in console.errors[0], console.errors


def test_no_token_no_prompt(server: LiveServer, page: Page, console: ConsoleLog) -> None:
    page.goto(dashboard(server))
    expect(page.locator("#main")).to_be_visible()
    expect(page.locator("#token-form")).to_be_hidden()
    expect(page.locator("#live")).to_have_text("live", timeout=WAIT_MS)
    assert console.errors == []


def test_polling_stops_while_the_tab_is_hidden(server: LiveServer, page: Page, console: ConsoleLog) -> None:
    polls: list[str] = []
    page.on("request", lambda sent: polls.append(sent.url) if "/dashboard/requests" in sent.url else None)
    page.goto(dashboard(server, "requests"))
    expect(page.locator("#live")).to_have_text("live", timeout=WAIT_MS)
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    expect(page.locator("#live")).to_have_text("paused")
    page.wait_for_timeout(500)  # a poll under way may still end
    seen = len(polls)
    page.wait_for_timeout(2500)
    assert len(polls) == seen
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    expect(page.locator("#live")).to_have_text("live", timeout=WAIT_MS)
    page.wait_for_timeout(1500)
    assert len(polls) > seen
    assert console.errors == []
