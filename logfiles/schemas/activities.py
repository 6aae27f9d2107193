"""`?marker=&limit=&sort_dir=` of the activities lists (every value is text)."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, post_load, validate

from .base import MAX_ID_LENGTH, Lenient
from .queries import page_limit


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
