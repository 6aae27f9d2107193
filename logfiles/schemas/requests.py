"""Browse, vault encryption and password verification requests, their reports, and moving a
vault: the bodies as the pages set them, with our bounds (docs/SPEC.md "Contract notes").

The results bodies an agent reports are bounded member by member, and their depth is fixed:
an item's unknown members are dropped, so what is kept is never deeper than the GET page's
body (results -> items -> item -> value).
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, validate

from .base import MAX_ID_LENGTH, BoundedList, Lenient, StrictBoolean, StrictInteger

MAX_PATH_LENGTH = 4096  # Linux's PATH_MAX, as a configuration's paths
MAX_PATH_DEPTH = 256  # segments of a browsed path
MAX_ENCODED_LENGTH = 4 * ((MAX_PATH_LENGTH * 4 + 2) // 3)  # base64 of a path of 4096 UTF-8 characters
MAX_ITEMS = 10_000  # items of one browse listing (the 1 MiB body bounds them first)
MAX_NAME_LENGTH = 1024  # an item's name (Linux's NAME_MAX is 255 bytes; other systems allow more)
MAX_MIME_TYPE_LENGTH = 255  # RFC 6838's bound on a media type's name
MAX_ITEM_BYTES = 2**63 - 1
MAX_PASSWORD_HEX_LENGTH = 8192  # a 4096-bit RSA ciphertext is 1024 hex digits; room for spacing
_HEX = re.compile(r"[0-9a-fA-F\s]*[0-9a-fA-F][0-9a-fA-F\s]*")


def _text(maximum: int, required: bool = True, allow_none: bool = False) -> fields.String:
    return fields.String(
        required=required,
        allow_none=allow_none,
        validate=validate.Length(min=1, max=maximum, error=f"must be 1 to {maximum} characters"),
    )


class Path(fields.String):
    """A path to browse: 1 to MAX_PATH_LENGTH characters, at most MAX_PATH_DEPTH segments."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        if not 0 < len(text) <= MAX_PATH_LENGTH:
            raise ValidationError(f"must be 1 to {MAX_PATH_LENGTH} characters")
        if len([part for part in re.split(r"[/\\]", text) if part]) > MAX_PATH_DEPTH:
            raise ValidationError(f"at most {MAX_PATH_DEPTH} segments deep")
        return text


class PasswordHex(fields.String):
    """An encrypted password in hexadecimal notation: hex digits, with the spaces the pages'
    examples put in them. The value is never repeated in a message."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError("must be a string of hexadecimal digits")
        if len(value) > MAX_PASSWORD_HEX_LENGTH:
            raise ValidationError(f"at most {MAX_PASSWORD_HEX_LENGTH} characters")
        if not _HEX.fullmatch(value):
            raise ValidationError("must be hexadecimal digits (spaces allowed between them)")
        return value


class BooleanOrText(fields.Field[bool]):
    """`verified`: the page's example sends a boolean, its table says String: both, as
    `true`/`false`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return bool(value == "true")
        raise ValidationError("must be true or false")


class HostBrowseSchema(Lenient):
    """Request to browse an agent's files."""

    path = Path(required=True)
    path_encoded = _text(MAX_ENCODED_LENGTH, allow_none=True)


class BackupBrowseSchema(HostBrowseSchema):
    """Request to browse a backup's files: also the agent that browses, and the vault's password
    (null for an unencrypted vault, as the page's example sends)."""

    agent_id = _text(MAX_ID_LENGTH)
    encrypted_password_hex = PasswordHex(required=True, allow_none=True)


class BrowseItemSchema(Lenient):
    name = fields.String(
        required=True,
        validate=validate.Length(max=MAX_NAME_LENGTH, error=f"at most {MAX_NAME_LENGTH} characters"),
    )
    name_encoded = _text(MAX_ENCODED_LENGTH, required=False, allow_none=True)
    bytes = StrictInteger(
        required=True, validate=validate.Range(min=0, max=MAX_ITEM_BYTES, error="must be 0 or more")
    )
    mime_type = fields.String(
        required=True,
        validate=validate.Length(
            max=MAX_MIME_TYPE_LENGTH, error=f"at most {MAX_MIME_TYPE_LENGTH} characters"
        ),
    )


class BrowseResultsSchema(Lenient):
    """The agent's report: the GET page's body. `id`, `time`, `event`, `agent` and `request_id`
    are the service's and ignored if sent; `path`, `path_encoded` default to the request's."""

    succeeded = StrictBoolean(required=True)
    path = Path(allow_none=True)
    path_encoded = _text(MAX_ENCODED_LENGTH, required=False, allow_none=True)
    items = BoundedList(fields.Nested(BrowseItemSchema), max_items=MAX_ITEMS, load_default=list)


class EncryptionRequestSchema(Lenient):
    """Enable (old null) or change (old given) the vault's encryption."""

    old_encrypted_password_hex = PasswordHex(required=True, allow_none=True)
    new_encrypted_password_hex = PasswordHex(required=True)


class EncryptionResultsSchema(Lenient):
    action = fields.String(
        required=True, validate=validate.OneOf(("enabled", "changed"), error="must be 'enabled' or 'changed'")
    )
    succeeded = StrictBoolean(required=True)


class VerificationRequestSchema(Lenient):
    """`agent_id` null: the URL's agent's own vault; else the vault of the agent it names."""

    encrypted_password_hex = PasswordHex(required=True)
    agent_id = _text(MAX_ID_LENGTH, allow_none=True)


class VerificationResultsSchema(Lenient):
    verified = BooleanOrText(required=True)


class VaultMoveSchema(Lenient):
    source_agent_id = _text(MAX_ID_LENGTH)


HOST_BROWSE = HostBrowseSchema()
BACKUP_BROWSE = BackupBrowseSchema()
BROWSE_RESULTS = BrowseResultsSchema()
ENCRYPTION_REQUEST = EncryptionRequestSchema()
ENCRYPTION_RESULTS = EncryptionResultsSchema()
VERIFICATION_REQUEST = VerificationRequestSchema()
VERIFICATION_RESULTS = VerificationResultsSchema()
VAULT_MOVE = VaultMoveSchema()
# Members of these bodies that hold an encrypted password: masked in the journal.
PASSWORD_MEMBERS = ("encrypted_password_hex", "old_encrypted_password_hex", "new_encrypted_password_hex")
