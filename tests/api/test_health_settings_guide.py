"""Health, ping and summary settings, written from their guide pages and SPEC alone.

Pages (guide/api-reference/methods/): get-perform-health-check, get-health-details,
get-ping-the-application, get-summary-settings, put-update-summary-settings. SPEC "The whole
service": health and its details report the store and the object store as `/healthz` sees
them, under the page's keys, with the page's 503 body when one is down; ping answers 204 while
serving; summary settings are kept per project, GET before any PUT answers the page's example
values and PUT replaces them whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from logfiles import Settings, create_app
from tests.api.guide_pages import (
    P,
    assert_no_body,
    json_of,
    page_body,
    page_request_body,
    put_json,
    send_page_example,
)
from tests.api.support import MIB
from tests.conftest import PROJECT, TOKEN, Api, assert_fault

HEALTH = f"{P}/health"
DETAILS = f"{P}/health/{{dependent_system}}"
PING = f"{P}/ping"
SUMMARIES = f"{P}/settings/summaries"
PAGE_KEYS = set(page_body("GET", HEALTH, 200))  # event, storage, transport


def systems(body: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(group, name, report) for each dependent system of a health answer, after checking the
    answer is shaped as the page's: groups the page names, each system `online` and `links`
    (with `self`), the page's members only (`regions` and `node` where its example has them)."""
    assert isinstance(body, dict) and body, body
    assert set(body) <= PAGE_KEYS, f"groups the page does not name: {set(body) - PAGE_KEYS}"
    found = []
    for group, members in body.items():
        assert isinstance(members, dict) and members, (group, members)
        for name, report in members.items():
            assert isinstance(report, dict), (group, name, report)
            assert isinstance(report["online"], bool), report
            assert set(report) <= {"online", "links", "node", "regions"}, report
            assert "self" in [link["rel"] for link in report["links"]], report
            found.append((group, name, report))
    return found


def details(api: Api, group: str, name: str) -> Any:
    """The details of one system: by its name (the page's `{dependent_system}`), else its group."""
    for candidate in (name, group):
        response = api.client.get(api.url("health", candidate), headers=api.headers())
        if response.status_code != 404:
            return response
    return response


# --------------------------------------------------------------------------------------------
# Health.


def test_perform_a_health_check_page_example(api: Api) -> None:
    answer = send_page_example(api, "GET", HEALTH, {})
    body = json_of(answer, 200)
    found = systems(body)
    assert "storage" in body  # the store, where the page reports its database
    assert all(report["online"] is True for _, _, report in found), body


def test_health_details_page_example_for_each_system(api: Api) -> None:
    body = json_of(send_page_example(api, "GET", HEALTH, {}), 200)
    for group, name, _ in systems(body):
        answer = details(api, group, name)
        shown = json_of(answer, 200)
        assert set(shown) >= {"online", "links"}, shown  # the page's example (exactly: below)
        assert shown["online"] is True
        assert "self" in [link["rel"] for link in shown["links"]]


@pytest.mark.xfail(
    strict=True,
    reason="get-health-details: the answer is {online, links} (its response table and both "
    "examples); the service adds `node` for transport.pecan",
)
def test_health_details_have_the_pages_members_only(api: Api) -> None:
    body = json_of(send_page_example(api, "GET", HEALTH, {}), 200)
    for group, name, _ in systems(body):
        assert set(json_of(details(api, group, name), 200)) == {"online", "links"}, (group, name)


def test_health_details_of_an_unknown_system_is_404(api: Api) -> None:
    answer = send_page_example(api, "GET", DETAILS, {"dependent_system": "dependentSystemName"})
    assert_fault(answer, 404)


@pytest.fixture
def sick(tmp_path: Path) -> Iterator[tuple[Flask, Api]]:
    """An app on SQLite whose database file is removed while serving (/healthz says 503)."""
    app = create_app(Settings(store_url=f"sqlite:///{tmp_path / 'sick.db'}"))
    api = Api(app.test_client())
    yield app, api
    app.extensions["logfiles"].store.close()


