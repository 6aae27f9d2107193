"""The registration schema: strict on the guide's fields and types, lenient on unknown members."""

from __future__ import annotations

from typing import Any

import pytest

from logfiles.schemas import REGISTRATION, ValidationError, flatten_messages
from tests.conftest import registration


def problems(body: Any) -> list[str]:
    with pytest.raises(ValidationError) as info:
        REGISTRATION.load(body)
    return flatten_messages(info.value.messages)


def test_registration_accepts_the_guides_example() -> None:
    loaded = REGISTRATION.load(registration())
    assert loaded["host"]["addresses"][1] == {"version": 6, "addr": "::babe:4317:0A83"}
    assert loaded["rsa_public_key"]["exponent"] == 10001


def test_registration_drops_unknown_members_and_leaves_an_absent_vault_absent() -> None:
    # The default `use_internal` depends on the host's flavor: the view fills it in.
    body = registration(extra=1)
    del body["vault"]
    loaded = REGISTRATION.load(body)
    assert "extra" not in loaded
    assert "vault" not in loaded


def test_registration_allows_null_region_and_string_exponent() -> None:
    body = registration()
    body["host"]["region"] = None
    body["rsa_public_key"]["exponent"] = "10001"
    loaded = REGISTRATION.load(body)
    assert loaded["host"]["region"] is None and loaded["rsa_public_key"]["exponent"] == "10001"


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("name",), 5),
        (("version",), None),
        (("host", "flavor"), ["nova"]),
        (("host", "os", "name"), 14),
        (("host", "machine", "id"), {}),
        (("host", "addresses", 0, "version"), 5),
        (("host", "addresses", 0, "version"), "4"),
        (("host", "addresses", 0, "version"), 4.0),
        (("host", "addresses", 0, "version"), True),
        (("rsa_public_key", "exponent"), 1.5),
        (("rsa_public_key", "exponent"), False),
        (("vault", "use_internal"), 1),
        (("vault", "use_internal"), "true"),
    ],
)
def test_registration_mistyped_field_is_named(where: tuple[Any, ...], value: Any) -> None:
    body = registration()
    target = body
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    dotted = ".".join(str(k) for k in where)
    assert [p.split(":")[0] for p in problems(body)] == [dotted]


def test_registration_lists_every_missing_field() -> None:
    found = problems({"host": {"os": {}, "machine": {}, "addresses": [{}]}})
    assert {p.split(":")[0] for p in found} == {
        "name",
        "version",
        "host.flavor",
        "host.region",
        "host.machine.id",
        "host.os.name",
        "host.os.version",
        "host.os.architecture",
        "host.fingerprint",
        "host.addresses.0.version",
        "host.addresses.0.addr",
        "rsa_public_key",
    }


@pytest.mark.parametrize("body", [[], "x", 1, None])
def test_registration_not_an_object_is_one_body_problem(body: Any) -> None:
    assert problems(body) == ["body: must be a JSON object"]
