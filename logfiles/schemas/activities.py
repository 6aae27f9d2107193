"""`?marker=&limit=&sort_dir=` of the activities lists (every value is text)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate

from .base import MAX_ID_LENGTH, Lenient
from .queries import page_limit
from .v2 import LinkSchema


class ActivityQuerySchema(Lenient):
    """The activities pages' query: `sort_dir` is `desc` (the latest first) unless given."""

    marker = fields.String(
        validate=validate.Length(min=1, max=MAX_ID_LENGTH),
        metadata={"description": "A backup, restore or cleanup id of the project; the page starts past it."},
    )
    limit = page_limit()
    sort_dir = fields.String(
        load_default="desc", validate=validate.OneOf(["asc", "desc"], error="must be 'asc' or 'desc'")
    )

    @post_load
    def make_query(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {
            "marker": data.get("marker"),
            "limit": data["limit"],
            "descending": data["sort_dir"] == "desc",
        }


ACTIVITY_QUERY = ActivityQuerySchema()


# The answer, for the OpenAPI document (api/activities.py builds it directly, in this order).


class ActivityRefSchema(Schema):
    """The agent or configuration an activity names: its id and a `full` link."""

    id = fields.String(required=True)
    links = fields.List(fields.Nested(LinkSchema), required=True)


class ActivitySchema(Schema):
    """A backup, restore or cleanup as its activity shows it; `configuration` when it has one."""

    id = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(["backup", "restore", "cleanup"]))
    last_updated_time = fields.String(required=True)
    state = fields.String(required=True)
    agent = fields.Nested(ActivityRefSchema, required=True)
    configuration = fields.Nested(ActivityRefSchema)
    links = fields.List(fields.Nested(LinkSchema), required=True)


class ActivityListSchema(Schema):
    activities = fields.List(fields.Nested(ActivitySchema), required=True)
    links = fields.List(fields.Nested(LinkSchema), required=True)