def test_health_is_503_with_the_pages_body_when_the_store_is_down(sick: tuple[Flask, Api]) -> None:
    """The page: "If any dependent system is experiencing an issue, a 503 response code is
    returned", with the health body (its 503 example), not a fault body."""
    app, api = sick
    healthy = json_of(api.client.get(api.url("health"), headers=api.headers()), 200)
    os.remove(app.extensions["logfiles"].store.path)
    assert api.client.get("/healthz").status_code == 503
    answer = api.client.get(api.url("health"), headers=api.headers())
    body = json_of(answer, 503)
    found = systems(body)
    assert {(g, n) for g, n, _ in found} == {(g, n) for g, n, _ in systems(healthy)}
    assert [r["online"] for g, _, r in found if g == "storage"] and not any(
        r["online"] for g, _, r in found if g == "storage"
    ), body
    for group, name, report in found:
        shown = details(api, group, name)
        assert shown.status_code == (200 if report["online"] else 503), (group, name, shown.get_data())
        assert json_of(shown, shown.status_code)["online"] is report["online"]


def test_health_and_ping_need_a_token(api: Api) -> None:
    """SPEC: `X-Auth-Token` is required on every /v2 route but agent authentication."""
    for path in ("health", "ping", "settings/summaries"):
        assert_fault(api.client.get(f"/v2/{PROJECT}/{path}"), 401)


def test_health_routes_have_only_get(api: Api) -> None:
    for path in ("health", "health/storage", "ping"):
        answer = api.client.post(f"/v2/{PROJECT}/{path}", headers=api.headers())
        assert_fault(answer, 405)
        assert "GET" in answer.headers["Allow"]


# --------------------------------------------------------------------------------------------
# Ping.


def test_ping_page_example(api: Api) -> None:
    answer = send_page_example(api, "GET", PING, {})
    assert_no_body(answer, 204)


# --------------------------------------------------------------------------------------------
# Summary settings.


def test_retrieve_summary_settings_page_example_before_any_update(api: Api) -> None:
    """SPEC: GET before any PUT answers the values of the page's example."""
    answer = send_page_example(api, "GET", SUMMARIES, {})
    assert json_of(answer, 200) == page_body("GET", SUMMARIES)


def test_update_summary_settings_page_example_then_retrieve(api: Api) -> None:
    answer = send_page_example(api, "PUT", SUMMARIES, {})
    assert_no_body(answer, 204)
    assert json_of(send_page_example(api, "GET", SUMMARIES, {}), 200) == page_request_body("PUT", SUMMARIES)


def test_update_replaces_the_settings_whole_and_per_project(api: Api) -> None:
    changed = {
        "daily": False,
        "weekly": True,
        "notifications": [{"type": "email", "destination": "ops@example.com"}],
    }
    assert_no_body(put_json(api, ("settings", "summaries"), changed), 204)
    assert json_of(api.client.get(api.url("settings", "summaries"), headers=api.headers()), 200) == changed
    other = Api(api.client, project_id="220022")
    shown = json_of(other.client.get(other.url("settings", "summaries"), headers=other.headers()), 200)
    assert shown == page_body("GET", SUMMARIES)
    again = {
        "daily": True,
        "weekly": True,
        "notifications": [{"type": "email", "destination": "b@example.com"}],
    }
    assert_no_body(put_json(api, ("settings", "summaries"), again), 204)
    assert json_of(api.client.get(api.url("settings", "summaries"), headers=api.headers()), 200) == again


