"""Backup configurations: the create body (and a PATCH's result) as the create page sets it,
with our bounds; the answers are built by the core (configurations.py) in the pages' order.

Types and bounds are here; the rules that relate members to each other (inclusions and
exclusions, notifications) are the core's `problems`, run on a body this schema loaded.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from .. import schedule
from .base import MAX_ID_LENGTH, BoundedList, IsoTime, Lenient, StrictBoolean, StrictInteger
from .queries import ProjectEventQuerySchema, page_limit

MAX_NAME_LENGTH = 255
MAX_PATH_LENGTH = 4096  # Linux's PATH_MAX; the Limits page leaves the rest to the 1 MB document
MAX_PATHS = 10_000  # per list; the 1 MiB agent configuration document bounds them first
MAX_NOTIFICATIONS = 100
MAX_NOTIFICATION_TYPE = 64
MAX_DESTINATION_LENGTH = 1024
MAX_RETENTION_DAYS = 36_500  # 100 years; 0 keeps backups forever (the create page)
PATH_TYPES = ("file", "folder")


def _required_text(maximum: int) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(min=1, max=maximum, error=f"must be 1 to {maximum} characters"),
    )


class Recurrence(fields.String):
    """One `RRULE:...` text: only the fields the create page shows (schedule.parse_recurrence)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        try:
            schedule.parse_recurrence(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return text


class TimeZone(fields.String):
    """An IANA time zone name (`US/Central`, `America/Chicago`, `UTC`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        try:
            schedule.time_zone(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return text


class ScheduleSchema(Lenient):
    """`recurrence`: exactly one RRULE (the page: only a single one is supported)."""

    recurrence = BoundedList(
        Recurrence(),
        max_items=1,
        required=True,
        validate=validate.Length(min=1, error="must hold one RRULE (only a single recurrence is supported)"),
        metadata={"description": "Exactly one RRULE of FREQ, INTERVAL, BYDAY, BYHOUR, BYMINUTE."},
    )
    time_zone = TimeZone(required=True, metadata={"description": "An IANA time zone name."})
    # (ours) The pages show `start` in answers only; a client may set it (ISO-8601), else it is
    # the moment of the create (or of the PATCH that gives a schedule), in whole seconds.
    start = IsoTime()


class RetentionSchema(Lenient):
    days = StrictInteger(
        required=True,
        validate=validate.Range(
            0, MAX_RETENTION_DAYS, error=f"must be from 0 (forever) to {MAX_RETENTION_DAYS}"
        ),
    )


class PathSchema(Lenient):
    type = fields.String(
        required=True, validate=validate.OneOf(PATH_TYPES, error="must be 'file' or 'folder'")
    )
    path = _required_text(MAX_PATH_LENGTH)


class NotificationSchema(Lenient):
    type = _required_text(MAX_NOTIFICATION_TYPE)
    destination = _required_text(MAX_DESTINATION_LENGTH)
    on_success = StrictBoolean(required=True)
    on_failure = StrictBoolean(required=True)


class ConfigurationSchema(Lenient):
    """POST /v2/{project_id}/configurations (and what a PATCH leaves, checked again whole)."""

    agent_id = _required_text(MAX_ID_LENGTH)
    name = _required_text(MAX_NAME_LENGTH)
    enabled = StrictBoolean(required=True)
    schedule = fields.Nested(ScheduleSchema, required=True, allow_none=True)
    retention = fields.Nested(RetentionSchema, required=True)
    inclusions = BoundedList(fields.Nested(PathSchema), max_items=MAX_PATHS, required=True)
    exclusions = BoundedList(fields.Nested(PathSchema), max_items=MAX_PATHS, required=True)
    notifications = BoundedList(fields.Nested(NotificationSchema), max_items=MAX_NOTIFICATIONS, required=True)


class RestorableQuerySchema(Lenient):
    """`GET /v2/{p}/configurations?restorable=&limit=&marker=`."""

    limit = page_limit()
    marker = fields.String(validate=validate.Length(min=1, max=MAX_ID_LENGTH))
    restorable = fields.String(validate=validate.OneOf(["true", "false"], error="must be 'true' or 'false'"))


class ConfigurationEventQuerySchema(ProjectEventQuerySchema):
    """`?marker=&limit=&sort_dir=` of a configuration's events: as the project's feed, `desc`
    by default (the page)."""


# The answers, as the pages show them (the core builds them; these document them in OpenAPI).

PATCH_PATHS = (
    "/name",
    "/enabled",
    "/schedule",
    "/retention/days",
    "/inclusions",
    "/exclusions",
    "/notifications",
)


class ConfigurationPatchOperationSchema(Lenient):
    """One operation of the PATCH page: `replace` of one of its paths; the value is checked
    with the whole result, by the create rules."""

    op = fields.String(required=True, validate=validate.Equal("replace"))
    path = fields.String(required=True, validate=validate.OneOf(PATCH_PATHS))
    value = fields.Raw(required=True, allow_none=True)


class _Link(Schema):
    href = fields.String()
    rel = fields.String()


class _Linked(Schema):
    id = fields.String()
    links = fields.List(fields.Nested(_Link))


class _ShownSchedule(Schema):
    start = fields.String(metadata={"description": "Whole seconds, e.g. 2014-08-05T18:22:21Z."})
    recurrence = fields.List(fields.String())
    time_zone = fields.String()


class _ShownPath(Schema):
    type = fields.String()
    path = fields.String()


class _ShownNotification(Schema):
    type = fields.String()
    destination = fields.String()
    on_success = fields.Boolean()
    on_failure = fields.Boolean()


class _Next(Schema):
    scheduled_time = fields.String()


class _Backups(Schema):
    last_completed = fields.Nested(_Linked, allow_none=True)
    next = fields.Nested(_Next, allow_none=True, metadata={"description": "null: manual or disabled."})


class _Retention(Schema):
    days = fields.Integer()


class ConfigurationSummarySchema(Schema):
    """A configuration in a list (both list pages): its first link's rel is `full`."""

    project_id = fields.String()
    id = fields.String()
    agent = fields.Nested(_Linked)
    name = fields.String()
    enabled = fields.Boolean()
    schedule = fields.Nested(_ShownSchedule, allow_none=True)
    retention = fields.Nested(_Retention)
    backups = fields.Nested(_Backups)
    links = fields.List(fields.Nested(_Link))


class ConfigurationDetailsSchema(ConfigurationSummarySchema):
    """The details page's body (`backups.next` inside `backups`)."""

    inclusions = fields.List(fields.Nested(_ShownPath))
    exclusions = fields.List(fields.Nested(_ShownPath))
    notifications = fields.List(fields.Nested(_ShownNotification))
    deleted = fields.Boolean()


class CreatedConfigurationSchema(ConfigurationDetailsSchema):
    """The create page's 201 body: `next` beside `backups` (its example) and in it (its table)."""

    next = fields.Nested(_Next, allow_none=True)


class ConfigurationListSchema(Schema):
    configurations = fields.List(fields.Nested(ConfigurationSummarySchema))
    links = fields.List(fields.Nested(_Link))


class _Vault(Schema):
    id = fields.String()
    use_internal = fields.Boolean()
    encrypted = fields.Boolean()
    links = fields.List(fields.Nested(_Link))


class _AgentConfigurationEntry(Schema):
    id = fields.String()
    name = fields.String()
    enabled = fields.Boolean()
    vault_id = fields.String()
    retention = fields.Nested(_Retention)
    times = fields.List(fields.String(), allow_none=True, metadata={"description": "null: manual only."})
    inclusions = fields.List(fields.Nested(_ShownPath))
    exclusions = fields.List(fields.Nested(_ShownPath))


class AgentConfigurationSchema(Schema):
    """GET /v2/{p}/agents/{id}/configuration: what the agent reads (at most 1 MiB)."""

    system_preferences = fields.Dict()
    vaults = fields.List(fields.Nested(_Vault))
    configurations = fields.List(fields.Nested(_AgentConfigurationEntry))


CONFIGURATION = ConfigurationSchema()
CONFIGURATION_LIST_QUERY = RestorableQuerySchema()
CONFIGURATION_EVENT_QUERY = ConfigurationEventQuerySchema()
