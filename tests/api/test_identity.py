"""Identity v2.0, `POST /v2.0/tokens`: credentials, catalog, Identity's error bodies (SPEC)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import ClientDisconnected
from werkzeug.test import TestResponse

from logfiles import Settings, create_app, errors
from logfiles.api import pipeline
from logfiles.client import ControlError
from logfiles.journal import NOT_RECORDED
from logfiles.testing import running_stub
from tests.api.support import MIB, assert_time, assert_uuid4, padded
from tests.conftest import PROJECT, TOKEN, Api

OTHER_PROJECT = "220022"
TOKENS_URL = "/v2.0/tokens"
DAY = 24 * 3600
ALICE_PW = "alice-Secret-pw"
OLGA_KEY = "olga-Secret-api-key"
BOB_PW, BOB_KEY = "bob-Secret-pw", "bob-Secret-api-key"
TOKENS: dict[str, Any] = {
    # A tokens file of before: still a working token, with no user beside it.
    TOKEN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
    "token-alice": {
        "project_id": PROJECT,
        "roles": ["cloudbackup:admin"],
        "username": "alice",
        "password": ALICE_PW,
    },
    "token-olga": {"project_id": PROJECT, "roles": ["observer"], "username": "olga", "api_key": OLGA_KEY},
    "token-bob": {
        "project_id": OTHER_PROJECT,
        "roles": ["cloudbackup:creator"],
        "username": "bob",
        "password": BOB_PW,
        "api_key": BOB_KEY,
    },
}
SECRETS = (ALICE_PW, OLGA_KEY, BOB_PW, BOB_KEY)


def password_body(username: str, password: str, **auth: Any) -> dict[str, Any]:
    return {"auth": {"passwordCredentials": {"username": username, "password": password}, **auth}}


def api_key_body(username: str, api_key: str, **auth: Any) -> dict[str, Any]:
    return {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": username, "apiKey": api_key}, **auth}}


def token_body(token: str, tenant: str, member: str = "tenantId") -> dict[str, Any]:
    return {"auth": {"token": {"id": token}, member: tenant}}


def authenticate(
    api: Api,
    body: Any = None,
    *,
    data: bytes | str | None = None,
    content_type: str | None = "application/json",
    **kwargs: Any,
) -> TestResponse:
    payload = data if data is not None else json.dumps(body)
    headers = {} if content_type is None else {"Content-Type": content_type}
    return api.client.post(TOKENS_URL, data=payload, headers=headers, **kwargs)


def access_of(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"access"}, body
    access: dict[str, Any] = body["access"]
    return access


def token_of(response: TestResponse) -> str:
    return str(access_of(response)["token"]["id"])


def assert_identity_fault(response: TestResponse, status: int, name: str) -> str:
    """Identity's own body, `{"<name>": {"code": <status>, "message": "..."}}`; returns the message."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {name}, body
    assert set(body[name]) == {"code", "message"}, body
    assert body[name]["code"] == status
    message = body[name]["message"]
    assert isinstance(message, str) and message
    return str(message)


GUIDE_REGIONS = {"DFW", "ORD", "IAD", "LON", "SYD", "HKG"}  # service-access.rst


def endpoints(access: dict[str, Any], region: str = "DFW") -> dict[str, dict[str, Any]]:
    """Each service's endpoint in `region`, by the service's name, as a client that picks its
    endpoint by region does; every service lists each of the guide's regions once."""
    found = {}
    for service in access["serviceCatalog"]:
        regions = [endpoint["region"] for endpoint in service["endpoints"]]
        assert sorted(regions) == sorted(GUIDE_REGIONS), regions
        (endpoint,) = [endpoint for endpoint in service["endpoints"] if endpoint["region"] == region]
        found[service["name"]] = {"type": service["type"], **endpoint}
    return found


