"""Conditional requests and ranges on objects (RFC 9110), and a download's body, for api/objects.py.

werkzeug answers If-None-Match, If-Modified-Since and single ranges itself; what is decided
here is what werkzeug leaves to the application: If-Match and If-Unmodified-Since (412), and
which `Range` werkzeug should be left to answer.
"""

from __future__ import annotations

from datetime import UTC

from flask import request
from werkzeug.http import http_date, is_resource_modified, parse_range_header
from werkzeug.wsgi import FileWrapper

from ..errors import PreconditionFailed
from ..objects import ObjectInfo

PRECONDITIONS = ("HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE")


def check_preconditions(info: ObjectInfo | None) -> None:
    """RFC 9110 13.2.2 steps 1 and 2: If-Match, else If-Unmodified-Since; 412 when the one
    that applies fails (`info` None: no object by that name yet, as for a first upload).

    If-Unmodified-Since is ignored when If-Match is present, when its value is not an HTTP
    date, and when there is no object (nothing has a modification date): RFC 9110 13.1.4.
    The object "was modified after" the date when its Last-Modified, in whole seconds as
    the header shows it, is later.
    """
    if "HTTP_IF_MATCH" in request.environ:
        if_match = request.if_match
        if info is None:
            if if_match:
                raise PreconditionFailed(
                    "The object's ETag is none of If-Match's.", ["If-Match: there is no such object"]
                )
            return
        if if_match and not if_match.star_tag and not if_match.contains(info.hash):
            raise PreconditionFailed(
                "The object's ETag is none of If-Match's.", [f"If-Match: the object's ETag is {info.hash}"]
            )
        return
    since = request.if_unmodified_since  # werkzeug: None when absent or not a date
    if since is None or info is None:
        return
    modified = info.last_modified.astimezone(UTC).replace(microsecond=0)
    if modified > since:
        raise PreconditionFailed(
            "The object was modified after If-Unmodified-Since.",
            [f"If-Unmodified-Since: the object was last modified {http_date(modified)}"],
        )


def let_through(info: ObjectInfo) -> bool:
    """Whether If-None-Match / If-Modified-Since let the object through (If-Match is decided
    before, and taken out of the environ: werkzeug would take it for "not modified")."""
    return is_resource_modified(request.environ, etag=info.hash, last_modified=info.last_modified)


def settle_range(size: int) -> None:
    """Leave werkzeug one `Range` it should answer, as Swift and RFC 9110 14.2 would.

    Ignored (the whole object, 200): a header that does not parse, a unit other than bytes,
    several ranges (Swift would answer multipart; served whole here). A suffix longer than
    the object is the whole object (206), not a 416.
    """
    header = request.environ.get("HTTP_RANGE")
    if header is None:
        return
    parsed = parse_range_header(header)
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        del request.environ["HTTP_RANGE"]
        return
    start, end = parsed.ranges[0]
    if start < 0 and end is None and -start > size > 0:
        request.environ["HTTP_RANGE"] = f"bytes=0-{size - 1}"


class ClosingFile(FileWrapper):
    """werkzeug's file wrapper (seekable, so ranges skip ahead), closing the file at its end.

    A server closes the response when it is done; this also frees the file of a client that
    reads the body and never closes (Flask's test client, say).
    """

    def __next__(self) -> bytes:
        if self.file.closed:  # asked again after its end (werkzeug's test client does)
            raise StopIteration
        data = self.file.read(self.buffer_size)
        if data:
            return data
        self.close()
        raise StopIteration
