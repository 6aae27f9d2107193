"""The pieces every schema is made of: strict JSON fields, bounded lists, times, the messages flattened."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
)

from ..model import format_time, parse_time

MAX_GLOB_LENGTH = 1024  # a path glob: longer than any path the request line lets through
MAX_ID_LENGTH = 1024


class Lenient(Schema):
    """Unknown members are ignored: strict on what the guide says, permissive on the rest."""

    class Meta:
        unknown = EXCLUDE


class StrictBoolean(fields.Boolean):
    """Only JSON `true`/`false`; marshmallow's Boolean would also take 1, "yes"..."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictInteger(fields.Integer):
    """Only JSON integers: no floats, no strings of digits, no booleans."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class IntegerOrString(fields.Field[int | str]):
    """The guide sends `exponent` as the bare integer 10001; a string is accepted too."""

    default_error_messages = {"invalid": "Not a valid integer or string."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | str:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.make_error("invalid")
        return value


class BoundedList(fields.List[Any]):
    """A list of at most `max_items`, counted before any item is read: a 1 MiB body of
    empty objects must not cost a validation of each of its third of a million items."""

    def __init__(self, cls_or_instance: Any, *, max_items: int, **kwargs: Any) -> None:
        super().__init__(cls_or_instance, **kwargs)
        self.max_items = max_items

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, list) and len(value) > self.max_items:
            raise ValidationError(f"at most {self.max_items} items, not {len(value)}")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictNumber(fields.Float):
    """Only JSON numbers (no strings of digits, no booleans); NaN and infinities are refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Base64Bytes(fields.Field[bytes]):
    """Bytes as standard base64 text, at most `max_bytes` once decoded."""

    def __init__(self, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_bytes = max_bytes

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bytes:
        # 4 characters carry 3 bytes: a text that cannot fit is refused before it is decoded.
        if not isinstance(value, str) or len(value) > (self.max_bytes + 2) // 3 * 4 + 4:
            raise ValidationError(f"base64 of at most {self.max_bytes:,} bytes")
        try:
            decoded = base64.b64decode(value.encode("ascii"), validate=True)
        except (ValueError, binascii.Error):
            raise ValidationError("not standard base64") from None
        if len(decoded) > self.max_bytes:
            raise ValidationError(f"base64 of at most {self.max_bytes:,} bytes")
        return decoded


_PLAIN = {
    "Invalid input type.": "must be a JSON object",
}


def flatten_messages(messages: Any, *, style: str = "dotted", where: str = "") -> list[str]:
    """One `where: problem` entry per problem in marshmallow's nested `messages`.

    style "dotted" writes `host.os.name`; style "pointer" writes `/0/path` (JSON Pointer).
    """
    out: list[str] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key == "_schema":
                out.extend(flatten_messages(value, style=style, where=where))
                continue
            if style == "pointer":
                child = f"{where}/{key}"
            elif where:
                child = f"{where}.{key}"
            else:
                child = str(key)
            out.extend(flatten_messages(value, style=style, where=child))
    elif isinstance(messages, list | tuple):
        for item in messages:
            out.extend(flatten_messages(item, style=style, where=where))
    else:
        text = _PLAIN.get(str(messages), str(messages))
        out.append(f"{where or 'body'}: {text}")
    return out


class IsoTime(fields.Field[datetime]):
    """ISO-8601 with a timezone (`Z` or an offset), as the service writes times."""

    default_error_messages = {"invalid": "Not an ISO-8601 time with a timezone."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return parse_time(value)
        except ValueError:
            raise self.make_error("invalid") from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else format_time(value)
