"""CORS (LOGFILES_CORS_ORIGINS): off by default; on, preflights answered and answers readable.

Every route a browser control panel calls: the contract's, Identity's and the object store's
(and the two public documents); never the control plane. Both stores, as every API test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from logfiles import Settings, create_app
from tests.api.support import ALL_METHODS, ROUTE_METHODS
from tests.conftest import JSON_PATCH, PROJECT, Api, assert_fault, registration, state_patch

ORIGIN = "http://localhost:3000"
OTHER_ORIGIN = "http://127.0.0.1:5173"
ORIGINS = (ORIGIN, OTHER_ORIGIN)
STRANGER = "http://evil.example"
ASKED_HEADERS = "X-Auth-Token, X-Agent-Id, Content-Type"
OBJECTS = f"/cloudfiles/v1/MossoCloudFS_{PROJECT}/CloudBackupLogs"

# Every route shape a page may call, with its own methods (what a preflight answer allows).
ROUTES: dict[str, set[str]] = {
    "/v2": {"GET"},
    f"/v2/{PROJECT}/agents/tokens": {"POST"},
    **{
        f"/v2/{PROJECT}/" + route.format(agent_id="agent-1", logfile_id="log-1"): methods
        for route, methods in ROUTE_METHODS.items()
    },
    "/v2.0/tokens": {"POST"},
    OBJECTS: {"GET", "HEAD", "PUT"},
    f"{OBJECTS}/v2/agent-1/log.gz": {"GET", "HEAD", "PUT", "DELETE"},
    "/": {"GET", "HEAD"},
    "/openapi.json": {"GET", "HEAD"},
}
HAS = [(path, method) for path, methods in ROUTES.items() for method in sorted(methods)]
LACKS = [
    (path, method)
    for path, methods in ROUTES.items()
    for method in ALL_METHODS
    if method not in methods and method != "OPTIONS"
]
# Where OPTIONS is 405 today (the contract's rule, and Identity's route, which has no OPTIONS).
NO_OPTIONS = [path for path in ROUTES if path.startswith("/v2")]


@pytest.fixture
def make_api(store_url: str) -> Iterator[Callable[..., Api]]:
    """An `Api` on an app with these CORS origins (the same store for every app of a test)."""
    apps: list[Flask] = []

    def make(origins: tuple[str, ...] = ORIGINS) -> Api:
        app = create_app(Settings(store_url=store_url, cors_origins=origins))
        app.config["TESTING"] = True
        apps.append(app)
        return Api(app.test_client())

    yield make
    for app in apps:
        app.extensions["logfiles"].store.close()


@pytest.fixture
def cors(make_api: Callable[..., Api]) -> Api:
    return make_api()


def preflight(
    api: Api, path: str, method: str, origin: str = ORIGIN, headers: str | None = ASKED_HEADERS
) -> TestResponse:
    """What a browser sends before a PATCH (or any request with a token) from another origin."""
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        asked["Access-Control-Request-Headers"] = headers
    return api.client.options(path, headers=asked)


def cors_headers(response: TestResponse) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("Access-Control-")}


def listed(value: str | None) -> set[str]:
    return {item.strip() for item in (value or "").split(",") if item.strip()}


def assert_readable(response: TestResponse, origin: str = ORIGIN) -> None:
    """The headers a page from `origin` needs to read this answer, `Location` among them."""
    assert response.headers.get("Access-Control-Allow-Origin") == origin, dict(response.headers)
    exposed = listed(response.headers.get("Access-Control-Expose-Headers"))
    assert {"Location", "Retry-After"} <= exposed, exposed
    assert "Access-Control-Allow-Credentials" not in response.headers  # tokens are headers
    if origin != "*":
        assert "Origin" in listed(response.headers.get("Vary"))


def assert_405(response: TestResponse, path: str) -> None:
    """405 with the route's body: Identity's own on its route, the guide's fault body elsewhere."""
    if path == "/v2.0/tokens":
        assert response.status_code == 405
        assert response.get_json()["badMethod"]["code"] == 405
    else:
        assert_fault(response, 405)


# Off: no variable, no CORS: today's behaviour.


@pytest.mark.parametrize("path", NO_OPTIONS)
def test_off_by_default_a_preflight_is_405_without_cors_headers(api: Api, path: str) -> None:
    response = preflight(api, path, sorted(ROUTES[path])[0])
    assert_405(response, path)
    assert cors_headers(response) == {}