def test_update_summary_settings_bad_requests(api: Api) -> None:
    """The page: `notifications` and each one's `type` and `destination` are required; `daily`
    and `weekly` are booleans. SPEC: 415 before 413 before 400, one entry per problem."""
    parts = ("settings", "summaries")
    good = page_request_body("PUT", SUMMARIES)
    cases: list[tuple[dict[str, Any], str]] = [
        ({k: v for k, v in good.items() if k != "notifications"}, "notifications"),
        ({**good, "notifications": [{"type": "email"}]}, "notifications"),
        ({**good, "notifications": [{"destination": "a@example.com"}]}, "notifications"),
        ({**good, "notifications": "email"}, "notifications"),
        ({**good, "daily": "yes"}, "daily"),
        ({**good, "weekly": 1}, "weekly"),
    ]
    for body, where in cases:
        errors = assert_fault(put_json(api, parts, body), 400)["errors"]
        assert errors[0].startswith(where), (body, errors)
    two = {
        "daily": "yes",
        "weekly": "no",
        "notifications": [{"type": "email", "destination": "x@example.com"}],
    }
    assert len(assert_fault(put_json(api, parts, two), 400)["errors"]) == 2
    assert_fault(put_json(api, parts, [good]), 400)
    broken = api.client.put(
        api.url(*parts), data="{", headers=api.headers(**{"Content-Type": "application/json"})
    )
    assert_fault(broken, 400)
    plain = api.client.put(
        api.url(*parts), data=json.dumps(good), headers=api.headers(**{"Content-Type": "text/plain"})
    )
    assert_fault(plain, 415)
    huge = api.client.put(
        api.url(*parts),
        data=b"{" + b" " * MIB + b"}",
        headers=api.headers(**{"Content-Type": "application/json"}),
    )
    assert_fault(huge, 413)
    shown = json_of(api.client.get(api.url(*parts), headers=api.headers()), 200)
    assert shown == page_body("GET", SUMMARIES)  # nothing changed


def test_summary_settings_rights(tmp_path: Path) -> None:
    """SPEC: observers read, creators and admins update (the guide's RBAC page)."""
    path = tmp_path / "tokens.json"
    path.write_text(
        json.dumps(
            {
                TOKEN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
                "observer": {"project_id": PROJECT, "roles": ["cloudbackup:observer"]},
                "creator": {"project_id": PROJECT, "roles": ["cloudbackup:creator"]},
                "other": {"project_id": "220022", "roles": ["cloudbackup:admin"]},
            }
        )
    )
    app = create_app(Settings(store_url="memory", tokens_file=str(path), control=False))
    try:
        client = app.test_client()
        body = page_request_body("PUT", SUMMARIES)
        url = f"/v2/{PROJECT}/settings/summaries"
        for token, status in (("observer", 403), ("other", 403), ("nobody", 401)):
            answer = client.put(url, json=body, headers={"X-Auth-Token": token})
            assert_fault(answer, status)
        assert client.get(url, headers={"X-Auth-Token": "observer"}).status_code == 200
        assert_fault(client.get(url, headers={"X-Auth-Token": "other"}), 403)
        assert client.put(url, json=body, headers={"X-Auth-Token": "creator"}).status_code == 204
        for path_ in ("health", "ping"):
            assert client.get(f"/v2/{PROJECT}/{path_}", headers={"X-Auth-Token": "observer"}).status_code in (
                200,
                204,
            )
    finally:
        app.extensions["logfiles"].store.close()


def test_summary_settings_have_bounds(api: Api) -> None:
    """The standards: every input has a documented bound; past it a 4xx, nothing kept."""
    parts = ("settings", "summaries")
    many = {
        "daily": True,
        "weekly": True,
        "notifications": [{"type": "email", "destination": "a@b"}] * 15_000,
    }
    long = {"daily": True, "weekly": True, "notifications": [{"type": "email", "destination": "a" * 700_000}]}
    for body in (many, long):
        answer = put_json(api, parts, body)
        assert 400 <= answer.status_code < 500, answer.status_code
        assert_fault(answer, answer.status_code)
    assert json_of(api.client.get(api.url(*parts), headers=api.headers()), 200) == page_body("GET", SUMMARIES)
