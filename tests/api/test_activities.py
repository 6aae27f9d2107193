"""Activities of a project, an agent and a configuration (the three activities pages; SPEC
"The whole service": every collection paged like log files, `sort_dir` `desc` by default)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from tests.conftest import PROJECT, Api, assert_fault

AGENT = "8f135b4f-7a69-4b8a-947f-5e80d772fd97"
CONFIG = "7c8ee069-568f-4d5a-932f-fb2af86b5fd5"
BACKUP = "0d95d699-d16b-11e4-93bd-c8e0eb190e3d"
CLEANUP = "2f8708b3-d16b-11e4-bc22-c8e0eb190e3d"
RESTORE = "e87e6f7d-d166-11e4-8689-c8e0eb190e3d"
BASE = f"http://localhost/v2/{PROJECT}"


def seed(client: FlaskClient, **document: Any) -> dict[str, Any]:
    response = client.post("/_control/state", json=document)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def job(kind: str, job_id: str, time: str, agent_id: str = AGENT, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "id": job_id, "agent_id": agent_id, "last_updated_time": time, **extra}


@pytest.fixture
def example(client: FlaskClient) -> None:
    """The pages' example: a backup, a cleanup and a restore of one agent, a second apart."""
    seed(
        client,
        agents=[{"id": AGENT, "project_id": PROJECT}],
        configurations=[{"id": CONFIG, "agent_id": AGENT, "name": "nightly"}],
        jobs=[
            job("restore", RESTORE, "2014-10-27T18:22:19.238641Z", configuration_id=CONFIG, backup_id=BACKUP,
                state="completed_with_errors"),
            job("backup", BACKUP, "2014-10-27T18:22:21.238641Z", configuration_id=CONFIG,
                state="completed_with_errors"),
            job("cleanup", CLEANUP, "2014-10-27T18:22:20.238641Z", state="completed_with_errors"),
        ],
    )  # fmt: skip


def listed(api: Api, *parts: str, query: str = "") -> dict[str, Any]:
    response = api.client.get(api.url(*parts) + query, headers=api.headers())
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert set(body) == {"activities", "links"}, body
    return body


def ids_of(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["activities"]]


def expected_item(kind: str, job_id: str, time: str, with_config: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": job_id,
        "type": kind,
        "last_updated_time": time,
        "state": "completed_with_errors",
        "agent": {"id": AGENT, "links": [{"href": f"{BASE}/agents/{AGENT}", "rel": "full"}]},
    }
    if with_config:
        item["configuration"] = {
            "id": CONFIG,
            "links": [{"href": f"{BASE}/configurations/{CONFIG}", "rel": "full"}],
        }
    item["links"] = [{"href": f"{BASE}/{kind}s/{job_id}", "rel": kind}]
    return item


PAGE_ITEMS = [
    expected_item("backup", BACKUP, "2014-10-27T18:22:21.238641Z"),
    expected_item("cleanup", CLEANUP, "2014-10-27T18:22:20.238641Z", with_config=False),
    expected_item("restore", RESTORE, "2014-10-27T18:22:19.238641Z"),
]


@pytest.mark.usefixtures("example")
@pytest.mark.parametrize(
    "parts",
    [("activities",), ("agents", AGENT, "activities"), ("configurations", CONFIG, "activities")],
    ids=["project", "agent", "configuration"],
)
def test_the_pages_example_items_newest_first(api: Api, parts: tuple[str, ...]) -> None:
    body = listed(api, *parts)
    expected = PAGE_ITEMS if parts[0] != "configurations" else [PAGE_ITEMS[0], PAGE_ITEMS[2]]
    assert body["activities"] == expected
    assert body["links"] == []  # one page, no marker: nothing before or after


@pytest.mark.usefixtures("example")
def test_the_pages_example_request_as_written(api: Api) -> None:
    """`?marker=<the backup>&limit=100&sort_dir=asc`: what is newer than the newest: nothing."""
    body = listed(api, "activities", query=f"?marker={BACKUP}&limit=100&sort_dir=asc")
    assert body == {"activities": [], "links": []}
    older = listed(api, "activities", query=f"?marker={BACKUP}")
    assert ids_of(older) == [CLEANUP, RESTORE]
    assert older["links"] == [{"href": f"{BASE}/activities?marker={CLEANUP}&sort_dir=asc", "rel": "previous"}]


def test_no_activities_is_an_empty_array(api: Api) -> None:
    agent_id = api.agent()
    assert listed(api, "activities") == {"activities": [], "links": []}
    assert listed(api, "agents", agent_id, "activities") == {"activities": [], "links": []}


@pytest.mark.usefixtures("example")
def test_an_agents_activities_are_its_own_and_restores_to_it(api: Api, client: FlaskClient) -> None:
    other = "other-agent"
    seed(
        client,
        agents=[{"id": other, "project_id": PROJECT}],
        jobs=[
            job("backup", "b-other", "2014-10-27T18:22:30.000000Z", other),
            job("restore", "r-to-other", "2014-10-27T18:22:31.000000Z", other, backup_id=BACKUP),
        ],
    )
    assert ids_of(listed(api, "agents", other, "activities")) == ["r-to-other", "b-other"]
    assert ids_of(listed(api, "agents", AGENT, "activities")) == [BACKUP, CLEANUP, RESTORE]
    assert ids_of(listed(api, "activities")) == ["r-to-other", "b-other", BACKUP, CLEANUP, RESTORE]