def test_off_by_default_no_answer_carries_cors_headers(api: Api) -> None:
    origin = {"Origin": ORIGIN}
    registered = api.client.post(
        api.url("agents"), json=registration(), headers={"X-Auth-Token": api.token, **origin}
    )
    assert registered.status_code == 201
    answers = [
        registered,
        api.client.get(api.url("agents"), headers={"X-Auth-Token": api.token, **origin}),
        api.client.get(api.url("agents"), headers=origin),  # 401
        api.client.get(OBJECTS, headers={"X-Auth-Token": api.token, **origin}),
        api.client.options(OBJECTS, headers={**origin, "Access-Control-Request-Method": "PUT"}),
        api.client.get("/openapi.json", headers=origin),
    ]
    assert [cors_headers(answer) for answer in answers] == [{}] * len(answers)


# On: preflights.


@pytest.mark.parametrize(("path", "method"), HAS)
def test_preflight_for_a_method_the_route_has_is_answered(cors: Api, path: str, method: str) -> None:
    response = preflight(cors, path, method)
    assert response.status_code == 204, response.get_data(as_text=True)
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers
    assert_readable(response)
    # The route's own methods, exactly (on /v2 without HEAD and OPTIONS, as its `Allow`).
    assert listed(response.headers["Access-Control-Allow-Methods"]) == ROUTES[path]
    assert {h.lower() for h in listed(response.headers["Access-Control-Allow-Headers"])} == {
        "x-auth-token",
        "x-agent-id",
        "content-type",
    }
    assert response.headers["Access-Control-Max-Age"] == "600"


@pytest.mark.parametrize(("path", "method"), LACKS)
def test_preflight_for_a_method_the_route_lacks_is_answered_as_without_cors(
    cors: Api, api: Api, path: str, method: str
) -> None:
    """No leave for a method the route does not have: the same status as today (405 on /v2)."""
    response = preflight(cors, path, method)
    assert response.status_code == preflight(api, path, method).status_code
    assert "Access-Control-Allow-Methods" not in response.headers
    if path in NO_OPTIONS:
        assert_405(response, path)


@pytest.mark.parametrize(
    "asked",
    [
        {"Origin": ORIGIN},  # no Access-Control-Request-Method: a plain OPTIONS
        {"Origin": ORIGIN, "Access-Control-Request-Method": ""},
        {"Origin": ORIGIN, "Access-Control-Request-Method": "patch"},  # methods are case-sensitive
        {"Origin": ORIGIN, "Access-Control-Request-Method": "PAT"},  # not a part of one either
        {"Access-Control-Request-Method": "PATCH"},  # no Origin
    ],
    ids=["no-request-method", "empty-request-method", "lowercase", "part-of-a-method", "no-origin"],
)
def test_an_options_that_is_not_an_allowed_preflight_stays_405(cors: Api, asked: dict[str, str]) -> None:
    response = cors.client.options(cors.url("agents", "agent-1", "logfiles", "log-1"), headers=asked)
    body = assert_fault(response, 405)
    assert response.headers["Allow"] == "DELETE, GET, PATCH"
    assert "Access-Control-Allow-Methods" not in response.headers
    assert body["message"] == "The method is not allowed on this resource."


@pytest.mark.parametrize(
    "origin", [STRANGER, "http://localhost:30000", "http://localhost:3000.evil.example", "null"]
)
def test_a_preflight_from_another_origin_is_405_without_cors_headers(cors: Api, origin: str) -> None:
    response = preflight(cors, cors.url("agents"), "POST", origin=origin)
    assert_fault(response, 405)
    assert cors_headers(response) == {}


def test_a_preflight_allows_only_the_headers_the_service_reads(cors: Api) -> None:
    response = preflight(cors, cors.url("agents"), "POST", headers="x-auth-token, x-custom")
    assert response.status_code == 204
    assert listed(response.headers["Access-Control-Allow-Headers"]) == {"x-auth-token"}


def test_a_preflight_without_request_headers_is_answered(cors: Api) -> None:
    response = preflight(cors, cors.url("agents"), "GET", headers=None)
    assert response.status_code == 204
    assert "Access-Control-Allow-Headers" not in response.headers


def test_head_and_options_on_v2_stay_405_for_everyone_else(cors: Api) -> None:
    origin = {"Origin": ORIGIN, "X-Auth-Token": cors.token}
    head = cors.client.head(cors.url("agents"), headers=origin)
    assert (head.status_code, head.headers["Allow"]) == (405, "GET, POST")
    assert_fault(cors.client.options(cors.url("agents"), headers={"X-Auth-Token": cors.token}), 405)


# On: the real requests.


