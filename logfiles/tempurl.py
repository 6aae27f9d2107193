"""Swift temp URLs: signing (the links the service makes) and checking (the object store).

As Swift's tempurl middleware: `temp_url_sig` is the HMAC of `"<METHOD>\\n<expires>\\n<path>"`
keyed by the account's key, as hex (SHA1, SHA256 or SHA512, told apart by its length) or as
`<digest>:<base64>`; `temp_url_expires` is a Unix time. A signature is bound to its method; a
HEAD may use a GET, HEAD or PUT signature (Swift allows it: it reveals no bytes). Stdlib only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime

from .errors import Unauthorized

DIGESTS: dict[str, Callable[..., hashlib._Hash]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}
_HEX_LENGTHS = {40: "sha1", 64: "sha256", 128: "sha512"}
MAX_EXPIRES_DIGITS = 12  # a Unix time up to the year 9000 fits in 12 digits
HEAD_MAY_USE = ("GET", "HEAD", "PUT")


def sign(key: str, method: str, expires: int, path: str, digest: str = "sha1") -> str:
    """The hex signature of `method` on `path` until `expires`."""
    message = f"{method}\n{expires}\n{path}".encode()
    return hmac.new(key.encode(), message, DIGESTS[digest]).hexdigest()


def check(key: str, method: str, path: str, signature: str, expires_text: str, now: datetime) -> None:
    """Return when the temp URL allows `method` on `path` at `now`; else Unauthorized.

    `path` is the whole request path, as the client signed it.
    """
    expires = _expires(expires_text)
    if expires <= int(now.astimezone(UTC).timestamp()):
        raise _refused("temp_url_expires: the temp URL has expired")
    digest, given = _signature(signature)
    methods = HEAD_MAY_USE if method == "HEAD" else (method,)
    for signed_method in methods:
        message = f"{signed_method}\n{expires}\n{path}".encode()
        expected = hmac.new(key.encode(), message, DIGESTS[digest]).digest()
        if hmac.compare_digest(expected, given):
            return
    raise _refused(f"temp_url_sig: not a signature of {method} on this path until {expires}")


def _expires(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_EXPIRES_DIGITS):
        raise _refused("temp_url_expires: must be a Unix time in plain digits")
    return int(text)


def _signature(text: str) -> tuple[str, bytes]:
    """(digest name, raw signature) from hex, or from `<digest>:<base64>`."""
    name, colon, encoded = text.partition(":")
    if colon:
        if name not in DIGESTS or len(encoded) > 128:
            raise _refused("temp_url_sig: a prefixed signature is sha1:, sha256: or sha512: and base64")
        padded = encoded + "=" * (-len(encoded) % 4)
        try:
            raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise _refused("temp_url_sig: not base64") from None
        return name, raw
    digest = _HEX_LENGTHS.get(len(text))
    if digest is None:
        raise _refused("temp_url_sig: a hex signature is 40, 64 or 128 digits (SHA1, SHA256, SHA512)")
    try:
        return digest, bytes.fromhex(text)
    except ValueError:
        raise _refused("temp_url_sig: not hex") from None


def _refused(problem: str) -> Unauthorized:
    return Unauthorized("The temp URL is not valid.", [problem])
