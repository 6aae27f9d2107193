"""The dashboard through the test client: the page, its fragments, the token, paging, escaping."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from logfiles import Settings, create_app
from logfiles.errors import NotFound
from tests.conftest import Api, assert_fault

DASHBOARD = "/_control/dashboard"
WHEN = "2014-09-23T12:22:40.606703Z"
HOSTILE = '<script>alert("x")</script>'
# Seeded ids must be reachable by a URL (no '/'), so a hostile id is an opening tag alone.
HOSTILE_ID = '<script>alert("x")'


def fragment(client: FlaskClient, path: str, **headers: str) -> TestResponse:
    response: TestResponse = client.get(f"{DASHBOARD}/{path}", headers=headers)
    return response


def html(response: TestResponse) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def get(client: FlaskClient, path: str) -> tuple[int, str | None, dict[str, str]]:
    """Status, media type and headers of a GET, its answer closed (a static file's is a file)."""
    with client.get(path) as response:
        return response.status_code, response.mimetype, dict(response.headers)


def seed(api: Api, document: dict[str, Any]) -> None:
    response = api.control("post", "state", document)
    assert response.status_code == 200, response.get_json()


def markers(text: str, action: str) -> list[str]:
    return re.findall(rf'data-action="{action}" data-marker="([^"]*)"', text)


# The page and its files.


def test_page_is_the_shell_with_its_files_and_no_favicon_request(client: FlaskClient) -> None:
    page = html(client.get(DASHBOARD))
    assert '<link rel="icon" href="data:,">' in page
    assert f'src="{DASHBOARD}/static/dashboard.js"' in page
    assert f'href="{DASHBOARD}/static/dashboard.css"' in page
    assert 'data-token-required="no"' in page
    assert get(client, f"{DASHBOARD}/static/dashboard.js")[:2] == (200, "text/javascript")
    assert get(client, f"{DASHBOARD}/static/dashboard.css")[:2] == (200, "text/css")


def test_every_dashboard_answer_forbids_inline_script_and_other_origins(client: FlaskClient) -> None:
    for path in ("", "/agents", "/static/dashboard.js"):
        policy = get(client, DASHBOARD + path)[2]["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert client.get(f"{DASHBOARD}/agents").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "path", ["agents", "logfiles?project=p&agent=a", "requests", "requests/1", "timeline", "faults", "clock"]
)
def test_fragments_render(api: Api, client: FlaskClient, path: str) -> None:
    seed(api, {"agents": [{"id": "a", "project_id": "p"}]})
    api.get_agent("a", project_id="p")
    assert fragment(client, path).status_code == 200


def test_unknown_dashboard_routes_are_404_with_the_fault_body(client: FlaskClient) -> None:
    assert_fault(client.get(f"{DASHBOARD}/nothing"), 404)
    assert_fault(client.get(f"{DASHBOARD}/"), 404)
    assert_fault(client.get(f"{DASHBOARD}/static/nothing.js"), 404)
    assert_fault(client.post(f"{DASHBOARD}/agents"), 405)


class TestControlOff:
    @pytest.fixture
    def settings(self, store_url: str) -> Settings:
        return Settings(store_url=store_url, control=False)

    def test_the_dashboard_is_gone_with_the_control_plane(self, client: FlaskClient) -> None:
        for path in ("", "/agents", "/requests", "/static/dashboard.js"):
            assert_fault(client.get(DASHBOARD + path), 404)


class TestControlToken:
    TOKEN = "s3cret-control"

    @pytest.fixture
    def settings(self, store_url: str) -> Settings:
        return Settings(store_url=store_url, control_token=self.TOKEN)

    def test_the_page_and_its_files_answer_without_the_token_and_ask_for_it(
        self, client: FlaskClient
    ) -> None:
        assert 'data-token-required="yes"' in html(client.get(DASHBOARD))
        assert 'id="token-form"' in html(client.get(DASHBOARD))
        assert get(client, f"{DASHBOARD}/static/dashboard.js")[0] == 200

    @pytest.mark.parametrize(
        "path", ["agents", "logfiles?project=p&agent=a", "requests", "timeline", "faults", "clock"]
    )
    def test_fragments_need_the_control_planes_token(self, client: FlaskClient, path: str) -> None:
        for headers in ({}, {"X-Control-Token": "wrong"}):
            body = assert_fault(fragment(client, path, **headers), 401)
            assert body == {
                "message": "The control plane needs its token.",
                "errors": ["X-Control-Token: missing or wrong"],
            }
        assert fragment(client, path, **{"X-Control-Token": self.TOKEN}).status_code in (200, 404)


# Agents and their log files.


def test_agents_of_every_project_with_counts_per_state(api: Api, client: FlaskClient) -> None:
    seed(
        api,
        {
            "agents": [{"id": "a1", "project_id": "p1"}, {"id": "a2", "project_id": "p2"}],
            "logfiles": [
                {"agent_id": "a1", "state": "completed"},
                {"agent_id": "a1", "state": "started"},
                {"agent_id": "a2"},
            ],
            "generate": [{"agent_id": "a1", "count": 3}],
        },
    )
    everything = html(fragment(client, "agents"))
    assert re.findall(r'<tr data-agent="([^"]+)" data-project="([^"]+)"', everything) == [
        ("a1", "p1"),
        ("a2", "p2"),
    ]
    assert node_counts(everything) == {"requested": 4, "started": 1, "completed": 1}
    a1_row = everything[everything.index('<tr data-agent="a1"') : everything.index('<tr data-agent="a2"')]
    assert re.findall(r'<td class="num">([\d,]+)</td>', a1_row) == ["3", "1", "1"]
    one_project = html(fragment(client, "agents?project=p2"))
    assert 'data-agent="a1"' not in one_project and 'data-agent="a2"' in one_project
    assert node_counts(one_project) == {"requested": 1, "started": 0, "completed": 0}
    chosen = html(fragment(client, "agents?project=p1&agent=a1"))
    assert node_counts(chosen) == {"requested": 3, "started": 1, "completed": 1}
    assert '<tr data-agent="a1" data-project="p1" class="selected">' in chosen


def node_counts(text: str) -> dict[str, int]:
    found = re.findall(r'<g class="node (\w+)".*?data-count="(\d+)"', text, flags=re.S)
    return {state: int(count) for state, count in found}


def test_the_state_machine_draws_the_models_moves(client: FlaskClient) -> None:
    text = html(fragment(client, "agents"))
    titles = re.findall(r"<title>(PATCH: [^<]+)</title>", text)
    assert titles == [
        "PATCH: requested to started",
        "PATCH: requested to completed",
        "PATCH: started to completed",
    ]


def test_agents_page_with_a_marker(api: Api, client: FlaskClient) -> None:
    seed(api, {"agents": [{"id": f"agent-{n}", "project_id": "p"} for n in range(5)]})
    first = html(fragment(client, "agents?limit=2"))
    assert markers(first, "agents-next") == ["agent-1"]
    second = html(fragment(client, "agents?limit=2&marker=agent-1"))
    assert re.findall(r'<tr data-agent="([^"]+)"', second) == ["agent-2", "agent-3"]
    last = html(fragment(client, "agents?project=p&limit=2&marker=agent-3"))
    assert re.findall(r'<tr data-agent="([^"]+)"', last) == ["agent-4"]
    assert markers(last, "agents-next") == []


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("marker=gone", "marker: no agent 'gone'"),
        ("project=p&marker=gone", "marker: no agent 'gone' in this project"),
        ("agent=a", "agent: needs its project"),
        ("limit=0", "limit: must be an integer from 1 to 1000"),
        ("limit=x", "limit: Not a whole number of at most 9 digits."),
        ("projct=p", "projct: Unknown field."),
    ],
)
def test_agents_filter_problems_are_400(client: FlaskClient, query: str, problem: str) -> None:
    body = assert_fault(fragment(client, f"agents?{query}"), 400)
    assert problem in body["errors"], body


