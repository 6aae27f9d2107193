"""Which pages may change the control plane: its own, by a name no one else can point here.

Issue 20: a page whose `Origin` agrees with the request's own `Host` was taken as the
dashboard's, and a DNS-rebinding page (`Host: evil.example:P`, `Origin: http://evil.example:P`)
sends exactly that; a sandboxed page (an object the object store served) sends `Origin: null`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from logfiles import Settings, create_app
from logfiles.api.control import is_own_host
from tests.conftest import PROJECT, TOKEN, assert_fault

SEED = {"agents": [{"id": "agent-1", "project_id": PROJECT}]}


def seeded(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert client.post("/_control/state", json=SEED, headers={"X-Control-Token": "ct"}).status_code == 200
    return client


def survived(client: FlaskClient) -> bool:
    answer = client.get(f"/v2/{PROJECT}/agents/agent-1", headers={"X-Auth-Token": TOKEN})
    return answer.status_code == 200


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def _make(**settings: object) -> Flask:
        app = create_app(Settings(**settings))  # type: ignore[arg-type]
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield _make
    for app in apps:
        app.extensions["logfiles"].store.close()


# (Host header, Origin header, whether the page may reset), open mode, LOGFILES_BIND's default.
PAGES = [
    ("localhost", "http://localhost", True),  # Flask's test client, and the dashboard on localhost
    ("localhost:8080", "http://localhost:8080", True),
    ("127.0.0.1:8080", "http://127.0.0.1:8080", True),
    ("127.9.9.9:8080", "http://127.9.9.9:8080", True),
    ("[::1]:8080", "http://[::1]:8080", True),
    ("stub.localhost:8080", "http://stub.localhost:8080", True),
    ("10.1.2.3:8080", "http://10.1.2.3:8080", True),  # an address: nothing to rebind
    ("evil.example:8080", "http://evil.example:8080", False),  # DNS rebinding: Host and Origin agree
    ("evil.example", "http://evil.example", False),
    ("localhost.evil.example:8080", "http://localhost.evil.example:8080", False),
    ("127.0.0.1.evil.example:8080", "http://127.0.0.1.evil.example:8080", False),
    ("127.0.0.1:8080", "null", False),  # a sandboxed page: an object served by the object store
    ("localhost", "null", False),
    ("127.0.0.1:8080", "http://127.0.0.1:3000", False),  # another port is another origin
]


def test_a_change_is_taken_only_from_a_page_on_a_name_of_this_server(make_app: Callable[..., Flask]) -> None:
    for host, origin, allowed in PAGES:
        client = seeded(make_app())
        answer = client.post("/_control/reset", headers={"Host": host, "Origin": origin})
        if allowed:
            assert answer.status_code == 204, (host, origin, answer.data)
            assert not survived(client)
        else:
            body = assert_fault(answer, 403)
            assert body["message"] == "The control plane takes no changes from another site's page."
            assert survived(client), (host, origin)


def test_a_rebound_name_is_refused_in_strict_mode_with_the_control_plane_left_open(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({TOKEN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]}}))
    client = seeded(make_app(tokens_file=str(tokens), control_open=True))
    for method, path in (("post", "reset"), ("put", "state"), ("post", "clock"), ("delete", "faults")):
        answer = getattr(client, method)(
            f"/_control/{path}",
            json={},
            headers={"Host": "evil.example:8080", "Origin": "http://evil.example:8080"},
        )
        problems = assert_fault(answer, 403)["errors"]
        assert problems == [
            "Host: 'evil.example:8080' is not a name of this server: without LOGFILES_CONTROL_TOKEN a page "
            "may change the control plane only from localhost, an IP address or LOGFILES_BIND's host"
        ]
    assert survived(client)
    # Reading is not a change: the rebound page gets nothing it could not read by other means
    # (the same answer as curl's), and the browser shows it only to that same page.
    assert client.get("/_control/clock", headers={"Host": "evil.example:8080"}).status_code == 200


def test_the_bind_hosts_name_is_this_servers_and_a_control_token_vouches_for_any_name(
    make_app: Callable[..., Flask],
) -> None:
    named = seeded(make_app(bind="stub.example:8080"))
    page = {"Host": "stub.example:8080", "Origin": "http://stub.example:8080"}
    assert named.post("/_control/reset", headers=page).status_code == 204
    rebound = seeded(make_app(bind="stub.example:8080"))
    elsewhere = {"Host": "evil.example:8080", "Origin": "http://evil.example:8080"}
    assert_fault(rebound.post("/_control/reset", headers=elsewhere), 403)
    assert survived(rebound)

    # With a control token, a page needs the token too, which a page on a rebound name (its
    # own origin, its own storage) never has: any name the page and Host agree on will do.
    guarded = seeded(make_app(control_token="ct"))
    assert_fault(guarded.post("/_control/reset", headers=elsewhere), 401)
    assert survived(guarded)
    assert_fault(
        guarded.post("/_control/reset", headers={**elsewhere, "Origin": "null", "X-Control-Token": "ct"}), 403
    )
    assert survived(guarded)
    assert guarded.post("/_control/reset", headers={**elsewhere, "X-Control-Token": "ct"}).status_code == 204


@pytest.mark.parametrize(
    ("host", "bind_host", "own"),
    [
        ("localhost", "127.0.0.1", True),
        ("LOCALHOST:80", "127.0.0.1", True),
        ("localhost.:8080", "127.0.0.1", True),
        ("a.b.localhost", "127.0.0.1", True),
        ("127.0.0.1", "127.0.0.1", True),
        ("[::1]:8080", "127.0.0.1", True),
        ("[fe80::1]", "127.0.0.1", True),
        ("192.168.1.20:8080", "0.0.0.0", True),  # noqa: S104 - a bind address, not a bind
        ("stub.lan:8080", "stub.lan", True),
        ("Stub.LAN", "stub.lan", True),
        ("stub.lan:8080", "0.0.0.0", False),  # noqa: S104 - a bind address, not a bind
        ("evil.example", "127.0.0.1", False),
        ("localhost.evil.example", "127.0.0.1", False),
        ("notlocalhost", "127.0.0.1", False),
        ("[evil.example]:80", "127.0.0.1", False),
        ("", "127.0.0.1", False),
    ],
)
def test_is_own_host(host: str, bind_host: str, own: bool) -> None:
    assert is_own_host(host, bind_host) is own