class TestStrictMode:
    """A tokens file with users beside its tokens."""

    @pytest.fixture
    def settings(self, tmp_path: Path, store_url: str) -> Settings:
        path = tmp_path / "tokens.json"
        path.write_text(json.dumps(TOKENS))
        return Settings(store_url=store_url, tokens_file=str(path), control_open=True)

    def test_authenticate_password_is_200_with_token_user_and_catalog(self, api: Api) -> None:
        now = api.freeze_clock("2030-01-02T03:04:05.123456Z")
        access = access_of(authenticate(api, password_body("alice", ALICE_PW)))
        assert set(access) == {"token", "user", "serviceCatalog"}
        assert set(access["token"]) == {"id", "expires", "tenant"}
        assert_uuid4(access["token"]["id"])
        assert assert_time(access["token"]["expires"]) == assert_time(now) + timedelta(days=1)
        assert access["token"]["tenant"] == {"id": PROJECT, "name": PROJECT}
        user = access["user"]
        assert set(user) == {"id", "name", "roles", "RAX-AUTH:defaultRegion"}
        assert user["name"] == "alice" and user["roles"] == [{"name": "cloudbackup:admin"}]
        assert user["RAX-AUTH:defaultRegion"] == "DFW"
        assert endpoints(access) == {
            "cloudBackup": {
                "type": "rax:backup",
                "region": "DFW",
                "tenantId": PROJECT,
                "publicURL": f"http://localhost/v2/{PROJECT}",
            },
            "cloudFiles": {
                "type": "object-store",
                "region": "DFW",
                "tenantId": f"MossoCloudFS_{PROJECT}",
                "publicURL": f"http://localhost/cloudfiles/v1/MossoCloudFS_{PROJECT}",
                "internalURL": f"http://localhost/cloudfiles/v1/MossoCloudFS_{PROJECT}",
            },
        }

    def test_authenticate_api_key_is_200_with_the_users_roles(self, api: Api) -> None:
        access = access_of(authenticate(api, api_key_body("olga", OLGA_KEY)))
        assert access["user"]["name"] == "olga"
        assert access["user"]["roles"] == [{"name": "observer"}]
        assert access["token"]["tenant"]["id"] == PROJECT

    def test_authenticate_user_with_both_takes_either(self, api: Api) -> None:
        for body in (password_body("bob", BOB_PW), api_key_body("bob", BOB_KEY)):
            access = access_of(authenticate(api, body))
            assert access["token"]["tenant"]["id"] == OTHER_PROJECT

    def test_authenticate_same_user_gets_the_same_id_and_a_new_token(self, api: Api) -> None:
        first = access_of(authenticate(api, password_body("alice", ALICE_PW)))
        second = access_of(authenticate(api, password_body("alice", ALICE_PW)))
        assert first["user"]["id"] == second["user"]["id"]
        assert first["token"]["id"] != second["token"]["id"]

    @pytest.mark.parametrize("member", ["tenantId", "tenantName"])
    def test_authenticate_the_users_tenant_is_200(self, api: Api, member: str) -> None:
        response = authenticate(api, password_body("alice", ALICE_PW, **{member: PROJECT}))
        assert access_of(response)["token"]["tenant"]["id"] == PROJECT

    @pytest.mark.parametrize(
        "body",
        [
            password_body("alice", "wrong"),
            password_body("nobody", ALICE_PW),
            password_body("olga", OLGA_KEY),
            api_key_body("olga", "wrong"),
            api_key_body("alice", ALICE_PW),
            api_key_body("nobody", OLGA_KEY),
            password_body("alice", ALICE_PW, tenantId=OTHER_PROJECT),
            api_key_body("olga", OLGA_KEY, tenantName=OTHER_PROJECT),
            token_body("token-alice", OTHER_PROJECT),
            token_body("unknown-token", PROJECT),
        ],
        ids=[
            "wrong-password",
            "unknown-user",
            "user-without-password",
            "wrong-api-key",
            "user-without-api-key",
            "unknown-user-api-key",
            "password-other-tenant",
            "api-key-other-tenant",
            "token-other-tenant",
            "unknown-token",
        ],
    )
    def test_authenticate_bad_credentials_is_401_identity_body(self, api: Api, body: Any) -> None:
        assert_identity_fault(authenticate(api, body), 401, "unauthorized")

    def test_authenticate_wrong_password_says_what_identity_says(self, api: Api) -> None:
        message = assert_identity_fault(authenticate(api, password_body("alice", "x")), 401, "unauthorized")
        assert message == "Unable to authenticate user with credentials provided."
        message = assert_identity_fault(authenticate(api, api_key_body("olga", "x")), 401, "unauthorized")
        assert message == "Username or api key is invalid."

    def test_issued_token_works_on_v2_with_the_users_project_and_roles(self, api: Api) -> None:
        token = token_of(authenticate(api, password_body("alice", ALICE_PW)))
        agent = api.registered(token=token)
        assert api.get_agent(agent["id"], token=token).status_code == 200
        assert api.delete_agent(agent["id"], token=token).status_code == 204
        response = api.list_agents(token=token, project_id=OTHER_PROJECT)
        assert response.status_code == 403, response.get_json()
        assert set(response.get_json()) == {"message", "errors"}  # /v2 keeps the guide's body

    def test_issued_token_observer_may_read_not_create(self, api: Api) -> None:
        token = token_of(authenticate(api, api_key_body("olga", OLGA_KEY)))
        assert api.list_agents(token=token).status_code == 200
        assert api.register_agent(token=token).status_code == 403

    def test_issued_token_creator_may_not_delete(self, api: Api) -> None:
        token = token_of(authenticate(api, api_key_body("bob", BOB_KEY)))
        agent_id = api.agent(token=token, project_id=OTHER_PROJECT)
        assert api.delete_agent(agent_id, token=token, project_id=OTHER_PROJECT).status_code == 403

    def test_issued_token_expires_24h_later_by_the_service_clock(self, api: Api) -> None:
        api.freeze_clock()
        token = token_of(authenticate(api, password_body("alice", ALICE_PW)))
        api.advance_clock(DAY - 1)
        assert api.list_agents(token=token).status_code == 200
        api.advance_clock(1)
        response = api.list_agents(token=token)
        assert response.status_code == 401, response.get_json()

    def test_issued_token_is_gone_after_a_reset(self, api: Api) -> None:
        token = token_of(authenticate(api, password_body("alice", ALICE_PW)))
        api.reset()
        assert api.list_agents(token=token).status_code == 401

    def test_configured_token_for_its_tenant_gives_a_new_token_with_its_roles(self, api: Api) -> None:
        access = access_of(authenticate(api, token_body("token-olga", PROJECT)))
        assert access["user"]["name"] == "olga"
        assert access["user"]["roles"] == [{"name": "observer"}]
        token = access["token"]["id"]
        assert token != "token-olga"
        assert api.list_agents(token=token).status_code == 200
        assert api.register_agent(token=token).status_code == 403

    def test_configured_token_without_user_for_its_tenant_is_200(self, api: Api) -> None:
        access = access_of(authenticate(api, token_body(TOKEN, PROJECT, "tenantName")))
        assert access["user"]["name"] == PROJECT
        assert access["token"]["tenant"]["id"] == PROJECT

    def test_issued_token_for_its_tenant_gives_a_new_token(self, api: Api) -> None:
        first = token_of(authenticate(api, api_key_body("olga", OLGA_KEY)))
        access = access_of(authenticate(api, token_body(first, PROJECT)))
        assert access["user"]["roles"] == [{"name": "observer"}]
        assert api.list_agents(token=access["token"]["id"]).status_code == 200

    def test_expired_issued_token_is_401(self, api: Api) -> None:
        api.freeze_clock()
        first = token_of(authenticate(api, password_body("alice", ALICE_PW)))
        api.advance_clock(DAY)
        message = assert_identity_fault(authenticate(api, token_body(first, PROJECT)), 401, "unauthorized")
        assert "expired" in message

    def test_agent_token_for_its_tenant_gives_a_new_token(self, api: Api) -> None:
        agent = api.registered(token=TOKEN)
        agent_token = api.agent_token(agent["id"], agent["password"])
        assert (
            access_of(authenticate(api, token_body(agent_token, PROJECT)))["token"]["tenant"]["id"] == PROJECT
        )

    def test_journal_never_holds_a_password_or_api_key(self, api: Api) -> None:
        authenticate(api, password_body("alice", ALICE_PW))
        authenticate(api, api_key_body("bob", BOB_KEY))
        authenticate(api, password_body("alice", BOB_PW))
        api.list_agents()
        journal = api.control("get", "requests").get_data(as_text=True)
        assert not any(secret in journal for secret in SECRETS)


