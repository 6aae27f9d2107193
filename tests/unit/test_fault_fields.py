"""FaultRule to plain fields and back: the one conversion stores and the control plane share."""

from __future__ import annotations

import json
from typing import Any

import pytest

from logfiles.faults import ACTIONS, FaultAction, FaultRule
from logfiles.schemas import FAULT_RULE

RULES = [
    FaultRule(id="f1", action=FaultAction.STATUS),
    FaultRule(
        id="f2",
        action=FaultAction.STATUS,
        method="PATCH",
        path="/v2/*/logfiles/*",
        header="X-Auth-Token",
        header_value="bad*",
        status=500,
        message="Nope.",
        errors=("a: b", "c: d"),
        headers={"Retry-After": "2"},
        times=None,
        every=3,
        probability=0.25,
        seed=7,
        matched=4,
        fired=1,
    ),
    FaultRule(id="f3", action=FaultAction.LATENCY, latency=0.5),
    FaultRule(
        id="f4", action=FaultAction.BODY, status=200, body="<html>", headers={"Content-Type": "text/html"}
    ),
    FaultRule(id="f5", action=FaultAction.BODY, status=502, body_base64="/wA="),
    FaultRule(id="f6", action=FaultAction.GARBAGE, status=None, size=10, seed=3, matched=2, fired=2),
    FaultRule(id="f7", action=FaultAction.TRICKLE, status=None, rate=1024, times=None),
    FaultRule(id="f8", action=FaultAction.TRUNCATE, status=None, every=2),
    FaultRule(id="f9", action=FaultAction.RESET, status=None),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_as_fields_then_from_fields_through_json_is_the_same_rule(rule: FaultRule) -> None:
    assert FaultRule.from_fields(json.loads(json.dumps(rule.as_fields()))) == rule


def test_as_fields_is_plain_json_values() -> None:
    fields = RULES[1].as_fields()
    assert type(fields["action"]) is str
    assert fields["errors"] == ["a: b", "c: d"]
    assert fields["headers"] == {"Retry-After": "2"}


def test_loaded_request_is_a_rule_with_the_defaults_for_counters() -> None:
    rule = FAULT_RULE.load({"action": "drop", "errors": ["x: y"], "headers": {"A": "b"}})
    assert rule.action is FaultAction.DROP
    assert rule.status is None and rule.latency is None
    assert rule.errors == ("x: y",)
    assert (rule.matched, rule.fired) == (0, 0)


def test_from_fields_with_only_id_and_action_is_the_dataclass_defaults() -> None:
    assert FaultRule.from_fields({"id": "f1", "action": "status"}) == FaultRule(
        id="f1", action=FaultAction.STATUS
    )


def test_rule_stored_before_the_broken_answers_loads_with_their_fields_null() -> None:
    """A store's JSON document from before `body`, `size` and `rate` existed."""
    stored: dict[str, Any] = {
        "id": "old",
        "action": "status",
        "method": None,
        "path": "/v2/*",
        "header": None,
        "header_value": None,
        "status": 503,
        "message": None,
        "errors": [],
        "headers": {"Retry-After": "2"},
        "latency": None,
        "times": 1,
        "every": 1,
        "probability": 1.0,
        "seed": 0,
        "matched": 3,
        "fired": 1,
    }
    rule = FaultRule.from_fields(stored)
    assert (rule.body, rule.body_base64, rule.size, rule.rate) == (None, None, None, None)
    assert rule.as_fields() == {**stored, "body": None, "body_base64": None, "size": None, "rate": None}


@pytest.mark.parametrize(
    ("action", "field", "default"),
    [
        ("body", "status", 200),
        ("status", "status", 503),
        ("garbage", "size", 1024),
        ("trickle", "rate", 1024),
    ],
)
def test_loaded_rule_takes_its_actions_default(action: str, field: str, default: int) -> None:
    assert getattr(FAULT_RULE.load({"action": action}), field) == default


@pytest.mark.parametrize("action", ["truncate", "reset", "drop", "latency", "trickle", "garbage"])
def test_loaded_rule_of_another_kind_has_no_status(action: str) -> None:
    assert FAULT_RULE.load({"action": action}).status is None


@pytest.mark.parametrize(("action", "spec"), list(ACTIONS.items()))
def test_rule_made_directly_takes_the_same_defaults_as_a_loaded_one(action: FaultAction, spec: Any) -> None:
    made = FaultRule(id="", action=action)
    loaded = FAULT_RULE.load({"action": action.value})
    assert made == loaded
    assert all(made.setting(name) == default for name, default in spec.defaults.items())
