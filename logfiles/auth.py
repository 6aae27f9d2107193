"""Tokens, projects and roles: who may do what (no Flask here)."""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import strictjson
from .errors import ConfigError, Forbidden, Unauthorized
from .model import format_time


class Action(enum.StrEnum):
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"


_ALL = frozenset(Action)
# SPEC (ours, from the guide's RBAC page): a token's rights are the union of its roles'.
ROLE_RIGHTS: Mapping[str, frozenset[Action]] = {
    "cloudbackup:admin": _ALL,
    "admin": _ALL,
    "cloudbackup:creator": frozenset({Action.CREATE, Action.READ, Action.UPDATE}),
    "cloudbackup:observer": frozenset({Action.READ}),
    "observer": frozenset({Action.READ}),
}


@dataclass(frozen=True, slots=True)
class Grant:
    """What one token is: a project and a set of roles (None: every right, open mode's)."""

    project_id: str
    roles: tuple[str, ...] | None

    @property
    def rights(self) -> frozenset[Action]:
        if self.roles is None:
            return _ALL
        rights: frozenset[Action] = frozenset()
        for role in self.roles:
            rights |= ROLE_RIGHTS.get(role, frozenset())
        return rights


# SPEC (ours): a token the service issues (an agent's) lives this long by the service clock.
TOKEN_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token the service issued and keeps in the store: an agent's (or, later, a user's)."""

    id: str
    project_id: str
    roles: tuple[str, ...] | None
    expires: datetime
    agent_id: str | None = None

    @property
    def grant(self) -> Grant:
        return Grant(self.project_id, self.roles)


_CHECK_DIGITS = 12  # the UUID's last group


def _check(head: str) -> str:
    # surrogatepass: a token read from a JSON body (Identity's) may hold a lone surrogate.
    data = head.encode("utf-8", "surrogatepass")
    return hashlib.sha256(b"logfiles issued token:" + data).hexdigest()[:_CHECK_DIGITS]


def new_token_id() -> str:
    """A UUID4 string (SPEC) whose last 12 hex digits are a checksum of the rest.

    So a token the service issued is known as such without the store: one the store no longer
    holds (expired and dropped, its agent deleted, a reset) is refused in open mode too,
    instead of passing as "any token". Not a secret: a test double needs no unforgeable
    tokens, only ones it recognises.
    """
    head = str(uuid.uuid4())[:-_CHECK_DIGITS]
    return head + _check(head)


def may_be_issued(token: str) -> bool:
    """Whether `token` is one `new_token_id` made: only those are looked up in the store."""
    return len(token) == 36 and token[-_CHECK_DIGITS:] == _check(token[:-_CHECK_DIGITS])


# Finds an issued token in the store (None when there is none), and reads the service clock.
IssuedLookup = Callable[[str], IssuedToken | None]


@dataclass(frozen=True, slots=True)
class User:
    """Identity's user, configured beside a token: its credentials and the grant it gets.

    `token` is the configured token the user was written beside; `password` and `api_key`
    are compared as given (a test double keeps no secret worth hashing).
    """

    username: str
    token: str
    grant: Grant
    password: str | None = None
    api_key: str | None = None


class TokenRegistry:
    """Open mode when empty (any non-empty token may do anything), else strict."""

    def __init__(
        self, grants: Mapping[str, Grant] | None = None, users: Mapping[str, User] | None = None
    ) -> None:
        self.grants: dict[str, Grant] = dict(grants or {})
        self.users: dict[str, User] = dict(users or {})

    @property
    def open(self) -> bool:
        return not self.grants

    def derived_key(self) -> str:
        """A temp URL key made from the configured tokens: the same in every worker and at
        every start with the same file, and unknown to whoever does not hold the tokens (the
        built-in default key is in the source, so with a tokens file it would let anyone
        sign a temp URL)."""
        material = "\n".join(sorted(self.grants)).encode("utf-8", "surrogatepass")
        return hashlib.sha256(b"logfiles temp url key:" + material).hexdigest()

    def identify(
        self,
        token: str,
        issued: IssuedLookup | None = None,
        now: Callable[[], datetime] | None = None,
        where: str = "X-Auth-Token",
    ) -> Grant | None:
        """The grant of a non-empty `token`, or None for open mode's "any other token".

        A configured token wins; then a token the service issued (in both modes: an issued
        token is bound to its project and expires, open mode or not); then open mode takes
        any other token. Raises Unauthorized for an issued token that is gone or expired,
        and for an unknown token in strict mode; `where` names where the token came from.
        """
        grant = self.grants.get(token)
        if grant is None and issued is not None and may_be_issued(token):
            found = issued(token)
            if found is None:
                raise Unauthorized(
                    f"The {where} is no longer valid.",
                    [f"{where}: an issued token that expired, or whose agent was deleted"],
                )
            if now is not None and now() >= found.expires:
                raise Unauthorized(
                    f"The {where} has expired.",
                    [f"{where}: expired at {format_time(found.expires)}"],
                )
            grant = found.grant
        if grant is None and not self.open:
            raise Unauthorized(f"The {where} is not valid.", [f"{where}: unknown token"])
        return grant

    def authorize(
        self,
        token: str | None,
        project_id: str,
        action: Action,
        issued: IssuedLookup | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> Grant | None:
        """Raise Unauthorized (401) or Forbidden (403); else the token's grant (None: open mode's
        any token, with every right on every project). Who the token is: see `identify`."""
        if not token:
            raise Unauthorized(
                "This request needs an X-Auth-Token header.",
                ["X-Auth-Token: missing or empty"],
            )
        grant = self.identify(token, issued, now)
        if grant is None:
            return None
        if grant.project_id != project_id:
            raise Forbidden(
                "This token may not act on this project.",
                [f"project_id: the token belongs to another project, not '{project_id}'"],
            )
        if action not in grant.rights:
            roles = ", ".join(grant.roles or ()) or "no roles"
            raise Forbidden(
                f"This token's roles do not allow the '{action}' action.",
                [f"X-Auth-Token: roles ({roles}) do not grant '{action}'"],
            )
        return grant


VARIABLE = "LOGFILES_TOKENS_FILE"


# SPEC (ours): Identity's usernames, passwords and API keys are 1 to 1,024 characters (the
# bounds of the request that presents them: a longer one could never be matched).
MAX_CREDENTIAL_LENGTH = 1024
_SHOWN = 64  # how much of a username a one-line error repeats


def parse_tokens(document: object) -> TokenRegistry:
    """Build a registry from the tokens file's JSON; raise ConfigError naming what is wrong.

    An entry is `{"project_id", "roles"}`, optionally with Identity's user beside it:
    `"username"` (unique in the file) and its `"password"` and/or `"api_key"`.
    """
    if not isinstance(document, dict):
        raise ConfigError(VARIABLE, "must hold a JSON object mapping tokens to grants")
    grants: dict[str, Grant] = {}
    users: dict[str, User] = {}
    for token, grant in document.items():
        if not token:
            raise ConfigError(VARIABLE, "a token may not be empty")
        if token != token.strip():
            # A header's surrounding spaces are stripped on the way in: it could never match.
            raise ConfigError(VARIABLE, f"token {token!r}: must not start or end with spaces")
        if not token.isascii() or not token.isprintable():
            raise ConfigError(VARIABLE, f"token {token!r}: must be printable ASCII")
        if not isinstance(grant, dict):
            raise ConfigError(VARIABLE, f"token {token!r}: must map to an object")
        project_id = grant.get("project_id")
        roles = grant.get("roles", [])
        if not isinstance(project_id, str) or not project_id or "/" in project_id:
            raise ConfigError(VARIABLE, f"token {token!r}: project_id must be a non-empty string")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ConfigError(VARIABLE, f"token {token!r}: roles must be a list of strings")
        grants[token] = Grant(project_id, tuple(roles))
        user = _parse_user(token, grant, grants[token])
        if user is not None:
            taken = users.get(user.username)
            if taken is not None:
                raise ConfigError(
                    VARIABLE,
                    f"token {token!r}: username {user.username[:_SHOWN]!r} is already the user "
                    f"of token {taken.token!r} (usernames are unique)",
                )
            users[user.username] = user
    return TokenRegistry(grants, users)


def _parse_user(token: str, entry: dict[str, object], grant: Grant) -> User | None:
    """The Identity user configured beside `token`, if any (older files have none)."""
    username = entry.get("username")
    password = _credential(token, entry, "password")
    api_key = _credential(token, entry, "api_key")
    if username is None:
        if password is not None or api_key is not None:
            raise ConfigError(VARIABLE, f"token {token!r}: a password or api_key needs a username")
        return None
    if not isinstance(username, str) or not 1 <= len(username) <= MAX_CREDENTIAL_LENGTH:
        bound = f"1 to {MAX_CREDENTIAL_LENGTH:,} characters"
        raise ConfigError(VARIABLE, f"token {token!r}: username must be a string of {bound}")
    if password is None and api_key is None:
        raise ConfigError(
            VARIABLE, f"token {token!r}: username {username[:_SHOWN]!r} needs a password or an api_key"
        )
    return User(username, token, grant, password, api_key)


def _credential(token: str, entry: dict[str, object], name: str) -> str | None:
    """A password or API key: absent, or 1 to 1,024 characters (never repeated in errors)."""
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_CREDENTIAL_LENGTH:
        bound = f"1 to {MAX_CREDENTIAL_LENGTH:,} characters"
        raise ConfigError(VARIABLE, f"token {token!r}: {name} must be a string of {bound}")
    return value


def load_tokens(path: str | None) -> TokenRegistry:
    """Read the tokens file; no path means open mode."""
    if not path:
        return TokenRegistry()
    try:
        with open(path, "rb") as handle:
            document = strictjson.loads(handle.read())
    except OSError as exc:
        raise ConfigError(VARIABLE, f"cannot read {path}: {exc.strerror or exc}") from None
    except RecursionError:
        raise ConfigError(VARIABLE, f"{path} is nested too deep to be a tokens file") from None
    except ValueError as exc:
        raise ConfigError(VARIABLE, f"{path} is not valid JSON: {exc}") from None
    return parse_tokens(document)