class TestOpenMode:
    """No tokens file: any credentials, for the tenant given or else the username."""

    def test_authenticate_any_password_for_the_tenant(self, api: Api) -> None:
        access = access_of(authenticate(api, password_body("anyone", "anything", tenantId=PROJECT)))
        assert access["token"]["tenant"] == {"id": PROJECT, "name": PROJECT}
        assert access["user"]["name"] == "anyone"
        assert access["user"]["roles"] == [{"name": "cloudbackup:admin"}]

    def test_authenticate_without_tenant_the_username_is_the_project(self, api: Api) -> None:
        access = access_of(authenticate(api, api_key_body(OTHER_PROJECT, "any-key")))
        assert access["token"]["tenant"]["id"] == OTHER_PROJECT
        assert endpoints(access)["cloudBackup"]["publicURL"] == f"http://localhost/v2/{OTHER_PROJECT}"

    def test_authenticate_tenant_name_is_the_project(self, api: Api) -> None:
        access = access_of(authenticate(api, password_body("u", "p", tenantName="330033")))
        assert access["token"]["tenant"]["id"] == "330033"

    def test_authenticate_any_token_for_the_tenant(self, api: Api) -> None:
        access = access_of(authenticate(api, token_body("whatever-token", PROJECT)))
        assert access["token"]["tenant"]["id"] == PROJECT

    def test_issued_token_has_every_right_on_its_project_only(self, api: Api) -> None:
        token = token_of(authenticate(api, password_body("u", "p", tenantId=PROJECT)))
        agent_id = api.agent(token=token)
        assert api.delete_agent(agent_id, token=token).status_code == 204
        assert api.list_agents(token=token, project_id=OTHER_PROJECT).status_code == 403

    def test_issued_token_expires_24h_later_open_mode_too(self, api: Api) -> None:
        api.freeze_clock()
        token = token_of(authenticate(api, password_body("u", "p", tenantId=PROJECT)))
        api.advance_clock(DAY)
        assert api.list_agents(token=token).status_code == 401
        response = authenticate(api, token_body(token, PROJECT))
        assert_identity_fault(response, 401, "unauthorized")

    def test_issued_token_for_another_tenant_is_401(self, api: Api) -> None:
        token = token_of(authenticate(api, password_body("u", "p", tenantId=PROJECT)))
        assert_identity_fault(authenticate(api, token_body(token, OTHER_PROJECT)), 401, "unauthorized")

    @pytest.mark.parametrize(
        "body",
        [
            password_body("a/b", "p"),
            password_body("u", "p", tenantId="x/y"),
            token_body("t", "feed.xml"),
            token_body("t", "feed.json"),
        ],
        ids=["username-slash", "tenant-slash", "tenant-xml", "tenant-json"],
    )
    def test_project_no_url_can_name_is_400(self, api: Api, body: Any) -> None:
        assert_identity_fault(authenticate(api, body), 400, "badRequest")

    def test_catalog_follows_the_scheme_and_host_the_client_used(self, api: Api) -> None:
        body = password_body("u", "p", tenantId=PROJECT)
        response = authenticate(api, body, base_url="https://stub.example:8443")
        found = endpoints(access_of(response))
        assert found["cloudBackup"]["publicURL"] == f"https://stub.example:8443/v2/{PROJECT}"
        assert found["cloudFiles"]["publicURL"].startswith("https://stub.example:8443/cloudfiles/v1/")

    def test_catalog_object_store_url_setting_is_used(self, store_url: str) -> None:
        configured = "https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_{project_id}"
        app = create_app(Settings(store_url=store_url, object_store_url=configured))
        try:
            response = authenticate(Api(app.test_client()), password_body("u", "p", tenantId=PROJECT))
            files = endpoints(access_of(response))["cloudFiles"]
        finally:
            app.extensions["logfiles"].store.close()
        assert files["publicURL"] == f"https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_{PROJECT}"
        assert files["tenantId"] == f"MossoCloudFS_{PROJECT}"

    def test_region_setting_is_the_default_region_and_the_catalogs_first(self, store_url: str) -> None:
        """SPEC (ours): `RAX-AUTH:defaultRegion` is LOGFILES_REGION; every guide region is in
        the catalog, all on this server, so a client set up for any region finds its endpoint."""
        app = create_app(Settings(store_url=store_url, region="LON"))
        try:
            api = Api(app.test_client())
            access = access_of(authenticate(api, password_body("u", "p", tenantId=PROJECT)))
            assert access["user"]["RAX-AUTH:defaultRegion"] == "LON"
            for service in access["serviceCatalog"]:
                assert service["endpoints"][0]["region"] == "LON"
            for region in GUIDE_REGIONS:
                backup = endpoints(access, region)["cloudBackup"]["publicURL"]
                assert backup == f"http://localhost/v2/{PROJECT}"
                assert api.client.get(f"{backup}/agents", headers=api.headers()).status_code == 200
        finally:
            app.extensions["logfiles"].store.close()