def test_a_chosen_agent_that_is_not_there_is_404(api: Api, client: FlaskClient) -> None:
    seed(api, {"agents": [{"id": "a", "project_id": "p"}]})
    body = assert_fault(fragment(client, "agents?project=q&agent=a"), 404)
    assert body["message"] == "Agent not found."


def test_logfiles_are_paged_by_marker(api: Api, client: FlaskClient) -> None:
    seed(
        api,
        {
            "agents": [{"id": "a", "project_id": "p"}],
            "logfiles": [{"id": f"lf-{n:03}", "agent_id": "a"} for n in range(60)],
        },
    )
    first = html(fragment(client, "logfiles?project=p&agent=a"))
    rows = re.findall(r'<tr data-logfile="([^"]+)"', first)
    assert rows == [f"lf-{n:03}" for n in range(25)]
    assert markers(first, "logfiles-next") == ["lf-024"]
    second = html(fragment(client, "logfiles?project=p&agent=a&marker=lf-024&limit=30"))
    assert re.findall(r'<tr data-logfile="([^"]+)"', second) == [f"lf-{n:03}" for n in range(25, 55)]
    last = html(fragment(client, "logfiles?project=p&agent=a&marker=lf-054"))
    assert re.findall(r'<tr data-logfile="([^"]+)"', last) == [f"lf-{n:03}" for n in range(55, 60)]
    assert markers(last, "logfiles-next") == []