def test_a_real_request_from_an_allowed_origin_can_read_the_answer_and_its_location(cors: Api) -> None:
    response = cors.client.post(
        cors.url("agents"), json=registration(), headers={"X-Auth-Token": cors.token, "Origin": ORIGIN}
    )
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/agents/{response.get_json()['id']}")
    assert_readable(response)
    assert "Access-Control-Allow-Methods" not in response.headers  # a preflight's only


def test_each_listed_origin_gets_itself_back(cors: Api) -> None:
    for origin in ORIGINS:
        response = cors.client.get(cors.url("agents"), headers={"X-Auth-Token": cors.token, "Origin": origin})
        assert response.status_code == 200
        assert_readable(response, origin)


def test_a_patch_from_an_allowed_origin_changes_the_state(cors: Api) -> None:
    agent_id = cors.agent()
    logfile_id = cors.logfile(agent_id)
    assert preflight(cors, cors.url("agents", agent_id, "logfiles", logfile_id), "PATCH").status_code == 204
    response = cors.client.patch(
        cors.url("agents", agent_id, "logfiles", logfile_id),
        data=json.dumps(state_patch("started")),
        headers={"X-Auth-Token": cors.token, "Content-Type": JSON_PATCH, "Origin": ORIGIN},
    )
    assert response.status_code == 204
    assert_readable(response)
    assert cors.get_logfile(agent_id, logfile_id).get_json()["state"] == "started"


@pytest.mark.parametrize("origin", [STRANGER, "http://localhost:30000", "https://localhost:3000"])
def test_another_origin_gets_no_cors_headers(cors: Api, origin: str) -> None:
    response = cors.client.get(cors.url("agents"), headers={"X-Auth-Token": cors.token, "Origin": origin})
    assert response.status_code == 200  # served (CORS is the browser's rule), but not readable there
    assert cors_headers(response) == {}


def test_a_request_without_origin_gets_no_cors_headers(cors: Api) -> None:
    """curl, agents, test suites: nothing changes for them."""
    response = cors.client.get(cors.url("agents"), headers={"X-Auth-Token": cors.token})
    assert response.status_code == 200
    assert cors_headers(response) == {}


def test_an_ipv6_origin_matches_as_written(make_api: Callable[..., Api]) -> None:
    """flask-cors would read `[::1]` as a regular expression's character class: not here."""
    api = make_api(("http://[::1]:3000",))
    response = api.client.get(
        api.url("agents"), headers={"X-Auth-Token": api.token, "Origin": "http://[::1]:3000"}
    )
    assert_readable(response, "http://[::1]:3000")
    assert cors_headers(api.client.get(api.url("agents"), headers={"Origin": "http://1:3000"})) == {}


def test_any_origin_with_star(make_api: Callable[..., Api]) -> None:
    api = make_api(("*",))
    answered = preflight(api, api.url("agents"), "POST", origin=STRANGER)
    assert answered.status_code == 204
    assert_readable(answered, "*")
    assert listed(answered.headers["Access-Control-Allow-Methods"]) == {"GET", "POST"}
    response = api.client.get(api.url("agents"), headers={"X-Auth-Token": api.token, "Origin": OTHER_ORIGIN})
    assert_readable(response, "*")
    assert "Vary" not in response.headers  # the same answer for every origin
    assert cors_headers(api.client.get(api.url("agents"), headers={"X-Auth-Token": api.token})) == {}


# On: error answers are readable too.


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status"),
    [
        ("get", f"/v2/{PROJECT}/agents", {}, None, 401),
        ("get", f"/v2/{PROJECT}/agents/nobody", {"X-Auth-Token": "t"}, None, 404),
        ("get", f"/v2/{PROJECT}/nothing-here", {"X-Auth-Token": "t"}, None, 404),
        ("put", f"/v2/{PROJECT}/agents", {"X-Auth-Token": "t"}, None, 405),
        ("post", f"/v2/{PROJECT}/agents", {"X-Auth-Token": "t", "Content-Type": "text/plain"}, "x", 415),
        (
            "post",
            f"/v2/{PROJECT}/agents",
            {"X-Auth-Token": "t", "Content-Type": "application/json"},
            "{",
            400,
        ),
        ("get", f"{OBJECTS}/missing.gz", {"X-Auth-Token": "t"}, None, 404),
        ("get", f"{OBJECTS}?limit=x", {"X-Auth-Token": "t"}, None, 400),
        ("post", "/v2.0/tokens", {"Content-Type": "text/plain"}, "x", 415),
        ("get", "/v2.0/tokens", {}, None, 405),
    ],
)
def test_error_answers_carry_the_cors_headers(
    cors: Api, method: str, path: str, headers: dict[str, str], body: str | None, status: int
) -> None:
    response = getattr(cors.client, method)(path, data=body, headers={**headers, "Origin": ORIGIN})
    assert response.status_code == status, response.get_data(as_text=True)
    assert_readable(response)


