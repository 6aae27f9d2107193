"""The object store's rules (a Cloud Files / Swift subset): names, uploads, listings; no Flask, no I/O.

What a store keeps of an object is an `ObjectInfo` plus its bytes; how it keeps the bytes is
the store's business (memory, or files beside the SQLite database). The rules here decide what
a valid name is, when an upload is too large or does not match its `ETag`, and what a listing
page holds, once for every store.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from .errors import Invalid, NotFound, PayloadTooLarge, Unprocessable

# SPEC: the log files' container, which exists in every project without being created.
LOG_CONTAINER = "CloudBackupLogs"
# Swift's defaults (swift.conf's constraints): names are counted in UTF-8 bytes.
MAX_OBJECT_NAME_BYTES = 1024
MAX_CONTAINER_NAME_BYTES = 256
MAX_LISTING_LIMIT = 10_000
CHUNK_BYTES = 64 * 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_CONTENT_TYPE_LENGTH = 256


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object as its listing and headers show it: `hash` is the MD5 hex of its bytes."""

    project_id: str
    container: str
    name: str
    bytes: int
    hash: str
    content_type: str
    last_modified: datetime


def check_container_name(container: str) -> None:
    """Swift's rule: 1 to 256 bytes of UTF-8, no `/` (a 400 otherwise; it can never exist)."""
    size = _utf8_length(container, "container")
    if not 0 < size <= MAX_CONTAINER_NAME_BYTES or "/" in container:
        raise Invalid(
            "The container name is not valid.",
            [f"container: 1 to {MAX_CONTAINER_NAME_BYTES} bytes of UTF-8 without '/'"],
        )


def check_object_name(name: str) -> None:
    """Swift's rule: 1 to 1,024 bytes of UTF-8 (it may hold `/`)."""
    size = _utf8_length(name, "object")
    if not 0 < size <= MAX_OBJECT_NAME_BYTES:
        raise Invalid(
            "The object name is not valid.",
            [f"object: 1 to {MAX_OBJECT_NAME_BYTES} bytes of UTF-8, not {size}"],
        )


def _utf8_length(text: str, member: str) -> int:
    """Its length in UTF-8; Invalid if it has none, or holds a NUL (Swift refuses both)."""
    if "\x00" in text:
        raise Invalid(f"The {member} name is not valid.", [f"{member}: holds a NUL"])
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:  # a path werkzeug could not decode as UTF-8
        raise Invalid(f"The {member} name is not valid.", [f"{member}: not UTF-8"]) from None


def container_not_found(container: str) -> NotFound:
    return NotFound("The container does not exist.", [f"container: no container '{container}'"])


def object_not_found(container: str, name: str) -> NotFound:
    return NotFound("The object does not exist.", [f"object: no object '{name}' in '{container}'"])


def content_type_for(name: str, given: str | None) -> str:
    """The type the client gave, else guessed from the name as Swift does, else octet-stream."""
    if given:
        if len(given) > MAX_CONTENT_TYPE_LENGTH or not given.isprintable():
            raise Invalid(
                "The Content-Type is not valid.",
                [f"Content-Type: printable, at most {MAX_CONTENT_TYPE_LENGTH} characters"],
            )
        return given
    return mimetypes.guess_type(name)[0] or DEFAULT_CONTENT_TYPE


def expected_etag(header: str | None) -> str | None:
    """The MD5 hex a client sent as `ETag` on upload (quotes allowed), lower-cased; None if none."""
    if header is None:
        return None
    value = header.strip().strip('"').lower()
    return value or None


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        "The object is larger than this service keeps.",
        [f"body: more than {limit:,} bytes (LOGFILES_MAX_OBJECT_BYTES)"],
    )


def store_full(limit: int) -> PayloadTooLarge:
    """Swift answers a quota exceeded with 413 too; the client learns which bound and what frees room."""
    return PayloadTooLarge(
        "The upload exceeds the object store's quota.",
        [
            f"body: the stored objects would pass {limit:,} bytes (LOGFILES_MAX_STORED_BYTES); "
            "delete objects or reset to make room"
        ],
    )


class Upload:
    """The bytes of one upload as they stream in: counted, hashed, and stopped past the limit.

    A store iterates `chunks()` and writes each chunk where it keeps bytes; when the stream
    ends, `finish()` checks the client's ETag. Either raises before the store publishes, so
    a refused upload stores nothing. `length` is the declared Content-Length (None: chunked),
    so that a store with a quota can reserve room before reading a byte.
    """

    def __init__(
        self, source: Iterable[bytes], limit: int, etag: str | None, length: int | None = None
    ) -> None:
        self._source = source
        self._limit = limit
        self._etag = etag
        self.length = length
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.digest = ""  # the MD5 hex, once `finish` has checked it

    def chunks(self) -> Iterator[bytes]:
        for chunk in self._source:
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self._limit:
                raise too_large(self._limit)
            self._md5.update(chunk)
            yield chunk

    def finish(self) -> str:
        """The MD5 hex of what was read; Unprocessable (422, as Swift) when it is not the ETag."""
        digest = self._md5.hexdigest()
        if self._etag is not None and self._etag != digest:
            raise Unprocessable(
                "The ETag does not match the object's bytes.",
                [f"ETag: '{self._etag[:64]}' given, the body's MD5 is '{digest}'"],
            )
        self.digest = digest
        return digest


@dataclass(frozen=True, slots=True)
class ListingQuery:
    """A container listing's `prefix`, `marker` and `limit` (names compare as Swift's, by code point)."""

    prefix: str = ""
    marker: str = ""
    limit: int = MAX_LISTING_LIMIT

    def admits(self, name: str) -> bool:
        return name.startswith(self.prefix) and name > self.marker


def listing(objects: Iterable[ObjectInfo], query: ListingQuery) -> list[ObjectInfo]:
    """The page `query` selects from `objects` (in any order): names after the marker, sorted."""
    chosen = sorted((o for o in objects if query.admits(o.name)), key=lambda o: o.name)
    return chosen[: query.limit]
