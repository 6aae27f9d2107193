"""The health report's core (logfiles/health.py): the pages' keys and statuses."""

from __future__ import annotations

import pytest

from logfiles import health
from logfiles.errors import NotFound, Unavailable


def sick() -> None:
    raise Unavailable("The storage is not available.", ["store: the database file was removed"])


def url(name: str) -> str:
    return f"/health/{name}"


def test_a_probe_is_offline_only_when_it_raises_unavailable() -> None:
    assert health.probe("cassandra", lambda: None) == health.Status("cassandra", True)
    assert health.probe("cassandra", sick).problems == ("store: the database file was removed",)
    with pytest.raises(ZeroDivisionError):  # a bug stays a bug (a 500), not an offline system
        health.probe("cassandra", lambda: 1 / 0)


def test_the_object_store_is_offline_with_the_store_it_stands_on_without_being_asked() -> None:
    asked: list[str] = []
    down = health.probe("cassandra", sick)
    assert not health.after(down, "swift", lambda: asked.append("swift")).online
    assert asked == []
    up = health.probe("cassandra", lambda: None)
    assert health.after(up, "swift", lambda: asked.append("swift")).online and asked == ["swift"]


def test_the_report_groups_the_systems_under_the_pages_keys_and_is_503_if_any_is_offline() -> None:
    statuses = [
        health.probe("cassandra", sick),
        health.Status("swift", False),
        health.Status("pecan", True, extra={"node": "web-01"}),
    ]
    assert health.report(statuses, url) == {
        "storage": {
            "cassandra": {"online": False, "links": [{"href": "/health/cassandra", "rel": "self"}]},
            "swift": {"online": False, "links": [{"href": "/health/swift", "rel": "self"}]},
        },
        "transport": {
            "pecan": {"online": True, "node": "web-01", "links": [{"href": "/health/pecan", "rel": "self"}]}
        },
    }
    assert health.http_status(statuses) == 503
    assert health.http_status(statuses[2:]) == 200
    assert health.problems(statuses) == ["cassandra: store: the database file was removed", "swift: offline"]


def test_an_unknown_dependent_system_is_not_found_and_named_briefly() -> None:
    for name in health.SYSTEMS:
        health.require_known(name)
    with pytest.raises(NotFound) as caught:
        health.require_known("x" * 1000)
    (error,) = caught.value.errors
    assert error.startswith("dependent_system: 'xxx") and "none of cassandra, swift, pecan" in error
    assert len(error) < 200