def test_a_conflict_is_readable(cors: Api) -> None:
    agent_id = cors.agent()
    logfile_id = cors.logfile(agent_id)
    assert cors.patch_state(agent_id, logfile_id, "completed").status_code == 204
    response = cors.client.patch(
        cors.url("agents", agent_id, "logfiles", logfile_id),
        data=json.dumps(state_patch("started")),
        headers={"X-Auth-Token": cors.token, "Content-Type": JSON_PATCH, "Origin": ORIGIN},
    )
    assert_fault(response, 409)
    assert_readable(response)


# Fault rules: a rule for "any method" leaves preflights alone; OPTIONS must be asked for.


def add_rule(api: Api, **rule: object) -> str:
    response = api.control("post", "faults", {"status": 503, "times": None, **rule})
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def rule_counts(api: Api, rule_id: str) -> tuple[int, int]:
    rules = {rule["id"]: rule for rule in api.control("get", "faults").get_json()["faults"]}
    return rules[rule_id]["matched"], rules[rule_id]["fired"]


def test_a_rule_without_a_method_faults_the_request_not_its_preflight(cors: Api) -> None:
    rule_id = add_rule(cors, path="/v2/*", headers={"Retry-After": "7"})
    path = cors.url("agents", "agent-1", "logfiles", "log-1")
    assert preflight(cors, path, "PATCH").status_code == 204
    response = cors.client.patch(
        path, data="[]", headers={"X-Auth-Token": cors.token, "Content-Type": JSON_PATCH, "Origin": ORIGIN}
    )
    assert_fault(response, 503)
    assert response.headers["Retry-After"] == "7"
    assert_readable(response)  # the page reads the injected 503 and its Retry-After
    assert rule_counts(cors, rule_id) == (1, 1)  # the preflight was not even counted


def test_a_rule_for_options_faults_the_preflight(cors: Api) -> None:
    rule_id = add_rule(cors, method="OPTIONS", path="/v2/*")
    response = preflight(cors, cors.url("agents"), "POST")
    assert_fault(response, 503)
    assert "Access-Control-Allow-Methods" not in response.headers  # the browser gives up here
    assert rule_counts(cors, rule_id) == (1, 1)


def test_without_cors_a_rule_without_a_method_leaves_a_preflight_405(api: Api) -> None:
    rule_id = add_rule(api, path="/v2/*")
    assert_fault(preflight(api, api.url("agents"), "POST"), 405)
    assert rule_counts(api, rule_id) == (0, 0)
    assert_fault(api.client.options(api.url("agents")), 503)  # a plain OPTIONS is the client's


# The journal: the real request as it arrived, and the preflight before it.


def test_the_journal_records_the_preflight_and_the_request_with_their_origin(cors: Api) -> None:
    agent_id = cors.agent()
    logfile_id = cors.logfile(agent_id)
    path = cors.url("agents", agent_id, "logfiles", logfile_id)
    assert cors.control("delete", "requests").status_code == 204
    assert preflight(cors, path, "PATCH").status_code == 204
    response = cors.client.patch(
        path,
        data=json.dumps(state_patch("started")),
        headers={"X-Auth-Token": cors.token, "Content-Type": JSON_PATCH, "Origin": ORIGIN},
    )
    assert response.status_code == 204
    entries = cors.control("get", "requests").get_json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("OPTIONS", path, 204),
        ("PATCH", path, 204),
    ]
    asked, patched = entries
    assert asked["headers"]["Origin"] == ORIGIN
    assert asked["headers"]["Access-Control-Request-Method"] == "PATCH"
    assert asked["headers"]["Access-Control-Request-Headers"] == ASKED_HEADERS
    assert patched["headers"]["Origin"] == ORIGIN
    assert patched["headers"]["X-Auth-Token"] == cors.token
    assert json.loads(patched["body"]) == state_patch("started")


# Never the control plane.


@pytest.mark.parametrize("origins", [ORIGINS, ("*",)], ids=["list", "star"])
def test_the_control_plane_never_answers_other_origins(
    make_api: Callable[..., Api], origins: tuple[str, ...]
) -> None:
    api = make_api(origins)
    assert cors_headers(api.client.get("/_control/state", headers={"Origin": ORIGIN})) == {}
    asked = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    assert cors_headers(api.client.options("/_control/reset", headers=asked)) == {}
    assert cors_headers(api.client.get("/healthz", headers={"Origin": ORIGIN})) == {}