# The body's checks, in the order of every body route: 415, 413, then 400.

MALFORMED = {
    "not-json": (b"{", "not valid JSON"),
    "not-utf8": (b'{"auth": "\xff"}', "not valid JSON"),
    "duplicate-member": (b'{"auth": {}, "auth": {}}', "duplicate member"),
    "nan": (b'{"auth": NaN}', "not valid JSON"),
    "empty": (b"", "not valid JSON"),
    "not-object": (b"[]", "body: must be a JSON object"),
    "no-auth": (b"{}", "auth: Missing data"),
    "no-credentials": (b'{"auth": {"tenantId": "1"}}', "auth: needs one of"),
    "two-kinds": (
        json.dumps(password_body("u", "p", token={"id": "t"}, tenantId="1")).encode(),
        "auth: give only one of passwordCredentials, RAX-KSKEY:apiKeyCredentials or token, not 2",
    ),
    "token-without-tenant": (b'{"auth": {"token": {"id": "t"}}}', "auth.tenantId: required"),
    "no-password": (
        b'{"auth": {"passwordCredentials": {"username": "alice"}}}',
        "auth.passwordCredentials.password: Missing data",
    ),
    "api-key-number": (
        b'{"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "u", "apiKey": 7}}}',
        "auth.RAX-KSKEY:apiKeyCredentials.apiKey: Not a valid string.",
    ),
    "username-too-long": (
        json.dumps(password_body("u" * 1025, "p")).encode(),
        "auth.passwordCredentials.username: Length must be between 1 and 1024.",
    ),
    "empty-token": (b'{"auth": {"token": {"id": ""}, "tenantId": "1"}}', "auth.token.id: Length"),
}