def test_logfiles_show_their_state(api: Api, client: FlaskClient) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    api.patch_state(agent_id, logfile_id, "started")
    text = html(fragment(client, f"logfiles?project={api.project_id}&agent={agent_id}"))
    assert f'<tr data-logfile="{logfile_id}">' in text
    assert 'data-state="started">started</span>' in text


@pytest.mark.slow  # 100,000 log files
def test_logfiles_of_100k_come_a_page_at_a_time(api: Api, client: FlaskClient) -> None:
    seed(api, {"agents": [{"id": "a", "project_id": "p"}], "generate": [{"agent_id": "a", "count": 100_000}]})
    first = html(fragment(client, "logfiles?project=p&agent=a"))
    assert len(re.findall(r"<tr data-logfile=", first)) == 25
    (marker,) = markers(first, "logfiles-next")
    second = html(fragment(client, f"logfiles?project=p&agent=a&marker={marker}"))
    assert len(re.findall(r"<tr data-logfile=", second)) == 25
    assert node_counts(html(fragment(client, "agents?project=p&agent=a"))) == {
        "requested": 100_000,
        "started": 0,
        "completed": 0,
    }


@pytest.mark.parametrize(
    ("query", "status", "problem"),
    [
        ("project=p", 400, "agent: Missing data for required field."),
        ("project=p&agent=a&marker=gone", 400, "marker: no log file 'gone' for this agent"),
        ("project=p&agent=nobody", 404, "agent_id: no agent 'nobody' in project 'p'"),
        ("project=p&agent=a&limit=1001", 400, "limit: must be an integer from 1 to 1000"),
    ],
)
def test_logfiles_problems(api: Api, client: FlaskClient, query: str, status: int, problem: str) -> None:
    seed(api, {"agents": [{"id": "a", "project_id": "p"}]})
    assert problem in assert_fault(fragment(client, f"logfiles?{query}"), status)["errors"]


# The journal: the live tail and one entry.


def tail_seqs(text: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'<tr class="entry" data-seq="(\d+)"', text)]


def test_tail_lists_newest_first_and_continues_after_a_seq(api: Api, client: FlaskClient) -> None:
    agent_id = api.agent()
    api.get_agent(agent_id)
    api.get_agent("nobody")
    response = fragment(client, "requests")
    assert tail_seqs(html(response)) == [3, 2, 1]
    assert response.headers["X-Last-Seq"] == "3"
    text = html(response)
    assert '<span class="status s4xx" data-status="404">404</span>' in text
    assert '<span class="status s2xx" data-status="201">201</span>' in text
    nothing_new = fragment(client, "requests?after=3")
    assert tail_seqs(html(nothing_new)) == [] and nothing_new.headers["X-Last-Seq"] == "3"
    api.get_agent(agent_id)
    assert tail_seqs(html(fragment(client, "requests?after=3"))) == [4]
    assert tail_seqs(html(fragment(client, "requests?limit=2"))) == [4, 3]


