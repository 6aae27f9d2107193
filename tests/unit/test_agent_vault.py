"""The agent's vault and its PATCH in the model (pure): SPEC "The whole service" (every agent has
a vault from its registration), the register page's defaults, the update page's paths."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from logfiles.config import REGIONS
from logfiles.model import (
    DEFAULT_LOG_LEVEL,
    LOG_LEVELS,
    Agent,
    Vault,
    agent_patch_value_problem,
    agent_vault,
    default_use_internal,
    derived_vault_id,
    new_vault,
    patched_agent,
    with_vault,
)

T0 = datetime(2014, 10, 27, 18, 22, 0, 238640, tzinfo=UTC)
VAULT_ID = "7cd999c3-a0c3-4985-99d4-42b544685456"


def agent(vault: Any = ..., flavor: Any = "nova", **changes: Any) -> Agent:
    registration: dict[str, Any] = {"name": "Web Server", "host": {"flavor": flavor, "machine": {"id": "m"}}}
    if vault is not ...:
        registration["vault"] = vault
    return Agent(id="agent-1", project_id="p", registered_time=T0, registration=registration, **changes)


def test_new_vault_is_as_the_pages_show_a_new_one() -> None:
    vault = new_vault(VAULT_ID, "DFW", False)
    assert vault.as_dict() == {
        "id": VAULT_ID,
        "name": f"phoenix_{VAULT_ID}",
        "state": "created",
        "flavor": "swift",
        "encrypted": False,
        "region": "DFW",
        "use_internal": False,
    }


@pytest.mark.parametrize(
    ("flavor", "expected"),
    [
        ("nova", True),
        ("rackspace_dedicated", False),
        ("rackspace_private_cloud", True),
        ("Nova", False),
        ("other", False),
        (None, False),
        (7, False),
    ],
)
def test_default_use_internal_is_the_register_pages_by_flavor(flavor: Any, expected: bool) -> None:
    assert default_use_internal(flavor) is expected


def test_default_log_level_is_the_register_pages() -> None:
    assert DEFAULT_LOG_LEVEL == "warn" and DEFAULT_LOG_LEVEL in LOG_LEVELS
    assert agent().log_level == DEFAULT_LOG_LEVEL


def test_agent_vault_is_the_kept_one() -> None:
    kept = new_vault(VAULT_ID, "LON", False)
    assert agent_vault(agent(kept.as_dict()), "DFW") == kept


def test_agent_vault_without_one_is_derived_from_the_agent() -> None:
    vault = agent_vault(agent(), "ORD")
    assert vault.id == derived_vault_id("agent-1")
    assert vault.name == f"phoenix_{vault.id}"
    assert (vault.region, vault.use_internal, vault.state, vault.flavor, vault.encrypted) == (
        "ORD",
        True,  # nova's default
        "created",
        "swift",
        False,
    )
    assert agent_vault(agent(), "ORD") == vault  # the same on every read


def test_agent_vault_fills_in_each_missing_member() -> None:
    vault = agent_vault(agent({"use_internal": False}), "SYD")
    assert (vault.id, vault.region, vault.use_internal) == (derived_vault_id("agent-1"), "SYD", False)
    vault = agent_vault(agent({"id": VAULT_ID}, flavor="rackspace_dedicated"), "DFW")
    assert (vault.id, vault.name, vault.use_internal) == (VAULT_ID, f"phoenix_{VAULT_ID}", False)


@pytest.mark.parametrize(
    "kept",
    [None, [], "vault", {"id": 7, "region": None, "use_internal": "yes", "encrypted": 1, "name": ""}],
    ids=["null", "list", "text", "mistyped"],
)
def test_agent_vault_ignores_what_is_not_a_vault_member(kept: Any) -> None:
    assert agent_vault(agent(kept), "DFW") == agent_vault(agent(), "DFW")


def test_derived_vault_id_is_a_uuid4_per_agent() -> None:
    first, second = derived_vault_id("agent-1"), derived_vault_id("agent-2")
    assert first != second
    assert uuid.UUID(first).version == 4 and str(uuid.UUID(first)) == first
    assert derived_vault_id("agent-1") == first
    assert uuid.UUID(derived_vault_id("\udcff odd")).version == 4  # any id, even not UTF-8


def test_with_vault_keeps_it_whole_beside_the_rest_of_the_registration() -> None:
    before = agent({"use_internal": True})
    vault = new_vault(VAULT_ID, "HKG", True)
    after = with_vault(before, vault)
    assert after.registration["vault"] == vault.as_dict()
    assert after.registration["host"] == before.registration["host"]
    assert agent_vault(after, "DFW") == vault


# PATCH: applying checked (target, value) pairs.


def test_patched_agent_applies_each_target() -> None:
    before = agent(new_vault(VAULT_ID, "DFW", False).as_dict())
    after = patched_agent(
        before,
        [("enabled", False), ("log_level", "debug"), ("vault.region", "LON"), ("vault.use_internal", True)],
        "DFW",
    )
    assert (after.enabled, after.log_level) == (False, "debug")
    assert agent_vault(after, "DFW") == new_vault(VAULT_ID, "LON", True)


def test_patched_agent_last_value_wins() -> None:
    after = patched_agent(agent(), [("log_level", "info"), ("log_level", "fatal")], "DFW")
    assert after.log_level == "fatal"


@pytest.mark.parametrize(
    "changes",
    [
        [("enabled", True)],
        [("log_level", "warn")],
        [("vault.region", "DFW")],
        [("vault.use_internal", True)],
        [("enabled", False), ("enabled", True), ("vault.region", "LON"), ("vault.region", "DFW")],
    ],
    ids=range(5),
)
def test_patched_agent_same_values_give_the_agent_itself(changes: list[tuple[str, Any]]) -> None:
    # A same-value change writes nothing: the store writes only a new agent. Also for a vault
    # the registration does not keep (derived), which such a change does not make kept.
    for before in (agent(), agent(new_vault(VAULT_ID, "DFW", True).as_dict())):
        assert patched_agent(before, changes, "DFW") is before


def test_patched_agent_not_touching_the_vault_keeps_the_registration_as_it_was() -> None:
    before = agent()
    after = patched_agent(before, [("enabled", False)], "DFW")
    assert after.registration is before.registration


def test_patched_agent_changing_a_derived_vault_keeps_it_whole() -> None:
    after = patched_agent(agent(), [("vault.use_internal", False)], "IAD")
    assert after.registration["vault"] == {
        **new_vault(derived_vault_id("agent-1"), "IAD", False).as_dict(),
    }
    assert agent_vault(after, "DFW").region == "IAD"  # kept: no longer the service's


def test_patched_agent_unknown_target_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match=r"vault\.id"):
        patched_agent(agent(), [("vault.id", "x")], "DFW")


# The value each path takes.


@pytest.mark.parametrize("path", ["/enabled", "/vault/use_internal"])
def test_boolean_paths_take_only_booleans(path: str) -> None:
    assert agent_patch_value_problem(path, True) is None
    assert agent_patch_value_problem(path, False) is None
    bad: tuple[Any, ...] = (1, 0, "true", None, [], {})
    for value in bad:
        assert agent_patch_value_problem(path, value) == "must be true or false"


@pytest.mark.parametrize("path", ["/log_level", "/log-level"])
def test_log_level_paths_take_the_pages_levels(path: str) -> None:
    for level in LOG_LEVELS:
        assert agent_patch_value_problem(path, level) is None
    for value in ("WARN", "warning", "", True, None, ["warn"]):
        assert agent_patch_value_problem(path, value) is not None


def test_region_path_takes_the_regions() -> None:
    for region in REGIONS:
        assert agent_patch_value_problem("/vault/region", region) is None
    for value in ("dfw", "XYZ", "", None, True):
        problem = agent_patch_value_problem("/vault/region", value)
        assert problem is not None and "DFW" in problem


@pytest.mark.parametrize("path", ["/name", "/vault", None, 7, ["/enabled"]])
def test_other_paths_take_any_value_one_of_the_paths_would(path: Any) -> None:
    good: tuple[Any, ...] = (True, "info", "LON")
    for value in good:
        assert agent_patch_value_problem(path, value) is None
    bad: tuple[Any, ...] = ("x", 1, None, {})
    for value in bad:
        assert agent_patch_value_problem(path, value) is not None


def test_vault_is_frozen() -> None:
    vault = new_vault(VAULT_ID, "DFW", True)
    with pytest.raises(AttributeError):
        vault.region = "LON"  # type: ignore[misc]
    assert isinstance(vault, Vault)
