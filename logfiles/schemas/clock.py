"""Clock commands of the control plane (POST /_control/clock)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    post_load,
    validate,
    validates_schema,
)

from ..clock import ClockCommand
from .base import IsoTime, StrictBoolean, StrictNumber

MAX_ADVANCE_SECONDS = 100 * 365 * 24 * 3600  # a century either way


class NowOrTime(IsoTime):
    """`"now"` (None: the service's current time) or an ISO-8601 time."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return None if value == "now" else super()._deserialize(value, attr, data, **kwargs)


class ClockCommandSchema(Schema):
    """POST /_control/clock: exactly one of freeze (a time, or "now"), advance (seconds), real."""

    freeze = NowOrTime()
    advance = StrictNumber(validate=validate.Range(-MAX_ADVANCE_SECONDS, MAX_ADVANCE_SECONDS))
    real = StrictBoolean(validate=validate.Equal(True, error="must be true"))

    @validates_schema
    def exactly_one(self, data: dict[str, Any], **kwargs: Any) -> None:
        if len(data) != 1:
            raise ValidationError("give exactly one of 'freeze', 'advance', 'real'", "body")

    @post_load
    def make_command(self, data: dict[str, Any], **kwargs: Any) -> ClockCommand:
        if "freeze" in data:
            return ClockCommand(freeze=True, at=data["freeze"])
        if "advance" in data:
            return ClockCommand(advance=timedelta(seconds=data["advance"]))
        return ClockCommand()


CLOCK_COMMAND = ClockCommandSchema()