@pytest.mark.parametrize(("data", "expected"), MALFORMED.values(), ids=MALFORMED.keys())
def test_authenticate_malformed_is_400_naming_the_problem(api: Api, data: bytes, expected: str) -> None:
    message = assert_identity_fault(authenticate(api, data=data), 400, "badRequest")
    assert expected in message, message


def test_authenticate_1024_character_credentials_are_accepted(api: Api) -> None:
    long = "1" * 1024
    access = access_of(authenticate(api, password_body(long, long, tenantId=long)))
    assert access["token"]["tenant"]["id"] == long


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/json-patch+json"])
def test_authenticate_wrong_content_type_is_415(api: Api, content_type: str) -> None:
    response = authenticate(api, password_body("u", "p"), content_type=content_type)
    message = assert_identity_fault(response, 415, "badMediaType")
    assert content_type in message


def test_authenticate_without_content_type_is_415(api: Api) -> None:
    assert_identity_fault(authenticate(api, password_body("u", "p"), content_type=None), 415, "badMediaType")


def test_authenticate_content_type_with_charset_in_any_case_is_200(api: Api) -> None:
    response = authenticate(api, password_body("u", "p"), content_type="Application/JSON; charset=UTF-8")
    access_of(response)


def test_authenticate_over_1_mib_is_413(api: Api) -> None:
    response = authenticate(api, data=padded(password_body("u", "p"), MIB + 1))
    assert_identity_fault(response, 413, "overLimit")