def test_tail_takes_the_journal_apis_filters(api: Api, client: FlaskClient) -> None:
    agent_id = api.agent()
    api.get_agent(agent_id, extra_headers={"X-Agent-Id": agent_id})
    api.get_agent("nobody")
    assert tail_seqs(html(fragment(client, "requests?status=404"))) == [3]
    assert tail_seqs(html(fragment(client, "requests?method=post"))) == [1]
    assert tail_seqs(html(fragment(client, "requests?path=/v2/*/agents/nobody"))) == [3]
    assert tail_seqs(html(fragment(client, f"requests?agent_id={agent_id}"))) == [2]
    assert tail_seqs(html(fragment(client, "requests?since=2999-01-01T00:00:00Z"))) == []


@pytest.mark.parametrize("query", ["status=abc", "stauts=404", "since=yesterday", "method="])
def test_tail_filter_problems_are_the_journal_apis(client: FlaskClient, query: str) -> None:
    ours = assert_fault(fragment(client, f"requests?{query}"), 400)
    theirs = assert_fault(client.get(f"/_control/requests?{query}"), 400)
    assert ours == theirs


@pytest.mark.parametrize(
    ("query", "problem"), [("after=-1", "after: Not a whole number of at most 9 digits."), ("limit=0", None)]
)
def test_tail_own_parameters_are_checked(client: FlaskClient, query: str, problem: str | None) -> None:
    body = assert_fault(fragment(client, f"requests?{query}"), 400)
    assert body["message"] == "The journal filter is not valid."
    if problem:
        assert problem in body["errors"]


def test_an_entry_shows_its_headers_and_indented_json_body(api: Api, client: FlaskClient) -> None:
    api.register_agent({"name": "x"})
    text = html(fragment(client, "requests/1"))
    assert "<th>X-Auth-Token</th>" in text and "<th>Content-Type</th>" in text
    assert "{\n  &#34;name&#34;: &#34;x&#34;\n}" in text
    assert "latency" in text and " ms</dd>" in text


def test_an_entry_shows_its_answer_indented_with_its_size(api: Api, client: FlaskClient) -> None:
    answer = api.get_agent("nobody")
    text = html(fragment(client, "requests/1"))
    assert f"<dt>size</dt><dd>{len(answer.get_data())} bytes</dd>" in text
    assert '<pre class="body answer">{\n  &#34;message&#34;: &#34;' in text


def test_an_entry_without_a_kept_answer_says_why(client: FlaskClient) -> None:
    client.put("/cloudfiles/v1/MossoCloudFS_p/CloudBackupLogs/x", data=b"x", headers={"X-Auth-Token": "t"})
    client.get("/cloudfiles/v1/MossoCloudFS_p/CloudBackupLogs/x", headers={"X-Auth-Token": "t"}).close()
    text = html(fragment(client, "requests/2"))
    assert "<dt>size</dt><dd>1 bytes</dd>" in text and "(not recorded: a streamed answer" in text


def test_an_entry_after_a_trimmed_or_cleared_one_is_still_found(api: Api, client: FlaskClient) -> None:
    api.get_agent("a")
    api.get_agent("b")
    client.delete("/_control/requests")
    api.get_agent("c")
    assert_fault(fragment(client, "requests/2"), 404)
    assert "/agents/c" in html(fragment(client, "requests/3"))


@pytest.mark.parametrize(("seq", "status"), [("99", 404), ("x", 400), ("1" * 19, 400), ("\u0661", 400)])
def test_an_entry_that_is_not_there(client: FlaskClient, seq: str, status: int) -> None:
    assert_fault(fragment(client, f"requests/{seq}"), status)


# Escaping: everything a client sent is text on the page, never markup.


def test_hostile_paths_bodies_and_headers_are_escaped(api: Api, client: FlaskClient) -> None:
    client.post(
        f"/v2/{HOSTILE}/agents",
        data=HOSTILE,
        headers={"X-Auth-Token": "t", "Content-Type": "application/json", "User-Agent": HOSTILE},
    )
    for text in (html(fragment(client, "requests")), html(fragment(client, "requests/1"))):
        assert "<script>" not in text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text


