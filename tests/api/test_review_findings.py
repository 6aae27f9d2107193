"""Cases a contract review found: values orjson refuses, ids needing percent-encoding, `.XML`."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Api, assert_fault, registration


def test_register_agent_huge_integer_is_shown_back(api: Api) -> None:
    body = registration()
    body["rsa_public_key"]["exponent"] = 2**70
    created = api.register_agent(data=json.dumps(body))
    assert created.status_code == 201, created.get_data(as_text=True)
    shown = json.loads(api.get_agent(created.get_json()["id"]).get_data(as_text=True))
    assert shown["rsa_public_key"]["exponent"] == 2**70


def test_register_agent_with_a_lone_surrogate_is_400_and_registers_nothing(api: Api) -> None:
    """RFC 8259 8.2: such a string is no Unicode text; no store could keep it, no answer show it."""
    answer = api.register_agent(data=json.dumps(registration(name="\ud800 agent")))
    assert answer.status_code == 400
    assert "lone surrogate" in answer.get_json()["errors"][0]
    assert api.client.get(f"/v2/{api.project_id}/agents", headers=api.headers()).get_json()["agents"] == []


@pytest.mark.parametrize(("project_id", "encoded"), [("a b", "a%20b"), ("a?b", "a%3Fb"), ("a#b", "a%23b")])
def test_register_agent_location_and_self_link_are_the_same_encoded_url(
    api: Api, project_id: str, encoded: str
) -> None:
    created = api.register_agent(project_id=encoded)
    assert created.status_code == 201
    (self_link,) = [link for link in created.get_json()["links"] if link["rel"] == "self"]
    assert created.headers["Location"] == self_link["href"]
    assert f"/v2/{encoded}/agents/" in self_link["href"]
    agent_id = created.get_json()["id"]
    requested = api.request_logfile(agent_id, project_id=encoded)
    links = {link["rel"]: link["href"] for link in requested.get_json()["links"]}
    assert requested.headers["Location"] == links["self"]
    path = links["self"].removeprefix("http://localhost")
    assert api.client.get(path, headers=api.headers()).status_code == 200


@pytest.mark.parametrize("suffix", [".xml", ".XML", ".Xml"])
def test_get_agent_xml_suffix_any_case_is_an_unknown_route(api: Api, suffix: str) -> None:
    agent_id = api.agent()
    response = api.client.get(api.url("agents", agent_id + suffix))  # no token: routing first
    assert_fault(response, 404)
