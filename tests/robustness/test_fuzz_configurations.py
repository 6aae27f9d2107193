"""Arbitrary JSON in a configuration's create body and PATCH document: never a 5xx, and a
refused PATCH changes nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logfiles import Settings, create_app
from tests.conftest import Api
from tests.robustness.test_fuzz_bodies import json_values

GUIDE = json.loads((Path(__file__).resolve().parents[1] / "data" / "guide-configurations.json").read_text())
MEMBERS = list(GUIDE["create_request"])  # the create page's members, in its order
PATHS = ["/name", "/enabled", "/schedule", "/retention/days", "/inclusions", "/exclusions", "/notifications"]
texts = st.text(alphabet="/\\ab.;=:,RULEFQHOYDINTVBMSW0123456789", max_size=40)
values = (
    json_values
    | texts
    | st.lists(
        st.fixed_dictionaries({"type": st.sampled_from(["file", "folder"]), "path": texts}), max_size=4
    )
)
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def fuzz() -> tuple[Api, str, str]:
    api = Api(create_app(Settings()).test_client())
    agent_id = api.agent()
    body = {**copy.deepcopy(GUIDE["create_request"]), "agent_id": agent_id}
    response = api._call(
        "post", ("configurations",), data=json.dumps(body), extra_headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201
    return api, agent_id, response.get_json()["id"]


@FUZZ
@given(
    changes=st.dictionaries(st.sampled_from(MEMBERS), values, max_size=3),
    dropped=st.sets(st.sampled_from(MEMBERS), max_size=2),
)
def test_create_any_body_is_201_or_a_fault(
    fuzz: tuple[Api, str, str], changes: dict[str, Any], dropped: set[str]
) -> None:
    api, agent_id, _ = fuzz
    body = {**copy.deepcopy(GUIDE["create_request"]), "agent_id": agent_id, **changes}
    for name in dropped:
        body.pop(name, None)
    response = api._call(
        "post", ("configurations",), data=json.dumps(body), extra_headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (201, 400, 404), response.get_data(as_text=True)
    if response.status_code == 201:
        assert api._call("delete", ("configurations", response.get_json()["id"])).status_code == 204


@FUZZ
@given(
    document=st.lists(
        st.fixed_dictionaries(
            {"op": st.sampled_from(["replace", "add"]), "path": st.sampled_from(PATHS), "value": values}
        ),
        min_size=1,
        max_size=3,
    )
    | json_values
)
def test_patch_any_document_is_204_or_a_fault_that_changes_nothing(
    fuzz: tuple[Api, str, str], document: Any
) -> None:
    api, _, config_id = fuzz
    before = api._call("get", ("configurations", config_id)).get_json()
    response = api._call(
        "patch",
        ("configurations", config_id),
        data=json.dumps(document),
        extra_headers={"Content-Type": "application/json-patch+json"},
    )
    assert response.status_code in (204, 400), response.get_data(as_text=True)
    after = api._call("get", ("configurations", config_id)).get_json()
    if response.status_code == 400:
        assert after == before
