"""Tokens, projects and roles (SPEC: token registry and RBAC)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logfiles.auth import Action, Grant, TokenRegistry, load_tokens
from logfiles.errors import ConfigError, Forbidden, Unauthorized

RIGHTS = {
    "cloudbackup:admin": set(Action),
    "admin": set(Action),
    "cloudbackup:creator": {Action.CREATE, Action.READ, Action.UPDATE},
    "cloudbackup:observer": {Action.READ},
    "observer": {Action.READ},
    "identity:user-admin": set(),
}


@pytest.mark.parametrize("role", sorted(RIGHTS))
@pytest.mark.parametrize("action", list(Action))
def test_authorize_role_grants_exactly_its_rights(role: str, action: Action) -> None:
    registry = TokenRegistry({"t": Grant("p", (role,))})
    if action in RIGHTS[role]:
        registry.authorize("t", "p", action)
    else:
        with pytest.raises(Forbidden):
            registry.authorize("t", "p", action)


def test_authorize_rights_are_the_union_of_roles() -> None:
    registry = TokenRegistry({"t": Grant("p", ("observer", "cloudbackup:creator"))})
    for action in (Action.CREATE, Action.READ, Action.UPDATE):
        registry.authorize("t", "p", action)
    with pytest.raises(Forbidden):
        registry.authorize("t", "p", Action.DELETE)


def test_authorize_token_without_roles_may_do_nothing() -> None:
    registry = TokenRegistry({"t": Grant("p", ())})
    with pytest.raises(Forbidden):
        registry.authorize("t", "p", Action.READ)


@pytest.mark.parametrize("token", [None, ""])
def test_authorize_missing_token_is_unauthorized_even_in_open_mode(token: str | None) -> None:
    with pytest.raises(Unauthorized):
        TokenRegistry().authorize(token, "p", Action.READ)


def test_authorize_open_mode_accepts_any_token_on_any_project() -> None:
    for action in Action:
        TokenRegistry().authorize("anything", "any-project", action)


def test_authorize_unknown_token_is_unauthorized_and_other_project_forbidden() -> None:
    registry = TokenRegistry({"t": Grant("p", ("admin",))})
    with pytest.raises(Unauthorized):
        registry.authorize("other", "p", Action.READ)
    with pytest.raises(Forbidden):
        registry.authorize("t", "q", Action.READ)


def test_load_tokens_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"t": {"project_id": "p", "roles": ["observer"]}}))
    registry = load_tokens(str(path))
    assert registry.grants == {"t": Grant("p", ("observer",))}
    assert load_tokens(None).open


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"t": "p"}',
        '{"t": {"roles": []}}',
        '{"t": {"project_id": "", "roles": []}}',
        '{"t": {"project_id": "p", "roles": "admin"}}',
        '{"t": {"project_id": "p", "roles": [1]}}',
        '{"": {"project_id": "p", "roles": []}}',
    ],
)
def test_load_tokens_malformed_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_tokens(str(path))
    assert info.value.variable == "LOGFILES_TOKENS_FILE"


def test_load_tokens_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_tokens(str(tmp_path / "missing.json"))


@pytest.mark.parametrize(
    "content",
    [
        '{"t": {"project_id": "p", "roles": []}, "t": {"project_id": "q", "roles": ["admin"]}}',
        '{"t": {"project_id": "p", "project_id": "q"}}',
        '{" t": {"project_id": "p", "roles": []}}',
        '{"t ": {"project_id": "p", "roles": []}}',
        '{"t\\u00e9": {"project_id": "p", "roles": []}}',
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
    ],
    ids=[
        "duplicate-token",
        "duplicate-member",
        "leading-space",
        "trailing-space",
        "non-ascii",
        "deep-list",
        "deep-object",
    ],
)
def test_load_tokens_file_that_cannot_serve_is_a_one_line_config_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_tokens(str(path))
    assert info.value.variable == "LOGFILES_TOKENS_FILE"
    assert "\n" not in str(info.value) and len(str(info.value)) < 500
