"""A project's summary settings (PUT /v2/{project_id}/settings/summaries), as the update page
sets them: its members, their types and our bounds. Strict: an unknown member is a 400, since a
PUT replaces the settings whole and a misspelt `dialy` would otherwise switch summaries off."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from .base import BoundedList, StrictBoolean
from .configurations import MAX_DESTINATION_LENGTH, MAX_NOTIFICATION_TYPE, MAX_NOTIFICATIONS


def _text(maximum: int, description: str) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(min=1, max=maximum, error=f"must be 1 to {maximum} characters"),
        metadata={"description": description},
    )


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class SummaryNotificationSchema(_Strict):
    type = _text(MAX_NOTIFICATION_TYPE, "The kind of notification, such as `email` (the page's).")
    destination = _text(MAX_DESTINATION_LENGTH, "Where it goes, such as an email address.")


class SummarySettingsSchema(_Strict):
    """The update page's body: `notifications` required; a boolean not sent is false (the page:
    summaries are made "when set to true")."""

    daily = StrictBoolean(load_default=False, metadata={"description": "Make daily summaries."})
    weekly = StrictBoolean(load_default=False, metadata={"description": "Make weekly summaries."})
    notifications = BoundedList(
        fields.Nested(SummaryNotificationSchema),
        max_items=MAX_NOTIFICATIONS,
        required=True,
        metadata={"description": f"Where summaries are sent: at most {MAX_NOTIFICATIONS}."},
    )


SUMMARY_SETTINGS = SummarySettingsSchema()
