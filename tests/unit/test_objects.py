"""The object store's pure rules: temp URL signatures and expiry, uploads, names, listings."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logfiles import tempurl
from logfiles.errors import Invalid, PayloadTooLarge, Unauthorized, Unprocessable
from logfiles.objects import (
    DEFAULT_CONTENT_TYPE,
    MAX_CONTAINER_NAME_BYTES,
    MAX_OBJECT_NAME_BYTES,
    ListingQuery,
    ObjectInfo,
    Upload,
    check_container_name,
    check_object_name,
    content_type_for,
    expected_etag,
    listing,
)

KEY = "secret-key"
PATH = "/cloudfiles/v1/MossoCloudFS_p/CloudBackupLogs/v2/a/2026-12-01T00-00-00Z.gz"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LATER = int((NOW + timedelta(hours=1)).timestamp())


def swift_signature(method: str, expires: int, path: str, digest: str = "sha1", key: str = KEY) -> str:
    """What Swift's documentation gives: HMAC over "METHOD\\nexpires\\npath", hex."""
    body = f"{method}\n{expires}\n{path}".encode()
    return hmac.new(key.encode(), body, getattr(hashlib, digest)).hexdigest()


# Temp URLs.


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_a_hex_signature_of_each_digest_is_accepted(digest: str) -> None:
    tempurl.check(KEY, "GET", PATH, swift_signature("GET", LATER, PATH, digest), str(LATER), NOW)


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_a_prefixed_base64_signature_is_accepted(digest: str) -> None:
    raw = bytes.fromhex(swift_signature("GET", LATER, PATH, digest))
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")):
        tempurl.check(KEY, "GET", PATH, f"{digest}:{encoded}", str(LATER), NOW)


def test_sign_matches_swifts_formula() -> None:
    assert tempurl.sign(KEY, "PUT", LATER, PATH) == swift_signature("PUT", LATER, PATH)
    assert tempurl.sign(KEY, "GET", LATER, PATH, "sha256") == swift_signature("GET", LATER, PATH, "sha256")


def test_a_signature_is_bound_to_its_method() -> None:
    get_sig = swift_signature("GET", LATER, PATH)
    put_sig = swift_signature("PUT", LATER, PATH)
    tempurl.check(KEY, "PUT", PATH, put_sig, str(LATER), NOW)
    with pytest.raises(Unauthorized):
        tempurl.check(KEY, "PUT", PATH, get_sig, str(LATER), NOW)
    with pytest.raises(Unauthorized):
        tempurl.check(KEY, "GET", PATH, put_sig, str(LATER), NOW)
    with pytest.raises(Unauthorized):
        tempurl.check(KEY, "DELETE", PATH, get_sig, str(LATER), NOW)


@pytest.mark.parametrize("signed", ["GET", "HEAD", "PUT"])
def test_head_is_allowed_by_a_get_head_or_put_signature(signed: str) -> None:
    tempurl.check(KEY, "HEAD", PATH, swift_signature(signed, LATER, PATH), str(LATER), NOW)


def test_head_is_not_allowed_by_a_delete_signature() -> None:
    with pytest.raises(Unauthorized):
        tempurl.check(KEY, "HEAD", PATH, swift_signature("DELETE", LATER, PATH), str(LATER), NOW)


def test_expiry_is_read_on_the_given_clock() -> None:
    sig = swift_signature("GET", LATER, PATH)
    tempurl.check(KEY, "GET", PATH, sig, str(LATER), datetime.fromtimestamp(LATER - 1, UTC))
    for moment in (LATER, LATER + 1, LATER + 86_400):
        with pytest.raises(Unauthorized) as caught:
            tempurl.check(KEY, "GET", PATH, sig, str(LATER), datetime.fromtimestamp(moment, UTC))
        assert "expired" in caught.value.errors[0]


def test_the_path_key_and_expiry_are_signed() -> None:
    sig = swift_signature("GET", LATER, PATH)
    with pytest.raises(Unauthorized):
        tempurl.check(KEY, "GET", PATH + "x", sig, str(LATER), NOW)
    with pytest.raises(Unauthorized):
        tempurl.check("other-key", "GET", PATH, sig, str(LATER), NOW)
    with pytest.raises(Unauthorized):
        tempurl.check(KEY, "GET", PATH, sig, str(LATER + 1), NOW)