@pytest.mark.usefixtures("example")
def test_unknown_agent_or_configuration_is_404(api: Api, client: FlaskClient) -> None:
    seed(client, agents=[{"id": "elsewhere", "project_id": "220022"}])
    for parts, where in [
        (("agents", "nobody", "activities"), "agent_id: "),
        (("agents", "elsewhere", "activities"), "agent_id: "),
        (("configurations", "nothing", "activities"), "configuration_id: "),
        (("configurations", CONFIG, "activities"), "configuration_id: "),
    ]:
        project = "220022" if parts[1] == CONFIG else None
        url = api.url(*parts, project_id=project) + "?limit=0"  # 404 comes before the bad query's 400
        body = assert_fault(client.get(url, headers=api.headers()), 404)
        assert body["errors"][0].startswith(where), body


@pytest.mark.usefixtures("example")
@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("?limit=0", "limit: "),
        ("?limit=1001", "limit: "),
        ("?limit=ten", "limit: "),
        ("?sort_dir=up", "sort_dir: "),
        ("?marker=", "marker: "),
        ("?marker=no-such-job", "marker: "),
    ],
)
def test_a_bad_query_is_400_naming_it(api: Api, query: str, where: str) -> None:
    response = api.client.get(api.url("activities") + query, headers=api.headers())
    body = assert_fault(response, 400)
    assert body["errors"][0].startswith(where), body


def test_every_problem_of_the_query_is_listed(api: Api) -> None:
    response = api.client.get(api.url("activities") + "?limit=x&sort_dir=sideways", headers=api.headers())
    body = assert_fault(response, 400)
    assert sorted(error.split(":")[0] for error in body["errors"]) == ["limit", "sort_dir"]


def test_no_token_is_401(api: Api) -> None:
    assert_fault(api.client.get(api.url("activities")), 401)


def walk(api: Api, first: str) -> list[str]:
    """Follow `next` links from the first page; every page but the last has one."""
    seen: list[str] = []
    url: str | None = first
    while url is not None:
        response = api.client.get(url, headers=api.headers())
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        seen += ids_of(body)
        following = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = following[0].removeprefix("http://localhost") if following else None
        assert len(seen) < 100
    return seen


@pytest.fixture
def many(client: FlaskClient) -> list[str]:
    """Nine jobs of the three kinds, some at one time; their ids newest first (ties: kind, then
    the order made, newest last)."""
    t = "2020-01-01T00:00:0{}.000000Z"
    jobs = [
        job("backup", "b1", t.format(1)),
        job("cleanup", "c1", t.format(1)),
        job("restore", "r1", t.format(1)),
        job("backup", "b2", t.format(2)),
        job("backup", "b3", t.format(2)),
        job("restore", "r2", t.format(3)),
        job("cleanup", "c2", t.format(4)),
        job("backup", "b4", t.format(5)),
        job("cleanup", "c3", t.format(5)),
    ]
    seed(client, agents=[{"id": AGENT, "project_id": PROJECT}], jobs=jobs)
    return ["c3", "b4", "c2", "r2", "b3", "b2", "r1", "c1", "b1"]


@pytest.mark.parametrize("limit", [1, 2, 4, 9])
def test_paging_by_next_links_visits_each_once(api: Api, many: list[str], limit: int) -> None:
    assert walk(api, api.url("activities") + f"?limit={limit}") == many
    assert walk(api, api.url("activities") + f"?limit={limit}&sort_dir=asc") == many[::-1]


def test_next_and_previous_links(api: Api, many: list[str]) -> None:
    first = listed(api, "activities", query="?limit=3")
    assert ids_of(first) == many[:3]
    assert first["links"] == [{"href": f"{BASE}/activities?marker={many[2]}&limit=3", "rel": "next"}]
    second = listed(api, "activities", query=f"?limit=3&marker={many[2]}")
    assert ids_of(second) == many[3:6]
    links = {link["rel"]: link["href"] for link in second["links"]}
    assert set(links) == {"next", "previous"}
    back = urlsplit(links["previous"])
    assert parse_qs(back.query) == {"marker": [many[3]], "limit": ["3"], "sort_dir": ["asc"]}
    assert ids_of(listed(api, "activities", query=f"?{back.query}")) == many[:3][::-1]


def test_a_marker_of_another_kind_places_the_page_by_its_time(api: Api, many: list[str]) -> None:
    for index, marker in enumerate(many):
        assert ids_of(listed(api, "activities", query=f"?marker={marker}")) == many[index + 1 :]
        ascending = listed(api, "activities", query=f"?marker={marker}&sort_dir=asc")
        assert ids_of(ascending) == many[:index][::-1]


@pytest.mark.usefixtures("example")
def test_deleting_the_agent_takes_its_activities(api: Api) -> None:
    assert api.delete_agent(AGENT).status_code == 204
    assert listed(api, "activities") == {"activities": [], "links": []}
    state = api.client.get("/_control/state").get_json()
    assert state["documents"] == []
