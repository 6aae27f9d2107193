"""Identity v2.0, pure: the request, who credentials name, the access document, the tokens file (SPEC)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError

from logfiles import identity
from logfiles.auth import (
    TOKEN_LIFETIME,
    Grant,
    IssuedToken,
    TokenRegistry,
    User,
    load_tokens,
    new_token_id,
    parse_tokens,
)
from logfiles.config import REGIONS
from logfiles.errors import ConfigError, Invalid, Unauthorized
from logfiles.journal import MASK, NOT_RECORDED, mask_members
from logfiles.schemas import flatten_messages
from logfiles.schemas.identity import REQUEST, CredentialKind, Credentials

NOW = datetime(2030, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
BASE = "http://127.0.0.1:8080"
LONG = "x" * 1024
TOO_LONG = "x" * 1025

TOKENS: dict[str, Any] = {
    "tok-alice": {
        "project_id": "110011",
        "roles": ["cloudbackup:admin"],
        "username": "alice",
        "password": "alice-pw",
    },
    "tok-olga": {"project_id": "110011", "roles": ["observer"], "username": "olga", "api_key": "olga-key"},
    "tok-bob": {
        "project_id": "220022",
        "roles": ["admin"],
        "username": "bob",
        "password": "bob-pw",
        "api_key": "bob-key",
    },
    "tok-plain": {"project_id": "330033", "roles": ["cloudbackup:creator"]},
}


@pytest.fixture
def registry() -> TokenRegistry:
    return parse_tokens(TOKENS)


def no_issued(token_id: str) -> IssuedToken | None:
    return None


def at_now() -> datetime:
    return NOW


def password(
    username: str, secret: str, tenant: str | None = None, member: str = "auth.tenantId"
) -> Credentials:
    return Credentials(CredentialKind.PASSWORD, secret, username, tenant, member)


def api_key(username: str, secret: str, tenant: str | None = None) -> Credentials:
    return Credentials(CredentialKind.API_KEY, secret, username, tenant)


def by_token(token: str, tenant: str) -> Credentials:
    return Credentials(CredentialKind.TOKEN, token, None, tenant)


def load(document: Any) -> Credentials:
    loaded: Credentials = REQUEST.load(document)
    return loaded


def problems(document: Any) -> list[str]:
    with pytest.raises(ValidationError) as info:
        REQUEST.load(document)
    return flatten_messages(info.value.messages)


# The tokens file: users beside the tokens.


def test_parse_tokens_old_file_is_unchanged_and_has_no_users() -> None:
    old = {"t": {"project_id": "p", "roles": ["observer"]}, "u": {"project_id": "q"}}
    registry = parse_tokens(old)
    assert registry.grants == {"t": Grant("p", ("observer",)), "u": Grant("q", ())}
    assert registry.users == {}


def test_parse_tokens_users_beside_tokens(registry: TokenRegistry) -> None:
    assert registry.users == {
        "alice": User("alice", "tok-alice", Grant("110011", ("cloudbackup:admin",)), "alice-pw", None),
        "olga": User("olga", "tok-olga", Grant("110011", ("observer",)), None, "olga-key"),
        "bob": User("bob", "tok-bob", Grant("220022", ("admin",)), "bob-pw", "bob-key"),
    }
    # The tokens themselves work as before.
    assert registry.grants["tok-alice"] == Grant("110011", ("cloudbackup:admin",))
    assert registry.grants["tok-plain"] == Grant("330033", ("cloudbackup:creator",))


def test_parse_tokens_null_username_is_no_user() -> None:
    assert parse_tokens({"t": {"project_id": "p", "username": None}}).users == {}


def test_parse_tokens_credentials_of_1024_characters_are_accepted() -> None:
    registry = parse_tokens({"t": {"project_id": "p", "username": LONG, "password": LONG, "api_key": LONG}})
    assert registry.users[LONG].password == LONG


BAD_USERS = {
    "username-not-string": ({"username": 7, "password": "pw"}, "username must be a string of 1 to 1,024"),
    "username-empty": ({"username": "", "password": "pw"}, "username must be a string of 1 to 1,024"),
    "username-too-long": (
        {"username": TOO_LONG, "password": "pw"},
        "username must be a string of 1 to 1,024",
    ),
    "password-not-string": ({"username": "u", "password": ["pw"]}, "password must be a string of 1 to 1,024"),
    "password-empty": ({"username": "u", "password": ""}, "password must be a string of 1 to 1,024"),
    "password-too-long": ({"username": "u", "password": TOO_LONG}, "password must be a string of 1 to 1,024"),
    "api-key-not-string": ({"username": "u", "api_key": 1}, "api_key must be a string of 1 to 1,024"),
    "api-key-empty": ({"username": "u", "api_key": ""}, "api_key must be a string of 1 to 1,024"),
    "api-key-too-long": ({"username": "u", "api_key": TOO_LONG}, "api_key must be a string of 1 to 1,024"),
    "username-without-secret": ({"username": "u"}, "username 'u' needs a password or an api_key"),
    "password-without-username": ({"password": "pw"}, "a password or api_key needs a username"),
    "api-key-without-username": ({"api_key": "k"}, "a password or api_key needs a username"),
}


@pytest.mark.parametrize(("extra", "reason"), BAD_USERS.values(), ids=BAD_USERS.keys())
def test_parse_tokens_bad_user_is_a_one_line_config_error(extra: dict[str, Any], reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_tokens({"t": {"project_id": "p", "roles": [], **extra}})
    assert info.value.variable == "LOGFILES_TOKENS_FILE"
    assert reason in info.value.reason
    assert "token 't'" in info.value.reason
    assert "\n" not in str(info.value) and len(str(info.value)) < 500


def test_parse_tokens_duplicate_username_names_both_tokens() -> None:
    document = {
        "t1": {"project_id": "p", "username": "same", "password": "a"},
        "t2": {"project_id": "q", "username": "same", "api_key": "b"},
    }
    with pytest.raises(ConfigError, match=r"token 't2': username 'same' is already the user of token 't1'"):
        parse_tokens(document)


def test_parse_tokens_error_never_shows_a_password() -> None:
    with pytest.raises(ConfigError) as info:
        parse_tokens({"t": {"project_id": "p", "username": 7, "password": "hunter2-secret"}})
    assert "hunter2-secret" not in str(info.value)


def test_parse_tokens_long_username_is_clipped_in_the_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_tokens({"t": {"project_id": "p", "username": LONG}})
    assert len(str(info.value)) < 500


def test_load_tokens_file_with_users(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(TOKENS))
    assert set(load_tokens(str(path)).users) == {"alice", "olga", "bob"}


# The request.


def test_request_password_credentials() -> None:
    body = {"auth": {"passwordCredentials": {"username": "alice", "password": "pw"}}}
    assert load(body) == Credentials(CredentialKind.PASSWORD, "pw", "alice", None)


def test_request_api_key_credentials_with_tenant_id() -> None:
    body = {
        "auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "olga", "apiKey": "k"}, "tenantId": "110011"}
    }
    assert load(body) == Credentials(CredentialKind.API_KEY, "k", "olga", "110011", "auth.tenantId")


def test_request_token_with_tenant_name() -> None:
    body = {"auth": {"token": {"id": "t"}, "tenantName": "110011"}}
    assert load(body) == Credentials(CredentialKind.TOKEN, "t", None, "110011", "auth.tenantName")


def test_request_same_tenant_id_and_name_is_accepted() -> None:
    body = {"auth": {"token": {"id": "t"}, "tenantId": "110011", "tenantName": "110011"}}
    assert load(body).tenant == "110011"


def test_request_null_tenant_is_absent_and_unknown_members_are_ignored() -> None:
    body = {
        "auth": {
            "passwordCredentials": {"username": "a", "password": "p", "domain": "x"},
            "tenantId": None,
            "tenantName": None,
            "RAX-AUTH:domain": {"name": "Rackspace"},
        },
        "extra": 1,
    }
    assert load(body) == Credentials(CredentialKind.PASSWORD, "p", "a", None)


def test_request_bounds_1024_characters_are_accepted() -> None:
    body = {"auth": {"passwordCredentials": {"username": LONG, "password": LONG}, "tenantId": LONG}}
    assert load(body).secret == LONG


BAD_REQUESTS = {
    "not-an-object": ([], "body: must be a JSON object"),
    "no-auth": ({}, "auth: Missing data for required field."),
    "auth-not-object": ({"auth": "x"}, "auth: must be a JSON object"),
    "no-credentials": ({"auth": {"tenantId": "1"}}, "auth: needs one of passwordCredentials"),
    "two-kinds": (
        {
            "auth": {
                "passwordCredentials": {"username": "a", "password": "p"},
                "token": {"id": "t"},
                "tenantId": "1",
            }
        },
        "auth: give only one of",
    ),
    "token-without-tenant": (
        {"auth": {"token": {"id": "t"}}},
        "auth.tenantId: required with token credentials",
    ),
    "tenants-differ": (
        {"auth": {"token": {"id": "t"}, "tenantId": "1", "tenantName": "2"}},
        "auth.tenantName: differs from tenantId",
    ),
    "no-username": (
        {"auth": {"passwordCredentials": {"password": "p"}}},
        "auth.passwordCredentials.username: Missing data",
    ),
    "no-password": (
        {"auth": {"passwordCredentials": {"username": "a"}}},
        "auth.passwordCredentials.password: Missing data",
    ),
    "no-api-key": (
        {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "a"}}},
        "auth.RAX-KSKEY:apiKeyCredentials.apiKey: Missing data",
    ),
    "no-token-id": ({"auth": {"token": {}, "tenantId": "1"}}, "auth.token.id: Missing data"),
    "token-null": ({"auth": {"token": None, "tenantId": "1"}}, "auth.token: Field may not be null."),
    "username-number": (
        {"auth": {"passwordCredentials": {"username": 1, "password": "p"}}},
        "auth.passwordCredentials.username: Not a valid string.",
    ),
    "password-empty": (
        {"auth": {"passwordCredentials": {"username": "a", "password": ""}}},
        "auth.passwordCredentials.password: Length must be between 1 and 1024.",
    ),
    "api-key-too-long": (
        {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "a", "apiKey": TOO_LONG}}},
        "auth.RAX-KSKEY:apiKeyCredentials.apiKey: Length must be between 1 and 1024.",
    ),
    "token-too-long": (
        {"auth": {"token": {"id": TOO_LONG}, "tenantId": "1"}},
        "auth.token.id: Length must be between 1 and 1024.",
    ),
    "tenant-empty": (
        {"auth": {"passwordCredentials": {"username": "a", "password": "p"}, "tenantId": ""}},
        "auth.tenantId: Length must be between 1 and 1024.",
    ),
    "tenant-number": (
        {"auth": {"passwordCredentials": {"username": "a", "password": "p"}, "tenantName": 110011}},
        "auth.tenantName: Not a valid string.",
    ),
    "credentials-not-object": (
        {"auth": {"passwordCredentials": ["a", "p"]}},
        "auth.passwordCredentials: must be a JSON object",
    ),
}


@pytest.mark.parametrize(("document", "expected"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_request_malformed_names_the_problem(document: Any, expected: str) -> None:
    found = problems(document)
    assert any(problem.startswith(expected) for problem in found), found


# Who the credentials name: strict mode.


def test_authenticate_password_gives_the_users_grant(registry: TokenRegistry) -> None:
    access = identity.authenticate(password("alice", "alice-pw"), registry)
    assert access == identity.Access(
        identity.user_id("alice"), "alice", Grant("110011", ("cloudbackup:admin",))
    )


def test_authenticate_api_key_gives_the_users_grant(registry: TokenRegistry) -> None:
    access = identity.authenticate(api_key("olga", "olga-key"), registry)
    assert access.grant == Grant("110011", ("observer",))


def test_authenticate_user_with_both_takes_either(registry: TokenRegistry) -> None:
    assert identity.authenticate(password("bob", "bob-pw"), registry).username == "bob"
    assert identity.authenticate(api_key("bob", "bob-key"), registry).username == "bob"


@pytest.mark.parametrize(
    "credentials",
    [
        password("alice", "wrong"),
        password("alice", "ALICE-PW"),
        password("nobody", "alice-pw"),
        password("Alice", "alice-pw"),
        password("olga", "olga-key"),  # olga has an API key, no password
        password("bob", "bob-key"),  # the API key is not the password
    ],
    ids=["wrong", "case", "unknown-user", "username-case", "no-password", "key-as-password"],
)
def test_authenticate_bad_password_is_401(registry: TokenRegistry, credentials: Credentials) -> None:
    with pytest.raises(Unauthorized, match="Unable to authenticate user with credentials provided"):
        identity.authenticate(credentials, registry)


@pytest.mark.parametrize(
    "credentials",
    [
        api_key("olga", "wrong"),
        api_key("nobody", "olga-key"),
        api_key("alice", "alice-pw"),
        api_key("bob", "bob-pw"),
    ],
    ids=["wrong", "unknown-user", "no-api-key", "password-as-key"],
)
def test_authenticate_bad_api_key_is_401(registry: TokenRegistry, credentials: Credentials) -> None:
    with pytest.raises(Unauthorized, match="Username or api key is invalid"):
        identity.authenticate(credentials, registry)


def test_authenticate_the_users_tenant_is_accepted(registry: TokenRegistry) -> None:
    access = identity.authenticate(password("alice", "alice-pw", "110011"), registry)
    assert access.grant.project_id == "110011"


def test_authenticate_another_tenant_is_401(registry: TokenRegistry) -> None:
    with pytest.raises(Unauthorized, match="Tenant with Name/Id: '220022' is not valid for User 'alice'"):
        identity.authenticate(password("alice", "alice-pw", "220022"), registry)
    with pytest.raises(Unauthorized):
        identity.authenticate(api_key("olga", "olga-key", "220022"), registry)


def test_authenticate_configured_token_for_its_tenant(registry: TokenRegistry) -> None:
    access = identity.authenticate(by_token("tok-olga", "110011"), registry, no_issued, at_now)
    assert access == identity.Access(identity.user_id("olga"), "olga", Grant("110011", ("observer",)))


def test_authenticate_configured_token_without_user_is_named_after_its_project(
    registry: TokenRegistry,
) -> None:
    access = identity.authenticate(by_token("tok-plain", "330033"), registry, no_issued, at_now)
    assert access.username == "330033"
    assert access.grant == Grant("330033", ("cloudbackup:creator",))


def test_authenticate_token_for_another_tenant_is_401(registry: TokenRegistry) -> None:
    with pytest.raises(Unauthorized, match="Token doesn't belong to Tenant with Id/Name: '220022'"):
        identity.authenticate(by_token("tok-alice", "220022"), registry, no_issued, at_now)


def test_authenticate_unknown_token_is_401(registry: TokenRegistry) -> None:
    with pytest.raises(Unauthorized, match=r"auth\.token\.id is not valid"):
        identity.authenticate(by_token("no-such-token", "110011"), registry, no_issued, at_now)


def issued_token(
    project: str = "110011", roles: tuple[str, ...] | None = ("observer",), hours: int = 1
) -> IssuedToken:
    return IssuedToken(new_token_id(), project, roles, NOW + timedelta(hours=hours))


@pytest.mark.parametrize("mode", ["strict", "open"])
def test_authenticate_issued_token_carries_its_grant(registry: TokenRegistry, mode: str) -> None:
    token = issued_token()
    chosen = registry if mode == "strict" else TokenRegistry()
    access = identity.authenticate(by_token(token.id, "110011"), chosen, {token.id: token}.get, at_now)
    assert access.grant == Grant("110011", ("observer",))


@pytest.mark.parametrize("mode", ["strict", "open"])
def test_authenticate_issued_token_expired_or_gone_is_401(registry: TokenRegistry, mode: str) -> None:
    chosen = registry if mode == "strict" else TokenRegistry()
    expired = issued_token(hours=0)
    with pytest.raises(Unauthorized, match=r"auth\.token\.id has expired"):
        identity.authenticate(by_token(expired.id, "110011"), chosen, {expired.id: expired}.get, at_now)
    with pytest.raises(Unauthorized, match=r"auth\.token\.id is no longer valid"):
        identity.authenticate(by_token(new_token_id(), "110011"), chosen, no_issued, at_now)


@pytest.mark.parametrize("mode", ["strict", "open"])
def test_authenticate_issued_token_for_another_tenant_is_401(registry: TokenRegistry, mode: str) -> None:
    chosen = registry if mode == "strict" else TokenRegistry()
    token = issued_token()
    with pytest.raises(Unauthorized, match="Token doesn't belong"):
        identity.authenticate(by_token(token.id, "220022"), chosen, {token.id: token}.get, at_now)


def test_authenticate_token_with_a_lone_surrogate_is_401_not_a_crash(registry: TokenRegistry) -> None:
    token = "\ud800" * 36
    with pytest.raises(Unauthorized):
        identity.authenticate(by_token(token, "110011"), registry, no_issued, at_now)


# Who the credentials name: open mode.


def test_authenticate_open_mode_any_password_for_the_tenant() -> None:
    access = identity.authenticate(password("anyone", "anything", "110011"), TokenRegistry())
    assert access == identity.Access(identity.user_id("anyone"), "anyone", Grant("110011", None))


def test_authenticate_open_mode_without_tenant_the_username_is_the_project() -> None:
    access = identity.authenticate(api_key("220022", "k"), TokenRegistry())
    assert access.grant == Grant("220022", None)


def test_authenticate_open_mode_any_token_for_the_tenant() -> None:
    access = identity.authenticate(by_token("whatever", "330033"), TokenRegistry(), no_issued, at_now)
    assert access.grant == Grant("330033", None)
    assert access.username == "330033"


@pytest.mark.parametrize(
    ("credentials", "where"),
    [
        (password("a/b", "p"), "auth.passwordCredentials.username"),
        (api_key("a/b", "p"), "auth.RAX-KSKEY:apiKeyCredentials.username"),
        (password("u", "p", "x/y"), "auth.tenantId"),
        (password("u", "p", "x/y", "auth.tenantName"), "auth.tenantName"),
        (password("u", "p", "feed.XML"), "auth.tenantId"),
        (password("u", "p", "feed.Json"), "auth.tenantId"),
        (password("u", "p", "\udc80"), "auth.tenantId"),
        (by_token("t", "x/y"), "auth.tenantId"),
    ],
    ids=[
        "username-slash",
        "api-key-username-slash",
        "tenant-slash",
        "tenant-name",
        "xml",
        "json",
        "surrogate",
        "token",
    ],
)
def test_authenticate_open_mode_project_no_url_can_name_is_400(credentials: Credentials, where: str) -> None:
    with pytest.raises(Invalid) as info:
        identity.authenticate(credentials, TokenRegistry(), no_issued, at_now)
    assert info.value.errors[0].startswith(f"{where}: ")


def test_issue_lasts_24_hours_with_the_grant() -> None:
    access = identity.Access("id", "alice", Grant("110011", ("admin",)))
    token = identity.issue(access, "tid", NOW)
    assert token == IssuedToken("tid", "110011", ("admin",), NOW + TOKEN_LIFETIME, None)


def test_user_id_is_32_hex_fixed_by_the_name() -> None:
    assert identity.user_id("alice") == identity.user_id("alice")
    assert identity.user_id("alice") != identity.user_id("bob")
    assert len(identity.user_id("alice")) == 32
    int(identity.user_id("\ud800"), 16)


# The access document and its catalog.


def document_for(
    grant: Grant, base: str = BASE, configured: str | None = None, region: str = "DFW"
) -> dict[str, Any]:
    access = identity.Access(identity.user_id("alice"), "alice", grant)
    token = identity.issue(access, "tid", NOW)
    return identity.access_document(access, token, base, configured, region)


# service-access.rst's regions, in its table's order after the service's own.
GUIDE_REGIONS = ["DFW", "ORD", "IAD", "LON", "SYD", "HKG"]


def test_access_document_shape() -> None:
    document = document_for(Grant("110011", ("cloudbackup:admin", "observer")))
    assert document == {
        "access": {
            "token": {
                "id": "tid",
                "expires": "2030-01-03T03:04:05.123456Z",
                "tenant": {"id": "110011", "name": "110011"},
            },
            "user": {
                "id": identity.user_id("alice"),
                "name": "alice",
                "roles": [{"name": "cloudbackup:admin"}, {"name": "observer"}],
                "RAX-AUTH:defaultRegion": "DFW",
            },
            "serviceCatalog": [
                {
                    "name": "cloudBackup",
                    "type": "rax:backup",
                    "endpoints": [
                        {"region": region, "tenantId": "110011", "publicURL": f"{BASE}/v2/110011"}
                        for region in GUIDE_REGIONS
                    ],
                },
                {
                    "name": "cloudFiles",
                    "type": "object-store",
                    "endpoints": [
                        {
                            "region": region,
                            "tenantId": "MossoCloudFS_110011",
                            "publicURL": f"{BASE}/cloudfiles/v1/MossoCloudFS_110011",
                            "internalURL": f"{BASE}/cloudfiles/v1/MossoCloudFS_110011",
                        }
                        for region in GUIDE_REGIONS
                    ],
                },
            ],
        }
    }


@pytest.mark.parametrize("region", GUIDE_REGIONS)
def test_access_document_region_is_the_default_and_the_catalogs_first(region: str) -> None:
    """SPEC (ours): one endpoint per region of service-access.rst, all on this server;
    `RAX-AUTH:defaultRegion` is LOGFILES_REGION, whose endpoint comes first."""
    access = document_for(Grant("110011", None), region=region)["access"]
    assert access["user"]["RAX-AUTH:defaultRegion"] == region
    for service in access["serviceCatalog"]:
        regions = [endpoint["region"] for endpoint in service["endpoints"]]
        assert regions[0] == region
        assert sorted(regions) == sorted(GUIDE_REGIONS)
        assert len({endpoint["publicURL"] for endpoint in service["endpoints"]}) == 1


def test_catalog_regions_are_the_configs() -> None:
    assert set(identity.catalog_regions("LON")) == set(REGIONS)
    assert identity.catalog_regions("HKG") == ["HKG", "DFW", "ORD", "IAD", "LON", "SYD"]


def test_access_document_open_mode_roles_show_as_admin() -> None:
    roles = document_for(Grant("1", None))["access"]["user"]["roles"]
    assert roles == [{"name": "cloudbackup:admin"}]


def test_access_document_no_roles_shows_none() -> None:
    assert document_for(Grant("1", ()))["access"]["user"]["roles"] == []


def test_access_document_configured_object_store_is_filled_in() -> None:
    configured = "https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_{project_id}/"
    files = document_for(Grant("110011", None), configured=configured)["access"]["serviceCatalog"][1][
        "endpoints"
    ][0]
    assert files["publicURL"] == "https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011"
    assert files["internalURL"] == files["publicURL"]
    assert files["tenantId"] == "MossoCloudFS_110011"


def test_access_document_urls_percent_encode_the_project() -> None:
    catalog = document_for(Grant("a b?#", None), base="https://localhost:8443")["access"]["serviceCatalog"]
    assert catalog[0]["endpoints"][0]["publicURL"] == "https://localhost:8443/v2/a%20b%3F%23"
    assert catalog[0]["endpoints"][0]["tenantId"] == "a b?#"
    assert (
        catalog[1]["endpoints"][0]["publicURL"]
        == "https://localhost:8443/cloudfiles/v1/MossoCloudFS_a%20b%3F%23"
    )


# Identity's error body.


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (400, "badRequest"),
        (401, "unauthorized"),
        (405, "badMethod"),
        (413, "overLimit"),
        (415, "badMediaType"),
        (503, "serviceUnavailable"),
        (500, "identityFault"),
    ],
)
def test_fault_body_names_the_fault(status: int, name: str) -> None:
    assert identity.fault_body(status, "Oops.") == {name: {"code": status, "message": "Oops."}}


def test_fault_body_joins_the_details_and_counts_past_ten() -> None:
    assert (
        identity.fault_body(400, "Bad.", ["Bad.", "a: x", "b: y"])["badRequest"]["message"]
        == "Bad. (a: x; b: y)"
    )
    message = identity.fault_body(400, "Bad.", [f"m{i}: x" for i in range(12)])["badRequest"]["message"]
    assert message.endswith("m9: x; and 2 more)")


# The journal never shows a password or an API key.


def test_mask_members_masks_secrets_at_any_depth() -> None:
    body = {
        "auth": {
            "passwordCredentials": {"username": "alice", "password": "alice-pw"},
            "RAX-KSKEY:apiKeyCredentials": {"username": "alice", "apiKey": "the-key"},
            "list": [{"password": {"nested": "pw2"}}],
        }
    }
    masked = json.loads(mask_members(json.dumps(body).encode(), identity.SECRET_MEMBERS))
    assert masked["auth"]["passwordCredentials"] == {"username": "alice", "password": MASK}
    assert masked["auth"]["RAX-KSKEY:apiKeyCredentials"]["apiKey"] == MASK
    assert masked["auth"]["list"] == [{"password": MASK}]


@pytest.mark.parametrize(
    "data",
    [b'{"auth": {"passwordCredentials": {"password": "alice-pw"', b"password=alice-pw", b"\xff alice-pw"],
    ids=["cut-short", "form", "not-utf8"],
)
def test_mask_members_body_that_is_not_json_is_not_recorded(data: bytes) -> None:
    assert mask_members(data, identity.SECRET_MEMBERS) == NOT_RECORDED


def test_mask_members_deep_document_does_not_recurse() -> None:
    data = ('{"a":' * 500 + '{"password": "pw"}' + "}" * 500).encode()
    masked = mask_members(data, identity.SECRET_MEMBERS)
    assert b"pw" not in masked.replace(b"password", b"")
    assert masked.count(MASK.encode()) == 1
