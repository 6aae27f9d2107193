"""Health check, health details, ping and summary settings through the app, from their pages
and SPEC ("The whole service": health reports the store and the object store as /healthz sees
them; ping 204 while serving; summary settings' defaults and whole replacement)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask

from logfiles import Settings, create_app
from logfiles.errors import Unavailable
from logfiles.store.sqlite import SqliteStore
from tests.api.support import MIB, padded
from tests.conftest import PROJECT, Api, assert_fault

DATA = Path(__file__).resolve().parents[1] / "data"
PAGES = {
    (op["method"], op["path"]): op
    for op in json.loads((DATA / "guide_operations.json").read_text())["operations"]
}
SETTINGS_ROUTE = "/v2/{project_id}/settings/summaries"
GET_EXAMPLE: dict[str, Any] = PAGES[("GET", SETTINGS_ROUTE)]["responses"][0]["body"]
PUT_EXAMPLE: dict[str, Any] = PAGES[("PUT", SETTINGS_ROUTE)]["requests"][0]["body"]
JSON = {"Content-Type": "application/json"}
SYSTEMS = {"cassandra": "storage", "swift": "storage", "pecan": "transport"}


def put_settings(api: Api, body: Any, token: str | None = None, project_id: str | None = None) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body)
    return api.client.put(
        api.url("settings", "summaries", project_id=project_id), data=data, headers=api.headers(token, **JSON)
    )


def get_settings(api: Api, token: str | None = None, project_id: str | None = None) -> Any:
    return api.client.get(api.url("settings", "summaries", project_id=project_id), headers=api.headers(token))


def assert_entry(entry: Any, online: bool, self_url: str) -> None:
    """A system as the pages show it: `online`, then `links` with its `self`."""
    assert entry["online"] is online
    assert entry["links"] == [{"href": self_url, "rel": "self"}]


# Health.


def test_a_healthy_service_reports_every_system_online_and_each_self_link_leads_to_its_details(
    api: Api,
) -> None:
    response = api.client.get(api.url("health"), headers=api.headers())
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"storage", "transport"}
    assert {name: group for group, systems in body.items() for name in systems} == SYSTEMS
    node = body["transport"]["pecan"]["node"]
    assert isinstance(node, str) and node
    for name, group in SYSTEMS.items():
        entry = body[group][name]
        url = f"http://localhost/v2/{PROJECT}/health/{name}"
        assert_entry(entry, True, url)
        details = api.client.get(url, headers=api.headers())
        assert details.status_code == 200, details.get_data(as_text=True)
        assert details.get_json() == entry


def test_ping_is_204_with_no_body(api: Api) -> None:
    response = api.client.get(api.url("ping"), headers=api.headers())
    assert response.status_code == 204 and response.get_data() == b""


def test_an_unknown_dependent_system_is_a_404_fault_naming_the_known_ones(api: Api) -> None:
    fault = assert_fault(api.client.get(api.url("health", "storage"), headers=api.headers()), 404)
    assert fault["errors"] == ["dependent_system: 'storage' is none of cassandra, swift, pecan"]


@pytest.mark.parametrize("path", ["health", "health/cassandra", "ping", "settings/summaries"])
def test_every_route_needs_a_token(api: Api, path: str) -> None:
    assert_fault(api.client.get(api.url(*path.split("/"))), 401)


def sqlite_app(tmp_path: Path) -> tuple[Flask, SqliteStore]:
    app = create_app(Settings(store_url=f"sqlite:///{tmp_path / 'sick.db'}"))
    store: SqliteStore = app.extensions["logfiles"].store
    return app, store


def test_a_store_whose_file_is_gone_is_reported_offline_with_a_503_of_the_pages_body(tmp_path: Path) -> None:
    app, store = sqlite_app(tmp_path)
    api = Api(app.test_client())
    assert api.client.get("/healthz").status_code == 200
    os.remove(store.path)
    assert api.client.get("/healthz").status_code == 503  # what /healthz sees, /health reports
    response = api.client.get(api.url("health"), headers=api.headers())
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    body = response.get_json()  # the page's 503 example: the report, not a fault body
    base = f"http://localhost/v2/{PROJECT}/health"
    assert_entry(body["storage"]["cassandra"], False, f"{base}/cassandra")
    assert_entry(body["storage"]["swift"], False, f"{base}/swift")  # its objects live with the store
    assert body["transport"]["pecan"]["online"] is True
    details = api.client.get(f"{base}/cassandra", headers=api.headers())
    assert details.status_code == 503
    assert_entry(details.get_json(), False, f"{base}/cassandra")
    assert api.client.get(f"{base}/pecan", headers=api.headers()).status_code == 200
    assert api.client.get(api.url("ping"), headers=api.headers()).status_code == 204


def test_an_object_store_that_cannot_be_read_is_reported_alone(
    app: Flask, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(*args: Any) -> None:
        raise Unavailable("The storage is not available.", ["storage: the object files cannot be read"])

    monkeypatch.setattr(app.extensions["logfiles"].store, "list_objects", unreadable)
    response = api.client.get(api.url("health"), headers=api.headers())
    assert response.status_code == 503
    body = response.get_json()
    assert body["storage"]["cassandra"]["online"] is True
    assert body["storage"]["swift"]["online"] is False
    assert api.client.get(api.url("health", "swift"), headers=api.headers()).status_code == 503
    assert api.client.get(api.url("health", "cassandra"), headers=api.headers()).status_code == 200


# Summary settings.


def test_before_any_put_the_settings_are_the_retrieve_pages_example(api: Api) -> None:
    response = get_settings(api)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == GET_EXAMPLE


def test_the_update_pages_example_is_204_and_a_put_replaces_the_settings_whole(api: Api) -> None:
    response = put_settings(api, PUT_EXAMPLE)
    assert response.status_code == 204 and response.get_data() == b""
    assert get_settings(api).get_json() == PUT_EXAMPLE
    mine = {"weekly": True, "notifications": [{"type": "email", "destination": "ops@example.com"}]}
    assert put_settings(api, mine).status_code == 204
    assert get_settings(api).get_json() == {"daily": False, **mine}  # not merged: daily not sent is false
    assert get_settings(api, project_id="other").get_json() == GET_EXAMPLE  # kept per project


def test_a_bad_body_is_a_400_listing_every_problem_and_changes_nothing(api: Api) -> None:
    assert put_settings(api, {"daily": False, "notifications": []}).status_code == 204
    bad = {"daily": "no", "notifications": [{"type": "email"}], "monthly": True}
    fault = assert_fault(put_settings(api, bad), 400)
    assert sorted(fault["errors"]) == [
        "daily: Not a valid boolean.",
        "monthly: Unknown field.",
        "notifications.0.destination: Missing data for required field.",
    ]
    assert_fault(put_settings(api, b"{"), 400)
    assert get_settings(api).get_json() == {"daily": False, "weekly": False, "notifications": []}


def test_the_checks_run_in_spec_order(api: Api) -> None:
    url = api.url("settings", "summaries")
    assert_fault(api.client.put(url, data="{", headers={"Content-Type": "text/plain"}), 401)
    assert_fault(api.client.put(url, data="{", headers=api.headers(**{"Content-Type": "text/plain"})), 415)
    too_large = padded({"notifications": []}, MIB + 1)
    assert_fault(put_settings(api, too_large), 413)
    assert put_settings(api, padded({"notifications": []}, MIB)).status_code == 204  # exactly 1 MiB is read


def test_settings_go_with_the_state_document(api: Api) -> None:
    """Seed and export: the settings are a document of the state document's `documents`."""
    assert put_settings(api, PUT_EXAMPLE | {"daily": False}).status_code == 204
    exported = api.client.get("/_control/state").get_json()
    (kept,) = [d for d in exported["documents"] if d["kind"] == "summary_settings"]
    assert (kept["project_id"], kept["id"]) == (PROJECT, "summaries")
    api.reset()
    assert get_settings(api).get_json() == GET_EXAMPLE
    assert api.client.put("/_control/state", json=exported).status_code == 200
    assert get_settings(api).get_json() == PUT_EXAMPLE | {"daily": False}


