"""LOGFILES_CORS_ORIGINS: off when unset, a list of origins as browsers send them, or `*`."""

from __future__ import annotations

import pytest

from logfiles.config import Settings
from logfiles.errors import ConfigError

VARIABLE = "LOGFILES_CORS_ORIGINS"


def origins(value: str) -> tuple[str, ...]:
    return Settings.from_env({VARIABLE: value}).cors_origins


@pytest.mark.parametrize("value", ["", "   "])
def test_unset_or_empty_is_off(value: str) -> None:
    assert Settings.from_env({}).cors_origins == ()
    assert origins(value) == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("*", ("*",)),
        (" * ", ("*",)),
        ("http://localhost:3000", ("http://localhost:3000",)),
        (
            "http://localhost:3000,http://127.0.0.1:5173",
            ("http://localhost:3000", "http://127.0.0.1:5173"),
        ),
        # Spaces around entries are ignored, a repeat is dropped, the order is kept.
        (
            " https://b.example , http://a.example:8080 , https://b.example ",
            ("https://b.example", "http://a.example:8080"),
        ),
        ("http://[::1]:3000", ("http://[::1]:3000",)),
        ("https://app.example.com", ("https://app.example.com",)),
        # Scheme and host compare case-insensitively (as flask-cors does), so either case is taken.
        ("HTTP://LocalHost:3000", ("HTTP://LocalHost:3000",)),
        ("http://localhost:65535", ("http://localhost:65535",)),
        ("https://a.example:80", ("https://a.example:80",)),  # 80 is not https's default
    ],
)
def test_good_values(value: str, expected: tuple[str, ...]) -> None:
    assert origins(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("localhost:3000", "is not an origin (scheme://host[:port])"),
        ("http//localhost", "is not an origin (scheme://host[:port])"),
        ("ftp://files.example", "the scheme must be http or https"),
        ("file:///tmp/page.html", "the scheme must be http or https"),
        ("http://localhost:3000/", "has a path, query or fragment"),
        ("http://localhost:3000/app", "has a path, query or fragment"),
        ("http://localhost?x=1", "has a path, query or fragment"),
        ("http://localhost#top", "has a path, query or fragment"),
        ("http://user@localhost", "has user info"),
        ("http://localhost:0", "is not an integer from 1 to 65535"),
        ("http://localhost:65536", "is not an integer from 1 to 65535"),
        ("http://localhost:03000", "is not an integer from 1 to 65535"),
        ("http://localhost:", "is not an integer from 1 to 65535"),
        ("http://localhost:x", "is not an integer from 1 to 65535"),
        ("http://localhost:80", "80 is http's default port"),
        ("https://localhost:443", "443 is https's default port"),
        ("http://", "is not a host name or IPv4 address"),
        ("http://*.example.com", "is not a host name or IPv4 address"),
        ("http://300.1.1.1", "is not a host name or IPv4 address"),
        ("http://-bad-.example", "is not a host name or IPv4 address"),
        ("http://[::1", "an IPv6 host is [address] or [address]:port"),
        ("http://[::1]x", "an IPv6 host is [address] or [address]:port"),
        ("http://[nope]:3000", "is not an IPv6 address"),
        ("http://[0:0::1]:3000", "write the address as browsers send it, [::1]"),
        ("http://local host", "printable ASCII without spaces"),
        ("http://bücher.example", "in its xn-- form"),
        ("http://a\x07", "printable ASCII without spaces"),
        ("null", "'null' is the origin of file:// and sandboxed pages"),
        ("*,http://localhost:3000", "'*' allows every origin: give it alone"),
        ("http://localhost:3000,*", "'*' allows every origin: give it alone"),
        ("http://a.example,,http://b.example", "has an empty entry"),
        ("http://a.example,", "has an empty entry"),
        (",http://a.example", "has an empty entry"),
        # The second entry is checked as well as the first.
        ("http://a.example,http://b.example/", "'http://b.example/' has a path"),
    ],
)
def test_bad_value_stops_start_up_with_one_line(value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        origins(value)
    message = str(info.value)
    assert info.value.variable == VARIABLE
    assert message.startswith(f"{VARIABLE}: ")
    assert reason in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "value",
    [
        "http://example.com/" + "x" * 5000,
        "http://localhost:" + "9" * 5000,
        "http://" + "x" * 5000,
        "http://[" + "1" * 5000 + "]",
    ],
    # The port: a ConfigError, not int()'s ValueError for a string of over 4,300 digits.
    ids=["long-path", "port-of-5000-digits", "long-host", "long-ipv6"],
)
def test_a_long_bad_value_is_clipped_in_the_message(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        origins(value)
    assert len(str(info.value)) < 300


@pytest.mark.parametrize(
    "value",
    [("http://localhost:3000/",), ("*", "http://localhost:3000"), ("null",), ("http://localhost:80",)],
)
def test_settings_made_in_code_are_checked_too(value: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as info:
        Settings(cors_origins=value)
    assert info.value.variable == VARIABLE
