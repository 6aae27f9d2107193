"""Identity v2.0's documents: the request `POST /v2.0/tokens` reads and the access document it answers.

The logic that decides who the credentials name is logfiles/identity.py; these are the shapes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from ..auth import MAX_CREDENTIAL_LENGTH
from .base import Lenient

# The request's members for each kind of credentials (names, not secrets: hence the noqa).
PASSWORD_MEMBER = "passwordCredentials"  # noqa: S105
API_KEY_MEMBER = "RAX-KSKEY:apiKeyCredentials"
TOKEN_MEMBER = "token"  # noqa: S105


class CredentialKind(enum.StrEnum):
    """What the secret is (named after the request's member that holds it, not a secret)."""

    PASSWORD = "password"  # noqa: S105
    API_KEY = "apiKey"
    TOKEN = "token"  # noqa: S105


@dataclass(frozen=True, slots=True)
class Credentials:
    """What one request presents: a username and password or API key, or a token, and a tenant."""

    kind: CredentialKind
    secret: str  # the password, the API key or the token's id
    username: str | None = None  # None for a token
    tenant: str | None = None  # tenantId, else tenantName; None when neither was given
    tenant_member: str = "auth.tenantId"  # where the tenant came from, for messages


# The request: marshmallow loads it, with one `where: problem` per problem (400).


def _bounded(**kwargs: Any) -> fields.String:
    length = validate.Length(min=1, max=MAX_CREDENTIAL_LENGTH)
    return fields.String(validate=length, **kwargs)


class PasswordCredentialsSchema(Lenient):
    username = _bounded(required=True)
    password = _bounded(required=True, load_only=True)


class ApiKeyCredentialsSchema(Lenient):
    username = _bounded(required=True)
    apiKey = _bounded(required=True, load_only=True)


class TokenCredentialsSchema(Lenient):
    id = _bounded(required=True)


class AuthSchema(Lenient):
    """Exactly one kind of credentials; a token needs the tenant it is for."""

    passwordCredentials = fields.Nested(PasswordCredentialsSchema)
    apiKeyCredentials = fields.Nested(ApiKeyCredentialsSchema, data_key=API_KEY_MEMBER)
    token = fields.Nested(TokenCredentialsSchema)
    # (ours) null is the same as absent: some clients send the member they have no value for.
    tenantId = _bounded(allow_none=True)
    tenantName = _bounded(allow_none=True)

    @validates_schema
    def one_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [name for name in ("passwordCredentials", "apiKeyCredentials", "token") if name in data]
        names = f"{PASSWORD_MEMBER}, {API_KEY_MEMBER} or {TOKEN_MEMBER}"
        if not given:
            raise ValidationError(f"needs one of {names}")
        if len(given) > 1:
            raise ValidationError(f"give only one of {names}, not {len(given)}")
        tenant_id, tenant_name = data.get("tenantId"), data.get("tenantName")
        if tenant_id is not None and tenant_name is not None and tenant_id != tenant_name:
            # A tenant's name is its id here (as for Cloud tenants): two different ones name nobody.
            raise ValidationError("differs from tenantId; give one, or the same value", "tenantName")
        if given == ["token"] and tenant_id is None and tenant_name is None:
            raise ValidationError("required with token credentials (or tenantName)", "tenantId")


class AuthRequestSchema(Lenient):
    """The body of `POST /v2.0/tokens`: `{"auth": {...}}`."""

    auth = fields.Nested(AuthSchema, required=True)

    @post_load
    def make_credentials(self, data: dict[str, Any], **kwargs: Any) -> Credentials:
        auth = data["auth"]
        tenant_id, tenant_name = auth.get("tenantId"), auth.get("tenantName")
        tenant = tenant_id if tenant_id is not None else tenant_name
        member = "auth.tenantName" if tenant_id is None and tenant_name is not None else "auth.tenantId"
        if "token" in auth:
            return Credentials(CredentialKind.TOKEN, auth["token"]["id"], None, tenant, member)
        if "passwordCredentials" in auth:
            given = auth["passwordCredentials"]
            kind, secret = CredentialKind.PASSWORD, given["password"]
        else:
            given = auth["apiKeyCredentials"]
            kind, secret = CredentialKind.API_KEY, given["apiKey"]
        return Credentials(kind, secret, given["username"], tenant, member)


REQUEST = AuthRequestSchema()


# The answer's shape, for the OpenAPI document (dumped through, so the two cannot differ).


class TenantSchema(Schema):
    id = fields.String()
    name = fields.String()


class AccessTokenSchema(Schema):
    id = fields.String()
    expires = fields.String()
    tenant = fields.Nested(TenantSchema)


class RoleSchema(Schema):
    name = fields.String()


class UserSchema(Schema):
    id = fields.String()
    name = fields.String()
    roles = fields.List(fields.Nested(RoleSchema))
    default_region = fields.String(data_key="RAX-AUTH:defaultRegion")


class EndpointSchema(Schema):
    region = fields.String()
    tenantId = fields.String()
    publicURL = fields.String()
    internalURL = fields.String()


class ServiceSchema(Schema):
    name = fields.String()
    type = fields.String()
    endpoints = fields.List(fields.Nested(EndpointSchema))


class AccessSchema(Schema):
    token = fields.Nested(AccessTokenSchema)
    user = fields.Nested(UserSchema)
    serviceCatalog = fields.List(fields.Nested(ServiceSchema))


class AccessDocumentSchema(Schema):
    """The 200 of `POST /v2.0/tokens`."""

    access = fields.Nested(AccessSchema)


ACCESS = AccessDocumentSchema()
