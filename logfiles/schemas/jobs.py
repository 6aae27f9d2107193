"""Backups, restores and cleanups: the create bodies, the results an agent's PATCH reports, and
the lists' queries (docs/SPEC.md "Backups, restores and cleanups" has every bound).

Unknown members are ignored (Lenient), as everywhere: strict on what the pages say.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from .base import MAX_ID_LENGTH, BoundedList, IntegerOrString, Lenient, StrictBoolean, StrictInteger
from .queries import page_limit, sort_dir
from .v2 import LinkSchema

# (ours) Bounds of what a job keeps. A path as long as any file system's; an errors list of at
# most MAX_ERROR_ITEMS items (the pages call it partial: "Partial list follows"); the longest
# text an exception carries (the pages' `details` is a stack of frames).
MAX_PATH_LENGTH = 4096
MAX_TEXT_LENGTH = 4096
MAX_DETAILS_LENGTH = 16384
MAX_ERROR_ITEMS = 1000
MAX_SELECTIONS = 10000  # a restore's inclusions, and its exclusions (as a configuration's)
MAX_SNAPSHOT_IDS = 10000  # a cleanup's snapshot_ids
MAX_PASSWORD_HEX_LENGTH = 8192  # the page's example: a 2048-bit RSA block in hex, with spaces
MAX_COUNT = 2**63 - 1  # every count and size: a signed 64-bit integer
START_STATES = ("start_requested", "start_scheduled")


def _id(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=MAX_ID_LENGTH), **kwargs)


def _text(limit: int = MAX_TEXT_LENGTH, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(max=limit), **kwargs)


def count(**kwargs: Any) -> StrictInteger:
    """A count or a size: a JSON integer from 0 to MAX_COUNT."""
    return StrictInteger(validate=validate.Range(0, MAX_COUNT), **kwargs)


class BackupCreateSchema(Lenient):
    """`POST /backups` (its page): both members required."""

    configuration_id = _id(required=True)
    state = fields.String(
        required=True,
        validate=validate.OneOf(START_STATES, error="must be 'start_requested' or 'start_scheduled'"),
    )


class CleanupCreateSchema(Lenient):
    """`POST /cleanups` (its page): both members required."""

    agent_id = _id(required=True)
    state = fields.String(
        required=True,
        validate=validate.OneOf(START_STATES, error="must be 'start_requested' or 'start_scheduled'"),
    )


class SelectionSchema(Lenient):
    """One of a restore's inclusions or exclusions."""

    type = fields.String(
        required=True, validate=validate.OneOf(("file", "folder"), error="must be 'file' or 'folder'")
    )
    path = fields.String(required=True, validate=validate.Length(min=1, max=MAX_PATH_LENGTH))


class RestoreCreateSchema(Lenient):
    """`POST /restores` (its page: every member required but `overwrite_files`, false by default;
    `destination_path` may be null: the files' original places)."""

    backup_id = _id(required=True)
    destination_agent_id = _id(required=True)
    destination_path = fields.String(
        required=True, allow_none=True, validate=validate.Length(min=1, max=MAX_PATH_LENGTH)
    )
    overwrite_files = StrictBoolean(load_default=False)
    encrypted_password_hex = _text(MAX_PASSWORD_HEX_LENGTH, required=True)
    inclusions = BoundedList(fields.Nested(SelectionSchema), max_items=MAX_SELECTIONS, required=True)
    exclusions = BoundedList(fields.Nested(SelectionSchema), max_items=MAX_SELECTIONS, required=True)


MAX_CODE_LENGTH = 64  # an error's `index` or an exception's `code` written as a string


def _short(value: Any) -> None:
    if isinstance(value, str) and len(value) > MAX_CODE_LENGTH:
        raise ValidationError(f"Longer than maximum length {MAX_CODE_LENGTH}.")


def _code(**kwargs: Any) -> IntegerOrString:
    """An integer, or a string of at most MAX_CODE_LENGTH characters (the pages show both)."""
    return IntegerOrString(validate=_short, **kwargs)


class ExceptionSchema(Lenient):
    """An error item's `exception` (the PATCH pages' example)."""

    code = _code(load_default=None, allow_none=True)
    description = _text(MAX_DETAILS_LENGTH, load_default="", allow_none=True)
    details = _text(MAX_DETAILS_LENGTH, load_default="", allow_none=True)


class ErrorItemSchema(Lenient):
    """One item of the `/errors` value's `list`."""

    index = _code(load_default=None, allow_none=True)
    path = _text(MAX_PATH_LENGTH, load_default="", allow_none=True)
    type = _text(255, load_default="", allow_none=True)
    description = _text(load_default=None, allow_none=True)
    exception = fields.Nested(ExceptionSchema, load_default=None, allow_none=True)


class JobErrorsSchema(Lenient):
    """The value of a PATCH's `/errors`: count, reason, diagnostics (null on a cleanup's page)
    and a partial list. A count left out is the list's length."""

    count = count(load_default=None)
    reason = _text(load_default="", allow_none=True)
    diagnostics = _text(load_default="", allow_none=True)
    list = BoundedList(fields.Nested(ErrorItemSchema), max_items=MAX_ERROR_ITEMS, load_default=list)