def test_hostile_ids_and_fault_texts_are_escaped(api: Api, client: FlaskClient) -> None:
    seed(
        api,
        {
            "agents": [{"id": HOSTILE_ID, "project_id": HOSTILE_ID}],
            "logfiles": [{"id": HOSTILE_ID, "agent_id": HOSTILE_ID}],
        },
    )
    api.control(
        "post", "faults", {"path": HOSTILE, "message": HOSTILE, "header": "X-A", "header_value": HOSTILE}
    )
    texts = [
        html(fragment(client, "agents")),
        html(client.get(f"{DASHBOARD}/logfiles", query_string={"project": HOSTILE_ID, "agent": HOSTILE_ID})),
        html(fragment(client, "faults")),
    ]
    for text in texts:
        assert "<script>" not in text and "&lt;script&gt;" in text


# The timeline, the faults, the clock.


def test_the_timeline_counts_requests_by_status_class(api: Api, client: FlaskClient) -> None:
    api.freeze_clock(WHEN)
    agent_id = api.agent()
    api.control("post", "faults", {"path": "/v2/*/agents/*", "method": "GET", "status": 503, "times": 2})
    for _ in range(3):
        api.get_agent(agent_id)
    api.get_agent("nobody")
    text = html(fragment(client, "timeline"))
    assert 'data-2xx="2" data-3xx="0" data-4xx="1" data-5xx="2" data-dropped="0"' in text
    assert "from 2014-09-23T12:17:41.000000Z to 2014-09-23T12:22:41.000000Z" in text
    assert re.findall(r'<rect class="col (\w+)"', text) == ["s2xx", "s4xx", "s5xx"]


def test_the_timeline_leaves_out_what_is_before_its_window(api: Api, client: FlaskClient) -> None:
    api.freeze_clock(WHEN)
    api.agent()
    api.advance_clock(120)
    assert 'data-2xx="0"' in html(fragment(client, "timeline?minutes=1"))
    assert 'data-2xx="1"' in html(fragment(client, "timeline?minutes=5&bucket=10"))


@pytest.mark.parametrize("query", ["minutes=7", "bucket=5", "minutes=x", "zoom=1"])
def test_timeline_problems_are_400(client: FlaskClient, query: str) -> None:
    assert (
        assert_fault(fragment(client, f"timeline?{query}"), 400)["message"]
        == "The timeline query is not valid."
    )


def test_faults_show_their_counts(api: Api, client: FlaskClient) -> None:
    rule = api.control("post", "faults", {"path": "/v2/*/agents/*", "status": 500, "times": 1}).get_json()
    api.get_agent("a")
    api.get_agent("b")
    text = html(fragment(client, "faults"))
    assert f'<tr data-fault="{rule["id"]}">' in text
    assert 'data-matched="2">2<' in text and 'data-fired="1">1<' in text
    assert "status 500" in text


def test_the_clock_shows_real_or_frozen_time(api: Api, client: FlaskClient) -> None:
    assert 'data-frozen="no"' in html(fragment(client, "clock"))
    api.freeze_clock(WHEN)
    text = html(fragment(client, "clock"))
    assert 'data-frozen="yes"' in text and f"clock frozen at {WHEN}" in text


def test_the_dashboard_is_not_journaled(api: Api, client: FlaskClient) -> None:
    for path in ("", "/agents", "/requests", "/static/dashboard.js"):
        get(client, DASHBOARD + path)
    assert api.control("get", "requests").get_json() == {"requests": []}


def test_a_dashboard_app_serves_its_files_from_the_package(app: Flask) -> None:
    """Templates and static files are package data, found beside the package's own modules."""
    assert app.blueprints["dashboard"].static_folder is not None
    other = create_app(Settings())
    try:
        assert get(other.test_client(), f"{DASHBOARD}/static/dashboard.css")[0] == 200
    finally:
        other.extensions["logfiles"].store.close()


def test_an_agent_deleted_while_its_page_is_read_shows_no_counts(
    api: Api, app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(api, {"agents": [{"id": "a1", "project_id": "p"}], "logfiles": [{"agent_id": "a1"}]})
    store = app.extensions["logfiles"].store
    counted = store.count_states

    def deleted_meanwhile(project_id: str | None = None, agent_id: str | None = None) -> Any:
        if agent_id == "a1":
            raise NotFound("The agent does not exist.", ["agent_id: gone"])
        return counted(project_id, agent_id)

    monkeypatch.setattr(store, "count_states", deleted_meanwhile)
    text = html(fragment(client, "agents"))
    assert re.findall(r'<td class="num">([\d,]+)</td>', text) == ["0", "0", "0"]
