"""Identity v2.0 `POST /v2.0/tokens`: credentials, who they name, the access document (no Flask).

What lives here is the whole of Identity's logic, so that a test can run it without a server:
reading the request (`schemas.identity.REQUEST`), checking the credentials against the users configured beside
the tokens, or open mode's rule (`authenticate`), and the answer with its service catalog
(`access_document`) or Identity's own error body (`fault_body`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from .auth import (
    TOKEN_LIFETIME,
    Grant,
    IssuedLookup,
    IssuedToken,
    TokenRegistry,
    may_be_issued,
)
from .config import DEFAULT_REGION, REGIONS
from .errors import Invalid, Unauthorized
from .model import format_time
from .schemas.identity import ACCESS, API_KEY_MEMBER, PASSWORD_MEMBER, CredentialKind, Credentials

# Identity's one route (its errors answer Identity's own body: api/errors.py).
TOKENS_PATH = "/v2.0/tokens"
# (ours) How open mode's "every right" shows in `user.roles`: the role that has them all.
OPEN_MODE_ROLES = ("cloudbackup:admin",)
# Cloud Files names an account after the project this way (the default object-store base).
OBJECT_STORE_ACCOUNT = "MossoCloudFS_"
# The members of a request body that hold secrets: the journal never shows their values.
SECRET_MEMBERS = frozenset({"password", "apiKey", "token"})  # token: its id is a token
_SHOWN = 64  # how much of a client's text an error message repeats


# Who the credentials name.


@dataclass(frozen=True, slots=True)
class Access:
    """Who authenticated: the user shown, and the project and roles its new token carries."""

    user_id: str
    username: str
    grant: Grant
    # A token the service issued, traded in (token credentials): the new one keeps its agent
    # and its expiry, as Keystone's does, so a deleted agent's tokens all go and none is
    # renewed forever by trading it in.
    traded: IssuedToken | None = None


def user_id(username: str) -> str:
    """(ours) A user's id: 32 hex digits fixed by the name, so it is the same on every call."""
    return hashlib.sha256(b"logfiles identity user:" + _utf8(username)).hexdigest()[:32]


def authenticate(
    credentials: Credentials,
    registry: TokenRegistry,
    issued: IssuedLookup | None = None,
    now: Callable[[], datetime] | None = None,
) -> Access:
    """Who `credentials` are: Unauthorized (401) when they name no one; Invalid (400) when open
    mode would make a token for a project no URL can name.

    Strict mode (a tokens file): the password or API key must be the user's, and a tenant given
    must be the user's project. A token (configured, or issued and unexpired) must belong to the
    tenant, and the new token gets its project and roles. Open mode: any credentials, for the
    tenant given or else the username, with every right; only a token this service issued is
    checked, as on every /v2 route.
    """
    if credentials.kind is CredentialKind.TOKEN:
        return _by_token(credentials, registry, issued, now)
    username = credentials.username or ""
    if registry.open:
        project = credentials.tenant if credentials.tenant is not None else username
        where = credentials.tenant_member if credentials.tenant is not None else _username_member(credentials)
        _check_usable_project(project, where)
        return Access(user_id(username), username, Grant(project, None))
    user = registry.users.get(username)
    expected = None
    if user is not None:
        expected = user.password if credentials.kind is CredentialKind.PASSWORD else user.api_key
    if user is None or expected is None or not _same(expected, credentials.secret):
        if credentials.kind is CredentialKind.PASSWORD:
            raise Unauthorized("Unable to authenticate user with credentials provided.")
        raise Unauthorized("Username or api key is invalid.")
    if credentials.tenant is not None and credentials.tenant != user.grant.project_id:
        raise Unauthorized(
            f"Tenant with Name/Id: '{credentials.tenant[:_SHOWN]}' is not valid for "
            f"User '{username[:_SHOWN]}' (id: '{user_id(username)}')."
        )
    return Access(user_id(username), username, user.grant)


def _by_token(
    credentials: Credentials,
    registry: TokenRegistry,
    issued: IssuedLookup | None,
    now: Callable[[], datetime] | None,
) -> Access:
    tenant = credentials.tenant or ""  # the schema makes a token come with its tenant
    grant = registry.identify(credentials.secret, issued, now, where="auth.token.id")
    if grant is None:  # open mode, a token the service did not issue: any token will do
        _check_usable_project(tenant, credentials.tenant_member)
        grant = Grant(tenant, None)
    elif grant.project_id != tenant:
        raise Unauthorized(f"Token doesn't belong to Tenant with Id/Name: '{tenant[:_SHOWN]}'.")
    # The user configured beside a token is the token's; else the project stands for it.
    user = next((u for u in registry.users.values() if u.token == credentials.secret), None)
    username = user.username if user is not None else grant.project_id
    traded = None
    if credentials.secret not in registry.grants and issued is not None and may_be_issued(credentials.secret):
        traded = issued(credentials.secret)
    return Access(user_id(username), username, grant, traded)