def test_authenticate_over_1_mib_wrong_content_type_is_415(api: Api) -> None:
    response = authenticate(api, data=b"x" * (MIB + 1), content_type="text/plain")
    assert_identity_fault(response, 415, "badMediaType")


def test_authenticate_exactly_1_mib_is_200(api: Api) -> None:
    access_of(authenticate(api, data=padded(password_body("u", "p"), MIB)))


def chunked(api: Api, data: bytes) -> TestResponse:
    """A body with no Content-Length, as a chunked request reaches the app under gunicorn."""
    return api.client.post(
        TOKENS_URL,
        input_stream=io.BytesIO(data),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_authenticate_chunked_over_1_mib_is_413(api: Api) -> None:
    assert_identity_fault(chunked(api, padded(password_body("u", "p"), MIB + 1)), 413, "overLimit")


def test_authenticate_chunked_exactly_1_mib_is_200(api: Api) -> None:
    access_of(chunked(api, padded(password_body("u", "p"), MIB)))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_authenticate_route_other_method_is_405_with_allow(api: Api, method: str) -> None:
    response = api.client.open(TOKENS_URL, method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    if method != "HEAD":
        message = assert_identity_fault(response, 405, "badMethod")
        assert f"{method}: not allowed on /v2.0/tokens" in message


def test_other_routes_keep_the_guide_405(api: Api) -> None:
    response = api.client.put(api.url("agents", "a"))
    assert response.status_code == 405
    assert set(response.get_json()) == {"message", "errors"}
    assert response.headers["Allow"] == "DELETE, GET, PATCH"


@pytest.mark.parametrize("path", ["/v2.0/tokens/", "/v2.0/tokens/abc", "/v2.0", "/v2.0/tokens.xml"])
def test_authenticate_route_neighbours_are_404(api: Api, path: str) -> None:
    response = api.client.post(path, json=password_body("u", "p"))
    assert response.status_code == 404
    assert set(response.get_json()) == {"message", "errors"}


def test_authenticate_unusable_host_is_400_identity_body(api: Api) -> None:
    """The catalog's URLs are built on the Host header, as every /v2 link is."""
    response = api.client.post(TOKENS_URL, json=password_body("u", "p"), headers={"Host": "bad host"})
    assert "Host" in assert_identity_fault(response, 400, "badRequest")


def test_authenticate_store_unavailable_is_503_identity_body(api: Api, app: Flask, monkeypatch: Any) -> None:
    def unavailable(token: Any) -> None:
        raise errors.Unavailable("The store cannot serve now.")

    monkeypatch.setattr(app.extensions["logfiles"].store, "add_token", unavailable)
    response = authenticate(api, password_body("u", "p"))
    assert_identity_fault(response, 503, "serviceUnavailable")
    assert response.headers["Retry-After"] == "1"


def test_authenticate_werkzeug_error_in_the_view_is_identity_body(
    api: Api, app: Flask, monkeypatch: Any
) -> None:
    """What werkzeug raises inside the view (a client gone mid-body) keeps its status, in Identity's shape."""

    def gone(token: Any) -> None:
        raise ClientDisconnected()

    monkeypatch.setattr(app.extensions["logfiles"].store, "add_token", gone)
    assert_identity_fault(authenticate(api, password_body("u", "p")), 400, "badRequest")


def test_authenticate_unexpected_error_is_500_identity_body(api: Api, app: Flask, monkeypatch: Any) -> None:
    def broken(token: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.extensions["logfiles"].store, "add_token", broken)
    response = authenticate(api, password_body("u", "p"))
    message = assert_identity_fault(response, 500, "identityFault")
    assert "a bug" not in message


# The journal: this route is not journaled today (the journal records /v2); should it ever
# be, what it would record is masked already.


@pytest.fixture
def journal_everything(monkeypatch: Any) -> None:
    monkeypatch.setattr(pipeline, "is_contract", lambda path: True)


@pytest.mark.usefixtures("journal_everything")
def test_journal_of_this_route_masks_password_and_api_key(api: Api) -> None:
    authenticate(api, password_body("u", ALICE_PW, tenantId=PROJECT))
    authenticate(api, api_key_body("u", OLGA_KEY))
    authenticate(api, password_body("u", BOB_PW), content_type="text/plain")  # 415: body never read
    authenticate(api, data=b'{"auth": {"passwordCredentials": {"password": "' + BOB_KEY.encode())
    entries = api.control("get", "requests").get_json()["requests"]
    bodies = [e["body"] for e in entries if e["path"] == TOKENS_URL]
    assert len(bodies) == 4
    assert not any(secret in json.dumps(entries) for secret in SECRETS)
    assert json.loads(bodies[0])["auth"]["passwordCredentials"] == {"username": "u", "password": "****"}
    assert json.loads(bodies[0])["auth"]["tenantId"] == PROJECT
    assert json.loads(bodies[1])["auth"]["RAX-KSKEY:apiKeyCredentials"]["apiKey"] == "****"
    assert bodies[2] == ""
    assert bodies[3] == NOT_RECORDED.decode()
    assert [e["status"] for e in entries if e["path"] == TOKENS_URL] == [200, 200, 415, 400]


def test_openapi_lists_the_identity_operation(api: Api) -> None:
    document = api.client.get("/openapi.json").get_json()
    operation = document["paths"]["/v2.0/tokens"]["post"]
    assert sorted(operation["responses"]) == ["200", "400", "401", "405", "413", "415", "500", "503"]
    assert operation["security"] == []
    assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IdentityFault"
    }
    auth = document["components"]["schemas"]["Auth"]["properties"]
    assert {"passwordCredentials", "RAX-KSKEY:apiKeyCredentials", "token", "tenantId", "tenantName"} <= set(
        auth
    )


def test_client_identity_token_over_http() -> None:
    with running_stub() as stub:
        access = stub.identity_token("alice", password="pw", tenant=PROJECT)
        assert access["token"]["tenant"]["id"] == PROJECT
        assert endpoints(access)["cloudBackup"]["publicURL"] == f"{stub.url}/v2/{PROJECT}"
        by_key = stub.identity_token(OTHER_PROJECT, api_key="k")
        assert by_key["token"]["tenant"]["id"] == OTHER_PROJECT
        with pytest.raises(ControlError) as info:
            stub.identity_token("a/b", password="pw")
        assert info.value.status == 400 and "badRequest" in info.value.body


@pytest.mark.parametrize("given", [{}, {"password": "p", "api_key": "k"}], ids=["neither", "both"])
def test_client_identity_token_needs_one_secret(given: dict[str, str]) -> None:
    from logfiles.client import StubClient

    with pytest.raises(ValueError, match="a password or an api_key"):
        StubClient("http://127.0.0.1:9").identity_token("u", **given)


# Random bodies: never a 5xx, always Identity's body; a 200 only for the right credentials.

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
names = st.sampled_from(["alice", "olga", "bob", "nobody", ""]) | json_values
secrets = st.sampled_from([ALICE_PW, OLGA_KEY, BOB_PW, BOB_KEY, "wrong", ""]) | json_values
tenants = st.sampled_from([PROJECT, OTHER_PROJECT, "x/y", "", None]) | json_values
credential_members = st.fixed_dictionaries(
    {},
    optional={
        "passwordCredentials": st.fixed_dictionaries({}, optional={"username": names, "password": secrets})
        | json_values,
        "RAX-KSKEY:apiKeyCredentials": st.fixed_dictionaries(
            {}, optional={"username": names, "apiKey": secrets}
        )
        | json_values,
        "token": st.fixed_dictionaries(
            {}, optional={"id": st.sampled_from(["token-alice", "token-olga", TOKEN, "nope"]) | json_values}
        )
        | json_values,
        "tenantId": tenants,
        "tenantName": tenants,
    },
)
identity_bodies = st.fixed_dictionaries({"auth": credential_members}) | st.fixed_dictionaries(
    {}, optional={"auth": credential_members | json_values, "other": json_values}
)
# Near misses: right and wrong credentials of the right types, so that 200 and 401 both come up.
PASSWORD, API_KEY = "passwordCredentials", "RAX-KSKEY:apiKeyCredentials"
COMBOS = [
    (PASSWORD, "alice", ALICE_PW),
    (PASSWORD, "bob", BOB_PW),
    (API_KEY, "olga", OLGA_KEY),
    (API_KEY, "bob", BOB_KEY),
    ("token", "", "token-alice"),
    ("token", "", "token-bob"),
    (PASSWORD, "alice", BOB_PW),
    (API_KEY, "olga", ALICE_PW),
    (PASSWORD, "nobody", "x"),
    ("token", "", "nope"),
]


def likely_body(combo: tuple[str, str, str], tenant: str | None) -> dict[str, Any]:
    kind, username, secret = combo
    if kind == "token":
        auth: dict[str, Any] = {"token": {"id": secret}}
    else:
        auth = {kind: {"username": username, "password" if kind == PASSWORD else "apiKey": secret}}
    if tenant is not None:
        auth["tenantId"] = tenant
    return {"auth": auth}


likely_bodies = st.builds(
    likely_body, st.sampled_from(COMBOS), st.sampled_from([PROJECT, OTHER_PROJECT, None])
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def fuzz_api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    path = tmp_path_factory.mktemp("identity") / "tokens.json"
    path.write_text(json.dumps(TOKENS))
    return Api(create_app(Settings(tokens_file=str(path), control_open=True)).test_client())


@FUZZ
@given(
    document=likely_bodies | identity_bodies | json_values | st.binary(max_size=256),
    content_type=st.sampled_from(["application/json"] * 4 + ["text/plain"]),
)
def test_authenticate_any_body_is_200_or_an_identity_fault(
    fuzz_api: Api, document: Any, content_type: str
) -> None:
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    response = authenticate(fuzz_api, data=data, content_type=content_type)
    event(f"status {response.status_code}")
    assert response.status_code in {200, 400, 401, 415}, response.get_data(as_text=True)
    if response.status_code >= 400:
        names_by_status = {400: "badRequest", 401: "unauthorized", 415: "badMediaType"}
        assert_identity_fault(response, response.status_code, names_by_status[response.status_code])
        return
    access = access_of(response)
    auth = json.loads(data)["auth"]
    project = access["token"]["tenant"]["id"]
    assert project in (PROJECT, OTHER_PROJECT)
    if "token" not in auth:
        kind = "passwordCredentials" if "passwordCredentials" in auth else "RAX-KSKEY:apiKeyCredentials"
        user = next(v for v in TOKENS.values() if v.get("username") == auth[kind]["username"])
        assert project == user["project_id"]
    assert fuzz_api.list_agents(token=access["token"]["id"], project_id=project).status_code == 200


# Which near misses must pass: the user's own secret, or a configured token; then the tenant.
RIGHT = {
    (PASSWORD, "alice", ALICE_PW): PROJECT,
    (PASSWORD, "bob", BOB_PW): OTHER_PROJECT,
    (API_KEY, "olga", OLGA_KEY): PROJECT,
    (API_KEY, "bob", BOB_KEY): OTHER_PROJECT,
    ("token", "", "token-alice"): PROJECT,
    ("token", "", "token-bob"): OTHER_PROJECT,
}


@FUZZ
@given(combo=st.sampled_from(COMBOS), tenant=st.sampled_from([PROJECT, OTHER_PROJECT, None]))
def test_authenticate_near_misses_are_200_exactly_for_the_right_credentials(
    fuzz_api: Api, combo: tuple[str, str, str], tenant: str | None
) -> None:
    response = authenticate(fuzz_api, likely_body(combo, tenant))
    if combo[0] == "token" and tenant is None:
        assert_identity_fault(response, 400, "badRequest")
        return
    project = RIGHT.get(combo)
    if project is None or tenant not in (None, project):
        assert_identity_fault(response, 401, "unauthorized")
        return
    assert access_of(response)["token"]["tenant"]["id"] == project
