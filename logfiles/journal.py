"""Request-journal entries and how to filter them (stdlib only)."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

# Headers worth keeping: what a client chose to send that a test may assert on; the CORS
# ones show which page a browser sent it from, and what a preflight asked leave for.
RECORDED_HEADERS = (
    "X-Auth-Token",
    "X-Agent-Id",
    "Content-Type",
    "Content-Length",
    "Accept",
    "User-Agent",
    "Origin",
    "Access-Control-Request-Method",
    "Access-Control-Request-Headers",
)
# Where a WSGI server puts each of them in the environ.
_ENVIRON_KEYS = {
    name: name.upper().replace("-", "_")
    if name in ("Content-Type", "Content-Length")
    else "HTTP_" + name.upper().replace("-", "_")
    for name in RECORDED_HEADERS
}
# What one entry keeps at most; past it a value is cut, and says so, so that the journal's
# memory is bounded by its size in entries whatever the requests carry.
MAX_RECORDED_BODY = 64 * 1024
MAX_RECORDED_TEXT = 2048  # the path, the query, each header value
# A configured token is shown by its first characters only, and only when they are a small
# part of it: at most a quarter, at most 4, none of a token of 8 characters or fewer.
SHOWN_TOKEN_PREFIX = 4
SHOWN_TOKEN_MIN_LENGTH = 9


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One /v2 request as received, and the answer it got: status, size and (text) body."""

    time: datetime
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: str
    status: int
    fault: str | None = None  # id of the fault rule that answered, if one did
    seq: int = 0  # order of arrival, given by the store
    # From the start of the request to its entry, in milliseconds: a latency rule's wait shows
    # here. None only for entries an older SQLite file kept from before it was measured.
    latency_ms: float | None = None
    # The answer's body as sent, in bytes (a streamed answer's Content-Length; 0 when nothing
    # was sent: HEAD, 204, 304, a dropped connection). None: not known (an older SQLite or
    # PostgreSQL entry, or a streamed answer without a length).
    response_bytes: int | None = None
    # The answer's body as text, cut at 64 KiB like a request's. None: not recorded (a
    # streamed answer such as an object download, one that is not UTF-8, a dropped
    # connection, an entry from before this was recorded).
    response_body: str | None = None


@dataclass(frozen=True, slots=True)
class JournalFilter:
    method: str | None = None
    path: str | None = None  # fnmatch glob
    status: int | None = None
    since: datetime | None = None
    agent_id: str | None = None  # the request's X-Agent-Id header
    after: int | None = None  # only entries numbered (`seq`) above this

    def accepts(self, entry: JournalEntry) -> bool:
        return (
            (self.after is None or entry.seq > self.after)
            and (self.agent_id is None or entry.headers.get("X-Agent-Id") == self.agent_id)
            and (self.method is None or entry.method == self.method.upper())
            and (self.path is None or fnmatchcase(entry.path, self.path))
            and (self.status is None or entry.status == self.status)
            and (self.since is None or entry.time >= self.since)
        )

    def apply(self, entries: Iterable[JournalEntry]) -> list[JournalEntry]:
        return [entry for entry in entries if self.accepts(entry)]


def recorded_headers(environ: Mapping[str, object], hide_token: bool = False) -> dict[str, str]:
    """The recorded headers under their usual names, read straight from the WSGI environ.

    `hide_token`: the token is a configured secret (a tokens file is in use), so only its
    first characters are kept; anyone who can read the journal could otherwise use it.
    """
    headers = {name: clip(str(environ[key])) for name, key in _ENVIRON_KEYS.items() if key in environ}
    token = headers.get("X-Auth-Token")
    if hide_token and token:
        headers["X-Auth-Token"] = shown_token(str(environ[_ENVIRON_KEYS["X-Auth-Token"]]))
    return headers


