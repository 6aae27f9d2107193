"""FaultRule to plain fields and back: the one conversion stores and the control plane share."""

from __future__ import annotations

import json

import pytest

from logfiles.faults import FaultAction, FaultRule
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