def _same(expected: str, given: str) -> bool:
    """Compare secrets in constant time (surrogatepass: a JSON string may hold a lone one)."""
    return hmac.compare_digest(_utf8(expected), _utf8(given))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _username_member(credentials: Credentials) -> str:
    member = PASSWORD_MEMBER if credentials.kind is CredentialKind.PASSWORD else API_KEY_MEMBER
    return f"auth.{member}.username"


def _check_usable_project(project: str, where: str) -> None:
    """Open mode's project must fit a `/v2/{project_id}` URL, or its token would work nowhere.

    Not a `/`, not a `.xml` suffix (SPEC: an unknown route) nor a `.json` one (the guide's
    JSON suffix, which routing takes off), and text a URL can carry.
    """
    try:
        project.encode("utf-8")
    except UnicodeEncodeError:
        problem = "holds a lone surrogate, which no URL can carry"
    else:
        if "/" in project:
            problem = "holds a '/', which no project id in a URL can"
        elif project.lower().endswith((".xml", ".json")):
            problem = f"ends in '{project[project.rindex('.') :]}', which no project id in a URL can"
        else:
            return
    raise Invalid(f"{where} cannot be a project id: it {problem}.", [f"{where}: {problem}"])


def issue(access: Access, token_id: str, now: datetime) -> IssuedToken:
    """The new token: the user's project and roles, for 24 h of service-clock time."""
    grant = access.grant
    if access.traded is not None:
        traded = access.traded
        return IssuedToken(token_id, grant.project_id, grant.roles, traded.expires, traded.agent_id)
    return IssuedToken(token_id, grant.project_id, grant.roles, now + TOKEN_LIFETIME, agent_id=None)


# The answer.


def object_store_url(base_url: str, project_id: str, configured: str | None = None) -> str:
    """Cloud Files' public URL for the project: LOGFILES_OBJECT_STORE_URL with `{project_id}`
    filled in, else this server's `/cloudfiles/v1/MossoCloudFS_<project>`."""
    segment = quote(project_id, safe="")
    if configured:
        return configured.rstrip("/").replace("{project_id}", segment)
    return f"{base_url}/cloudfiles/v1/{OBJECT_STORE_ACCOUNT}{segment}"


def catalog_regions(region: str) -> list[str]:
    """SPEC (ours): every region of the guide's service-access page, the service's own
    (LOGFILES_REGION) first, so that a client that takes the first endpoint gets it too."""
    return [region, *(other for other in REGIONS if other != region)]


def service_catalog(
    base_url: str, project_id: str, configured_object_store: str | None = None, region: str = DEFAULT_REGION
) -> list[Any]:
    """`cloudBackup` (this server's /v2) and `cloudFiles` (the object store), one endpoint in
    each of the guide's regions, all served by this server: a client that picks its endpoint
    by region finds one whichever region it was set up for."""
    backup = f"{base_url}/v2/{quote(project_id, safe='')}"
    files = object_store_url(base_url, project_id, configured_object_store)
    regions = catalog_regions(region)
    return [
        {
            "name": "cloudBackup",
            "type": "rax:backup",
            "endpoints": [{"region": name, "tenantId": project_id, "publicURL": backup} for name in regions],
        },
        {
            "name": "cloudFiles",
            "type": "object-store",
            "endpoints": [
                {
                    "region": name,
                    "tenantId": OBJECT_STORE_ACCOUNT + project_id,
                    "publicURL": files,
                    # Cloud Files' ServiceNet address; here the same server.
                    "internalURL": files,
                }
                for name in regions
            ],
        },
    ]


def access_document(
    access: Access,
    token: IssuedToken,
    base_url: str,
    configured_object_store: str | None = None,
    region: str = DEFAULT_REGION,
) -> dict[str, Any]:
    """The 200 body: `{"access": {"token", "user", "serviceCatalog"}}`.

    `base_url` is `<scheme>://<host>` as the client addressed this server; `region`
    (LOGFILES_REGION) is the user's default region and the catalog's first.
    """
    project = access.grant.project_id
    roles = OPEN_MODE_ROLES if access.grant.roles is None else access.grant.roles
    document = {
        "access": {
            "token": {
                "id": token.id,
                "expires": format_time(token.expires),
                "tenant": {"id": project, "name": project},
            },
            "user": {
                "id": access.user_id,
                "name": access.username,
                "roles": [{"name": role} for role in roles],
                "default_region": region,
            },
            "serviceCatalog": service_catalog(base_url, project, configured_object_store, region),
        }
    }
    shown: dict[str, Any] = ACCESS.dump(document)
    return shown


# Identity's own error body, `{"<name>": {"code": <status>, "message": "..."}}` (OpenStack's
# fault names), not the /v2 fault body.
FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    503: "serviceUnavailable",
}
MAX_DETAILS = 10


def fault_body(status: int, message: str, details: list[str] | None = None) -> dict[str, Any]:
    """Identity's error body; `details` (the `where: problem` entries) join the one message."""
    extra = [d for d in details or [] if d != message]
    if extra:
        shown = extra[:MAX_DETAILS]
        if len(extra) > MAX_DETAILS:
            shown.append(f"and {len(extra) - MAX_DETAILS} more")
        message = f"{message} ({'; '.join(shown)})"
    return {FAULT_NAMES.get(status, "identityFault"): {"code": status, "message": message}}