class JobListQuerySchema(Lenient):
    """`?marker=&limit=&sort_dir=` of the restores and cleanups lists (`desc` by default)."""

    marker = _id(metadata={"description": "The last id of the previous page; one not in the list is a 400."})
    limit = page_limit()
    sort_dir = sort_dir("desc")


class BackupListQuerySchema(JobListQuerySchema):
    """The backups list adds `restorable` and, with `restorable=true` only, `configuration_id`."""

    restorable = fields.String(
        validate=validate.OneOf(("true", "false"), error="must be 'true' or 'false'"),
        metadata={"description": "`true`: only the backups a restore may start from."},
    )
    configuration_id = _id(metadata={"description": "With `restorable=true`: only this configuration's."})


BACKUP_CREATE = BackupCreateSchema()
RESTORE_CREATE = RestoreCreateSchema()
CLEANUP_CREATE = CleanupCreateSchema()
JOB_ERRORS = JobErrorsSchema()
JOB_LIST_QUERY = JobListQuerySchema()
BACKUP_LIST_QUERY = BackupListQuerySchema()


# The answers and the PATCH operations, for the OpenAPI document (job_results.py builds the
# answers directly, in the pages' order).


class JobRefSchema(Schema):
    """The agent, configuration or backup a job names: its id and a `full` link."""

    id = fields.String(required=True, allow_none=True)
    links = fields.List(fields.Nested(LinkSchema), required=True)


class JobErrorSummarySchema(Schema):
    count = fields.Integer(required=True)
    reason = fields.String(required=True, allow_none=True)
    diagnostics = fields.String(required=True, allow_none=True)
    links = fields.List(fields.Nested(LinkSchema), required=True)


class _JobSchema(Schema):
    project_id = fields.String(required=True)
    id = fields.String(required=True)
    state = fields.String(required=True)
    started_time = fields.String(required=True, allow_none=True)
    ended_time = fields.String(required=True, allow_none=True)
    errors = fields.Nested(JobErrorSummarySchema, required=True)
    links = fields.List(
        fields.Nested(LinkSchema), required=True, metadata={"description": "`self`, `events`."}
    )


class BackupSchema(_JobSchema):
    agent = fields.Nested(JobRefSchema, required=True)
    configuration = fields.Nested(JobRefSchema, required=True)
    snapshot_id = fields.Integer(required=True, allow_none=True)
    files_searched = fields.Integer(required=True)
    files_backed_up = fields.Integer(required=True)
    bytes_searched = fields.Integer(required=True)
    bytes_backed_up = fields.Integer(required=True)
    bytes_in_db = fields.Integer(required=True)
    bandwidth_avg_bps = fields.Integer(required=True)
    restorable = fields.Boolean(required=True)


class RestoreSchema(_JobSchema):
    backup = fields.Nested(JobRefSchema, required=True)
    destination_agent = fields.Nested(JobRefSchema, required=True)
    destination_path = fields.String(required=True, allow_none=True)
    overwrite_files = fields.Boolean(required=True)
    inclusions = fields.List(fields.Nested(SelectionSchema), required=True)
    exclusions = fields.List(fields.Nested(SelectionSchema), required=True)
    files_restored = fields.Integer(required=True)
    bytes_restored = fields.Integer(required=True)


class CleanupSchema(_JobSchema):
    agent = fields.Nested(JobRefSchema, required=True)
    snapshot_ids = fields.List(fields.Integer(), required=True)
    bytes_before = fields.Integer(required=True)
    bytes_after = fields.Integer(required=True)


class BackupListSchema(Schema):
    backups = fields.List(fields.Nested(BackupSchema), required=True)
    links = fields.List(fields.Nested(LinkSchema), required=True)


class RestoreListSchema(Schema):
    restores = fields.List(fields.Nested(RestoreSchema), required=True)
    links = fields.List(fields.Nested(LinkSchema), required=True)


class CleanupListSchema(Schema):
    cleanups = fields.List(fields.Nested(CleanupSchema), required=True)
    links = fields.List(fields.Nested(LinkSchema), required=True)


class JobErrorItemSchema(ErrorItemSchema):
    description = fields.String(allow_none=True, metadata={"description": "What the error type means."})


class JobErrorListSchema(Schema):
    """The errors page's body: the agent's report, each item with its type's description."""

    count = fields.Integer(required=True)
    reason = fields.String(required=True, allow_none=True)
    diagnostics = fields.String(required=True, allow_none=True)
    list = fields.List(fields.Nested(JobErrorItemSchema), required=True)
    links = fields.List(fields.Nested(LinkSchema), required=True)


class JobPatchOperationSchema(Schema):
    """One operation of a job's PATCH: `add` or `replace` (alike) of a path its page lists:
    `/state`, `/started_time`, `/ended_time`, `/errors` (a JobErrors value) and the kind's counts
    (`/snapshot_id`, `/files_searched`...; `/files_restored`...; `/snapshot_ids`, `/bytes_before`...)."""

    op = fields.String(required=True, validate=validate.OneOf(("add", "replace")))
    path = fields.String(required=True)
    value = fields.Raw(required=True)