class TestRoles:
    """With a tokens file: reading needs the read right, a PUT the update right (SPEC roles)."""

    TOKENS: ClassVar[dict[str, Any]] = {
        "admin": {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
        "creator": {"project_id": PROJECT, "roles": ["cloudbackup:creator"]},
        "observer": {"project_id": PROJECT, "roles": ["cloudbackup:observer"]},
        "nobody": {"project_id": PROJECT, "roles": []},
        "other": {"project_id": "220022", "roles": ["admin"]},
    }

    @pytest.fixture
    def settings(self, tmp_path: Path, store_url: str) -> Settings:
        path = tmp_path / "tokens.json"
        path.write_text(json.dumps(self.TOKENS))
        return Settings(store_url=store_url, tokens_file=str(path), control=False)

    def test_who_may_read_and_who_may_replace(self, api: Api) -> None:
        for path in ("health", "health/pecan", "ping", "settings/summaries"):
            url = api.url(*path.split("/"))
            for token in ("observer", "creator", "admin"):
                answer = api.client.get(url, headers=api.headers(token))
                assert answer.status_code in (200, 204), (path, token)
            assert_fault(api.client.get(url, headers=api.headers("nobody")), 403)
            assert_fault(api.client.get(url, headers=api.headers("other")), 403)
            assert_fault(api.client.get(url, headers=api.headers("unknown")), 401)
        assert_fault(put_settings(api, PUT_EXAMPLE, token="observer"), 403)
        assert_fault(put_settings(api, b"{", token="observer"), 403)  # 403 before 400
        assert put_settings(api, PUT_EXAMPLE | {"weekly": True}, token="creator").status_code == 204
        assert get_settings(api, token="observer").get_json()["weekly"] is True
