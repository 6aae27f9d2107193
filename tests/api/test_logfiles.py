"""Log files: request, list (and its paging), details, links once completed, delete (SPEC: Log files)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from logfiles import Settings
from tests.api.support import assert_time, assert_uuid4, links_by_rel
from tests.conftest import PROJECT, Api, assert_fault

OBJECT_STORE = "https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_{project_id}"


def logfile_self(agent_id: str, logfile_id: str, project_id: str = PROJECT) -> str:
    return f"http://localhost/v2/{project_id}/agents/{agent_id}/logfiles/{logfile_id}"


def object_name(agent_id: str, date: str) -> str:
    """SPEC: `.../CloudBackupLogs/v2/{agent_id}/{date with ':' replaced by '-'}.gz`."""
    return f"CloudBackupLogs/v2/{agent_id}/{date.replace(':', '-')}.gz"


def completed(api: Api, agent_id: str, project_id: str | None = None) -> dict[str, Any]:
    """A new log file taken to `completed`; returns its details."""
    response = api.request_logfile(agent_id, project_id=project_id)
    assert response.status_code == 202
    logfile_id = response.get_json()["id"]
    assert api.patch_state(agent_id, logfile_id, "started", project_id=project_id).status_code == 204
    assert api.patch_state(agent_id, logfile_id, "completed", project_id=project_id).status_code == 204
    body: dict[str, Any] = api.get_logfile(agent_id, logfile_id, project_id=project_id).get_json()
    return body


def assert_temp_url(temp_url: str, logfile_url: str) -> None:
    """SPEC: the same URL with `temp_url_sig` and `temp_url_expires` query parameters."""
    parts = urlsplit(temp_url)
    assert parts._replace(query="").geturl() == logfile_url
    query = parse_qs(parts.query, keep_blank_values=True)
    assert set(query) == {"temp_url_sig", "temp_url_expires"}, query
    assert all(len(values) == 1 and values[0] for values in query.values()), query


def test_request_logfile_is_202_with_logfile_body(api: Api) -> None:
    agent_id = api.agent()
    before = datetime.now(UTC)
    response = api.request_logfile(agent_id)
    after = datetime.now(UTC)
    assert response.status_code == 202
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"id", "date", "state", "links"}
    assert_uuid4(body["id"])
    date = assert_time(body["date"])
    assert before - timedelta(seconds=1) <= date <= after + timedelta(seconds=1)
    assert body["state"] == "requested"


def test_request_logfile_location_equals_absolute_self_link(api: Api) -> None:
    agent_id = api.agent()
    response = api.request_logfile(agent_id)
    body = response.get_json()
    expected = logfile_self(agent_id, body["id"])
    assert response.headers["Location"] == expected
    assert links_by_rel(body) == {"self": expected}


def test_request_logfile_other_host_and_scheme_in_self_link(api: Api) -> None:
    agent_id = api.agent()
    response = api.client.post(
        api.url("agents", agent_id, "logfiles"),
        headers=api.headers(),
        base_url="https://backup.example.test:8443",
    )
    assert response.status_code == 202
    expected = f"https://backup.example.test:8443/v2/{PROJECT}/agents/{agent_id}/logfiles/{response.get_json()['id']}"
    assert response.headers["Location"] == expected
    assert links_by_rel(response.get_json())["self"] == expected


def test_request_logfile_twice_gives_new_ids(api: Api) -> None:
    agent_id = api.agent()
    assert api.logfile(agent_id) != api.logfile(agent_id)


def test_request_logfile_unknown_agent_is_404(api: Api) -> None:
    assert_fault(api.request_logfile(str(uuid.uuid4())), 404)


def test_request_logfile_agent_of_other_project_is_404(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.request_logfile(agent_id, project_id="220022"), 404)
    assert api.list_logfiles(agent_id).get_json()["logfiles"] == []


def test_get_logfile_is_200_with_same_body_as_202(api: Api) -> None:
    agent_id = api.agent()
    created = api.request_logfile(agent_id).get_json()
    response = api.get_logfile(agent_id, created["id"])
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == created


@pytest.mark.parametrize("logfile_id", [pytest.param(str(uuid.uuid4()), id="a-new-uuid"), "nope"])
def test_get_logfile_unknown_is_404(api: Api, logfile_id: str) -> None:
    agent_id = api.agent()
    assert_fault(api.get_logfile(agent_id, logfile_id), 404)


def test_get_logfile_unknown_agent_is_404(api: Api) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    assert_fault(api.get_logfile(str(uuid.uuid4()), logfile_id), 404)


@pytest.mark.parametrize("operation", ["get", "patch", "delete"])
def test_logfile_of_other_agent_is_404(api: Api, operation: str) -> None:
    owner, other = api.agent(), api.agent()
    logfile_id = api.logfile(owner)
    if operation == "get":
        response = api.get_logfile(other, logfile_id)
    elif operation == "patch":
        response = api.patch_state(other, logfile_id, "started")
    else:
        response = api.delete_logfile(other, logfile_id)
    assert_fault(response, 404)
    assert api.get_logfile(owner, logfile_id).get_json()["state"] == "requested"


@pytest.mark.parametrize("operation", ["get", "patch", "delete", "list"])
def test_logfile_of_other_project_is_404(api: Api, operation: str) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    other = "220022"
    if operation == "get":
        response = api.get_logfile(agent_id, logfile_id, project_id=other)
    elif operation == "patch":
        response = api.patch_state(agent_id, logfile_id, "started", project_id=other)
    elif operation == "delete":
        response = api.delete_logfile(agent_id, logfile_id, project_id=other)
    else:
        response = api.list_logfiles(agent_id, project_id=other)
    assert_fault(response, 404)
    assert api.get_logfile(agent_id, logfile_id).get_json()["state"] == "requested"


def test_list_logfiles_none_is_empty_list(api: Api) -> None:
    agent_id = api.agent()
    response = api.list_logfiles(agent_id)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"logfiles": []}


def test_list_logfiles_in_request_order_with_details(api: Api) -> None:
    agent_id = api.agent()
    logfile_ids = [api.logfile(agent_id) for _ in range(5)]
    assert api.patch_state(agent_id, logfile_ids[0], "completed").status_code == 204
    assert api.patch_state(agent_id, logfile_ids[3], "started").status_code == 204
    response = api.list_logfiles(agent_id)
    assert response.status_code == 200
    body = response.get_json()
    assert body == {"logfiles": [api.get_logfile(agent_id, i).get_json() for i in logfile_ids]}
    dates = [assert_time(lf["date"]) for lf in body["logfiles"]]
    assert dates == sorted(dates)


def test_list_logfiles_only_that_agents(api: Api) -> None:
    first, second = api.agent(), api.agent()
    mine = [api.logfile(first), api.logfile(first)]
    api.logfile(second)
    listed = api.list_logfiles(first).get_json()["logfiles"]
    assert [lf["id"] for lf in listed] == mine


def test_list_logfiles_unknown_agent_is_404(api: Api) -> None:
    assert_fault(api.list_logfiles(str(uuid.uuid4())), 404)


@pytest.mark.parametrize("states", [(), ("started",)], ids=["requested", "started"])
def test_get_logfile_not_completed_has_only_self_link(api: Api, states: tuple[str, ...]) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    if states:
        assert api.patch_state(agent_id, logfile_id, *states).status_code == 204
    body = api.get_logfile(agent_id, logfile_id).get_json()
    assert links_by_rel(body) == {"self": logfile_self(agent_id, logfile_id)}


def test_get_logfile_completed_has_logfile_and_temp_url_links(api: Api) -> None:
    agent_id = api.agent()
    body = completed(api, agent_id)
    links = links_by_rel(body)
    assert set(links) == {"self", "logfile", "logfile_temp_url"}
    assert links["self"] == logfile_self(agent_id, body["id"])
    expected = f"http://localhost/cloudfiles/v1/MossoCloudFS_{PROJECT}/{object_name(agent_id, body['date'])}"
    assert links["logfile"] == expected
    assert_temp_url(links["logfile_temp_url"], expected)


def test_list_logfiles_completed_has_same_links(api: Api) -> None:
    agent_id = api.agent()
    body = completed(api, agent_id)
    listed = api.list_logfiles(agent_id).get_json()["logfiles"]
    assert links_by_rel(listed[0])["logfile"] == links_by_rel(body)["logfile"]
    assert set(links_by_rel(listed[0])) == {"self", "logfile", "logfile_temp_url"}


def test_get_logfile_completed_directly_from_requested_has_links(api: Api) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    assert api.patch_state(agent_id, logfile_id, "completed").status_code == 204
    assert set(links_by_rel(api.get_logfile(agent_id, logfile_id).get_json())) == {
        "self",
        "logfile",
        "logfile_temp_url",
    }


class TestConfiguredObjectStore:
    """SPEC: LOGFILES_OBJECT_STORE_URL is the base of the `logfile` links, `{project_id}` filled in."""

    @pytest.fixture
    def settings(self, store_url: str) -> Settings:
        return Settings(store_url=store_url, object_store_url=OBJECT_STORE)

    @pytest.mark.parametrize("project_id", [PROJECT, "987654"])
    def test_get_logfile_completed_uses_object_store_url(self, api: Api, project_id: str) -> None:
        agent_id = api.agent(project_id=project_id)
        body = completed(api, agent_id, project_id=project_id)
        links = links_by_rel(body)
        base = OBJECT_STORE.format(project_id=project_id)
        expected = f"{base}/{object_name(agent_id, body['date'])}"
        assert links["logfile"] == expected
        assert_temp_url(links["logfile_temp_url"], expected)
        assert links["self"] == logfile_self(agent_id, body["id"], project_id)


@pytest.mark.parametrize(
    "states",
    [(), ("started",), ("completed",), ("started", "completed")],
    ids=lambda s: "-".join(s) or "requested",
)
def test_delete_logfile_in_every_state_is_204_then_404(api: Api, states: tuple[str, ...]) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    kept = api.logfile(agent_id)
    for state in states:
        assert api.patch_state(agent_id, logfile_id, state).status_code == 204
    response = api.delete_logfile(agent_id, logfile_id)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_fault(api.get_logfile(agent_id, logfile_id), 404)
    assert_fault(api.patch_state(agent_id, logfile_id, "completed"), 404)
    assert_fault(api.delete_logfile(agent_id, logfile_id), 404)
    assert [lf["id"] for lf in api.list_logfiles(agent_id).get_json()["logfiles"]] == [kept]
    assert api.get_agent(agent_id).status_code == 200


def test_delete_logfile_unknown_is_404(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.delete_logfile(agent_id, str(uuid.uuid4())), 404)


# Paging (ours, not in SPEC): ?limit=N (1..1000, default 100) and ?marker=<last id seen>.


def next_link(body: dict[str, Any]) -> str | None:
    hrefs = [link["href"] for link in body.get("links", []) if link.get("rel") == "next"]
    assert len(hrefs) <= 1, body
    return hrefs[0] if hrefs else None


def all_pages(api: Api, agent_id: str, query: str) -> list[list[str]]:
    """Follow `next` links from the first page; the ids on each page."""
    response = api.list_logfiles(agent_id, query=query)
    pages = []
    while True:
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append([lf["id"] for lf in body["logfiles"]])
        href = next_link(body)
        if href is None:
            return pages
        assert len(pages) < 20
        response = api.client.get(href, headers=api.headers())


def test_list_logfiles_limit_pages_with_next_links(api: Api) -> None:
    agent_id = api.agent()
    ids = [api.logfile(agent_id) for _ in range(5)]
    assert all_pages(api, agent_id, "limit=2") == [ids[0:2], ids[2:4], ids[4:5]]


def test_list_logfiles_limit_exactly_remaining_has_no_next(api: Api) -> None:
    agent_id = api.agent()
    ids = [api.logfile(agent_id) for _ in range(2)]
    body = api.list_logfiles(agent_id, query="limit=2").get_json()
    assert [lf["id"] for lf in body["logfiles"]] == ids
    assert next_link(body) is None


def test_list_logfiles_next_link_is_absolute_and_keeps_limit(api: Api) -> None:
    agent_id = api.agent()
    ids = [api.logfile(agent_id) for _ in range(3)]
    href = next_link(api.list_logfiles(agent_id, query="limit=1").get_json())
    assert href is not None
    parts = urlsplit(href)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}"
        == f"http://localhost/v2/{PROJECT}/agents/{agent_id}/logfiles"
    )
    query = parse_qs(parts.query)
    assert query["limit"] == ["1"]
    assert query["marker"] == [ids[0]]


def test_list_logfiles_default_limit_is_100(api: Api) -> None:
    agent_id = api.agent()
    ids = [api.logfile(agent_id) for _ in range(101)]
    body = api.list_logfiles(agent_id).get_json()
    assert [lf["id"] for lf in body["logfiles"]] == ids[:100]
    assert next_link(body) is not None
    assert all_pages(api, agent_id, "") == [ids[:100], ids[100:]]


@pytest.mark.parametrize("limit", ["1", "100", "1000"])
def test_list_logfiles_limit_in_range_is_200(api: Api, limit: str) -> None:
    agent_id = api.agent()
    ids = [api.logfile(agent_id) for _ in range(2)]
    body = api.list_logfiles(agent_id, query=f"limit={limit}").get_json()
    assert [lf["id"] for lf in body["logfiles"]] == ids[: int(limit)]


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "abc", "1.5", "1e2", "%20"])
def test_list_logfiles_bad_limit_is_400(api: Api, limit: str) -> None:
    agent_id = api.agent()
    api.logfile(agent_id)
    assert_fault(api.list_logfiles(agent_id, query=f"limit={limit}"), 400)


def test_list_logfiles_marker_gives_those_after_it(api: Api) -> None:
    agent_id = api.agent()
    ids = [api.logfile(agent_id) for _ in range(4)]
    body = api.list_logfiles(agent_id, query=f"marker={ids[1]}").get_json()
    assert [lf["id"] for lf in body["logfiles"]] == ids[2:]
    assert next_link(body) is None


def test_list_logfiles_marker_last_is_empty(api: Api) -> None:
    agent_id = api.agent()
    ids = [api.logfile(agent_id) for _ in range(2)]
    body = api.list_logfiles(agent_id, query=f"marker={ids[-1]}").get_json()
    assert body["logfiles"] == []
    assert next_link(body) is None


def test_list_logfiles_unknown_marker_is_400(api: Api) -> None:
    agent_id = api.agent()
    api.logfile(agent_id)
    assert_fault(api.list_logfiles(agent_id, query=f"marker={uuid.uuid4()}"), 400)


def test_list_logfiles_marker_of_other_agent_is_400(api: Api) -> None:
    agent_id, other = api.agent(), api.agent()
    api.logfile(agent_id)
    assert_fault(api.list_logfiles(agent_id, query=f"marker={api.logfile(other)}"), 400)


def test_list_logfiles_unknown_agent_with_bad_limit_is_404(api: Api) -> None:
    assert_fault(api.list_logfiles(str(uuid.uuid4()), query="limit=0"), 404)


@pytest.mark.parametrize("limit", ["9" * 5000, "1" * 10, "\u0661\u0660", "+5", " 5"])
def test_list_logfiles_limit_not_plain_digits_is_400(api: Api, limit: str) -> None:
    agent_id = api.agent()
    body = assert_fault(api.list_logfiles(agent_id, query=f"limit={limit}"), 400)
    assert body["errors"][0].startswith("limit: ")


def test_list_logfiles_ignores_parameters_it_does_not_know(api: Api) -> None:
    agent_id = api.agent()
    api.logfile(agent_id)
    assert len(api.list_logfiles(agent_id, query="sort_dir=desc").get_json()["logfiles"]) == 1
