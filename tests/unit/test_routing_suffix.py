"""Which suffix routing may take off a path (SPEC "The whole service": routes also answer with a
trailing slash and a `.json` suffix), and which ids no URL can name because of it."""

from __future__ import annotations

import re

import pytest

from logfiles.api.routing import tolerated_suffix
from logfiles.ids import URL_ID_PATTERN, unreachable


@pytest.mark.parametrize(
    ("path", "suffix"),
    [
        ("/v2/p/agents/", "/"),
        ("/v2/p/agents.json", ".json"),
        ("/v2/p/agents/a.JSON", ".JSON"),
        ("/v2/p/agents/a/events/", "/"),
        ("/v2/", "/"),
        ("/v2.json", ".json"),
        ("/v2/p/agents", None),
        ("/v2/p/agents.xml", None),
        ("/v2.0/tokens/", None),  # Identity's route is not the guide's
        ("/v2.0/tokens.json", None),
        ("/cloudfiles/v1/MossoCloudFS_p/c/o.json", None),
        ("/cloudfiles/v1/MossoCloudFS_p/c/dir/", None),
        ("/_control/requests/", None),
        ("/healthz/", None),
        ("/", None),
        ("/v2/p/jsonx", None),
    ],
)
def test_tolerated_suffix(path: str, suffix: str | None) -> None:
    assert tolerated_suffix(path) == suffix


@pytest.mark.parametrize("value", ["a.json", "A.JSON", "x.Json", "a.xml"])
def test_an_id_ending_in_json_or_xml_is_no_url_id(value: str) -> None:
    assert re.fullmatch(URL_ID_PATTERN, value) is None
    assert unreachable(value) is not None


@pytest.mark.parametrize("value", ["a.jso", "json", "a.jsonx", "a.json.gz", ".json1"])
def test_other_ids_are_url_ids(value: str) -> None:
    assert re.fullmatch(URL_ID_PATTERN, value) is not None
    assert unreachable(value) is None