@pytest.mark.parametrize(
    ("signature", "expires"),
    [
        ("", str(LATER)),
        ("zz" * 20, str(LATER)),
        ("ab" * 21, str(LATER)),
        ("md5:AAAA", str(LATER)),
        ("sha1:!!!!", str(LATER)),
        ("sha1:" + "A" * 200, str(LATER)),
        ("ab" * 20, ""),
        ("ab" * 20, "-5"),
        ("ab" * 20, "1e9"),
        ("ab" * 20, "9" * 13),
        ("ab" * 20, "\uff11\uff12\uff13"),  # full-width digits
    ],
)
def test_malformed_temp_url_values_are_401_not_errors(signature: str, expires: str) -> None:
    with pytest.raises(Unauthorized):
        tempurl.check(KEY, "GET", PATH, signature, expires, NOW)


@given(signature=st.text(max_size=300), expires=st.text(max_size=30))
def test_any_temp_url_value_is_accepted_or_401(signature: str, expires: str) -> None:
    try:
        tempurl.check(KEY, "GET", PATH, signature, expires, NOW)
    except Unauthorized:
        return


# Uploads.


def test_an_upload_counts_hashes_and_passes_its_chunks_through() -> None:
    upload = Upload([b"ab", b"", b"cd"], limit=4, etag=None)
    assert b"".join(upload.chunks()) == b"abcd"
    assert upload.size == 4
    assert upload.finish() == hashlib.md5(b"abcd", usedforsecurity=False).hexdigest() == upload.digest


def test_an_upload_stops_past_its_limit() -> None:
    upload = Upload([b"ab", b"cd", b"e"], limit=4, etag=None)
    with pytest.raises(PayloadTooLarge):
        list(upload.chunks())


def test_an_etag_that_is_not_the_md5_is_unprocessable() -> None:
    upload = Upload([b"abc"], limit=10, etag="0" * 32)
    list(upload.chunks())
    with pytest.raises(Unprocessable):
        upload.finish()
    good = Upload(
        [b"abc"],
        limit=10,
        etag=expected_etag(f'"{hashlib.md5(b"abc", usedforsecurity=False).hexdigest().upper()}"'),
    )
    list(good.chunks())
    assert good.finish() == hashlib.md5(b"abc", usedforsecurity=False).hexdigest()


def test_expected_etag_reads_quoted_and_bare_values() -> None:
    assert expected_etag(None) is None
    assert expected_etag('  "ABC"  ') == "abc"
    assert expected_etag('""') is None


# Names and types.


@pytest.mark.parametrize("name", ["a", "x" * MAX_CONTAINER_NAME_BYTES, "é" * (MAX_CONTAINER_NAME_BYTES // 2)])
def test_container_names_within_swifts_bounds(name: str) -> None:
    check_container_name(name)


@pytest.mark.parametrize("name", ["", "a/b", "x" * (MAX_CONTAINER_NAME_BYTES + 1), "é" * 129, "\udcff"])
def test_container_names_outside_swifts_bounds(name: str) -> None:
    with pytest.raises(Invalid):
        check_container_name(name)


def test_object_names_are_counted_in_utf8_bytes() -> None:
    check_object_name("a/b/c")
    check_object_name("é" * (MAX_OBJECT_NAME_BYTES // 2))
    for bad in ("", "é" * (MAX_OBJECT_NAME_BYTES // 2 + 1), "\udcff"):
        with pytest.raises(Invalid):
            check_object_name(bad)


def test_content_type_given_guessed_or_default() -> None:
    assert content_type_for("x.gz", "application/gzip") == "application/gzip"
    assert content_type_for("x.txt", None) == "text/plain"
    assert content_type_for("x.gz", None) == DEFAULT_CONTENT_TYPE  # as Swift: .gz is an encoding
    with pytest.raises(Invalid):
        content_type_for("x", "a" * 300)
    with pytest.raises(Invalid):
        content_type_for("x", "text/plain\n")


# Listings.


def _info(name: str) -> ObjectInfo:
    return ObjectInfo("p", "c", name, 1, "0" * 32, DEFAULT_CONTENT_TYPE, NOW)


@given(
    names=st.sets(st.text(min_size=1, max_size=5)),
    prefix=st.text(max_size=2),
    marker=st.text(max_size=3),
    limit=st.integers(0, 20),
)
def test_a_listing_page_is_the_sorted_names_after_the_marker_with_the_prefix(
    names: set[str], prefix: str, marker: str, limit: int
) -> None:
    page = listing([_info(n) for n in names], ListingQuery(prefix, marker, limit))
    # Swift orders by UTF-8 bytes; for valid text that is code-point order.
    expected = sorted((n for n in names if n.startswith(prefix) and n > marker), key=lambda n: n.encode())
    assert [info.name for info in page] == expected[:limit]