def shown_token(token: str) -> str:
    """A secret token as the journal (and so the dashboard) shows it: enough of a long token
    to tell it from the others a test uses, too little of any to guess it by (a 4-character
    token shown by 4 characters would be shown whole)."""
    shown = min(SHOWN_TOKEN_PREFIX, len(token) // 4) if len(token) >= SHOWN_TOKEN_MIN_LENGTH else 0
    return token[:shown] + "…(hidden)"


def clip(text: str, limit: int = MAX_RECORDED_TEXT) -> str:
    """`text`, or its first `limit` characters and a note of how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…(+{len(text) - limit} characters)"


def body_text(data: bytes) -> str:
    """The body as text for the journal: UTF-8 with replacement, cut at 64 KiB."""
    text = data[:MAX_RECORDED_BODY].decode("utf-8", errors="replace")
    if len(data) <= MAX_RECORDED_BODY:
        return text
    return f"{text}…(+{len(data) - MAX_RECORDED_BODY} bytes)"


def answer_text(data: bytes) -> str | None:
    """An answer's body for the journal: UTF-8 text cut at 64 KiB, or None when it is not text.

    Not replaced character by character as a request's body is: the service's own answers
    are JSON or plain text, so bytes that are not UTF-8 are an object's, which the journal
    does not keep (its size says how much was sent).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # Not final: a character cut in two at the bound is left out rather than an error.
        text = decoder.decode(data[:MAX_RECORDED_BODY], final=len(data) <= MAX_RECORDED_BODY)
    except UnicodeDecodeError:
        return None
    if len(data) <= MAX_RECORDED_BODY:
        return text
    return f"{text}…(+{len(data) - MAX_RECORDED_BODY} bytes)"


MASK = "****"
# The members of an answer that hold secrets: a registration's `password`, and the `token`
# (whose `id` is an X-Auth-Token) of an agent's or Identity's authentication.
SECRET_ANSWER_MEMBERS = frozenset(
    {
        "password",
        "token",
        "encrypted_password_hex",
        "old_encrypted_password_hex",
        "new_encrypted_password_hex",
    }
)
# What a body that may hold a secret, but is not JSON (so its secrets cannot be found), becomes.
NOT_RECORDED = b"(not recorded: this body is not JSON, and may hold a password or API key)"


# Request bodies: a member whose name, lower-cased and stripped of everything but letters and
# digits, ends with one of these holds a secret (`password`, `apiKey`, `api_key`, `newPassword`,
# `client_secret`, Identity's `token`, `auth_token`...), whatever the path it was sent to.
SECRET_NAME_ENDINGS = ("password", "passwd", "apikey", "secret", "token", "passwordhex")
# A body that is not JSON is kept only if none of these occurs in it (any case, NULs dropped
# so UTF-16 text is seen too) and its path has no segment starting with "token".
_SECRET_WORDS = (b"password", b"passwd", b"apikey", b"api_key", b"api-key", b"secret", b"token")


def is_secret_name(name: str) -> bool:
    """Whether a JSON member called `name` holds a secret the journal must not keep."""
    return "".join(c for c in name.lower() if c.isalnum()).endswith(SECRET_NAME_ENDINGS)


def looks_like_tokens_path(path: str) -> bool:
    """`/v2.0/tokens`, and every near miss a client may post credentials to (`/v2.0/tokens/`,
    `/v2.0//tokens`, `/v2.0/tokens.xml`, `/v2/{p}/agents/tokens/`, `/v2.0/TOKEN`...)."""
    return any(segment.lower().startswith("token") for segment in path.split("/"))


def recorded_request_body(path: str, data: bytes) -> bytes:
    """What the journal keeps of a request's body sent to `path`, whichever route took it.

    Decided on the bytes, not the route, so a near miss of a credentials route (which
    answers 404 or 405 without reading them) is masked as well as the route itself:
    - JSON: every member with a secret name (is_secret_name), at any depth, becomes MASK;
      a body with none is kept byte for byte.
    - Not JSON: replaced by NOT_RECORDED when its path looks like a tokens path or it
      holds a word such as `password` or `token` anywhere; otherwise kept.
    """
    if not data:
        return data
    folded = data.lower().replace(b"\x00", b"")
    if not any(word in folded for word in _SECRET_WORDS) and b"\\u" not in folded:
        # No secret name can be in it (a JSON escape could spell one: those are parsed).
        return NOT_RECORDED if looks_like_tokens_path(path) and not _is_json(data) else data
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return NOT_RECORDED
    return _masked(document, is_secret_name, data)


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def _masked(document: object, secret: Callable[[str], bool], data: bytes) -> bytes:
    """`document` (parsed from `data`) with every member `secret` names replaced by MASK, as
    JSON; `data` itself when there is none."""
    found = False
    # A stack, not recursion: a body nested as deep as the parser allows must not fail here.
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for name, value in item.items():
                if secret(name):
                    item[name] = MASK
                    found = True
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(value for value in item if isinstance(value, dict | list))
    return json.dumps(document).encode() if found else data


def mask_members(data: bytes, names: Collection[str]) -> bytes:
    """The JSON body `data` with the value of every member named in `names`, at any depth,
    replaced by MASK: Identity's passwords and API keys never reach the journal.

    A body that is not JSON is replaced by a note (NOT_RECORDED): where its secrets are
    cannot be told, so none of it is kept.
    """
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return NOT_RECORDED
    return _masked(document, names.__contains__, data)
