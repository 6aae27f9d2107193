"""tools/guide_operations.py and the operations list it made (tests/data/guide_operations.json).

The guide is not in the repository, so CI cannot regenerate the list: it checks instead that
the committed entries are what the script makes of a few real pages copied into
tests/data/guide_fixture/, that the reader's leniency works on made-up errata, and that the
committed list is sane (62 operations, one per method and route, well-formed templates).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tools import guide_operations as go

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURE = DATA / "guide_fixture"
COMMITTED: list[dict[str, Any]] = json.loads((DATA / "guide_operations.json").read_text())["operations"]
BY_PAGE = {entry["page"]: entry for entry in COMMITTED}
TEMPLATE = re.compile(r"/|/v2/\{project_id\}(/([a-z]+(-[a-z]+)*|\{[a-z]+(_[a-z]+)*\}))+")


def test_the_committed_entries_are_what_the_script_makes_of_the_same_pages() -> None:
    made = go.read_guide(FIXTURE)
    assert len(made) == 4
    for entry in made:
        assert entry == BY_PAGE[entry["page"]], entry["page"]


def test_the_script_writes_the_file_it_reads_back(tmp_path: Path) -> None:
    output = tmp_path / "ops.json"
    assert go.main([str(FIXTURE), "--output", str(output)]) == 0
    assert json.loads(output.read_text()) == {"operations": go.read_guide(FIXTURE)}


def test_the_script_refuses_a_directory_that_is_not_the_guide(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        go.main([str(tmp_path), "--output", str(tmp_path / "ops.json")])


def test_fixture_pages_show_the_errata_as_problems_not_failures() -> None:
    made = {entry["label"]: entry for entry in go.read_guide(FIXTURE)}
    versions = made["service-version-list"]
    assert (versions["method"], versions["path"], versions["section"]) == ("GET", "/", "service-versions")
    assert versions["requests"][0]["path"] == "/"
    assert "url: none on the request line" in versions["requests"][0]["problems"][0]
    update = made["patch-update-a-configuration"]
    request = update["requests"][0]
    assert request["path"] == "/v2/110011/v2/configurations/7c8ee069-568f-4d5a-932f-fb2af86b5fd5"
    assert request["path_params"] == {
        "project_id": "110011",
        "configuration_id": "7c8ee069-568f-4d5a-932f-fb2af86b5fd5",
    }
    assert any("doubled '/v2/'" in p for p in request["problems"])
    assert request["body"] == [{"op": "replace", "path": "/enabled", "value": True}]
    create = made["post-create-a-configuration"]
    assert create["section"] == "bu2-config-operations"
    (response,) = create["responses"]
    assert response["status"] == 201
    assert [
        "Location",
        "https://cloudbackupapi.apiary-mock.com/v2/configurations/7c8ee069-568f-4d5a-932f-fb2af86b5fd5",
    ] in response["headers"]
    assert "location: no project id after /v2/ (erratum)" in response["problems"]
    agent = made["patch-update-an-agent"]
    assert [r["status"] for r in agent["responses"]] == [204, 403, 404]
    assert agent["responses"][2]["body"] == {"message": "Agent not found."}
    assert agent["responses"][2]["headers"] == [["Content-Type", "application/json"]]
    assert agent["response_codes"] == [204, 400, 401, 403, 404, 405, 409, 500, 501, 503]


PAGE = """.. _post-thing:

Make a thing
~~~~~~~~~~~~

.. code::

    POST /v2/{project_id}/things

+---------------+-----------------+
|Response code  |Name             |
+===============+=================+
|201            | Created         |
+---------------+-----------------+
|400            | Bad Request     |
+---------------+-----------------+

**Example: Make a thing, JSON request**

.. code::

   POST https://dfw.example/v2/110011//things?x=1&y=2 HTTP/1.1
   Content-type:application/json

.. code::

   {"name": "a", // a comment
    "tags": ["b",],}

**Example: Make a thing, JSON 409 response**

.. code::

   409 (Conflict)
   Content-Type: application/json
   {
     "message": "taken"
   }

.. code::

   not a known block
"""


def test_a_made_up_page_with_every_erratum() -> None:
    entry = go.read_page(PAGE, "things.rst", None)
    assert (entry["label"], entry["title"], entry["method"], entry["path"]) == (
        "post-thing",
        "Make a thing",
        "POST",
        "/v2/{project_id}/things",
    )
    assert entry["response_codes"] == [201, 400]
    (request,) = entry["requests"]
    assert request["title"] == "Make a thing, JSON request"
    assert (request["path"], request["query"]) == ("/v2/110011//things", "x=1&y=2")
    assert request["path_params"] == {"project_id": "110011"}
    assert request["headers"] == [["Content-type", "application/json"]]
    assert request["body"] == {"name": "a", "tags": ["b"]}
    assert any("comments" in p for p in request["problems"])
    assert any("trailing commas" in p for p in request["problems"])
    assert any("doubled '//'" in p for p in request["problems"])
    (response,) = entry["responses"]
    assert (response["status"], response["reason"], response["body"]) == (
        409,
        "Conflict",
        {"message": "taken"},
    )
    assert entry["problems"] == [
        "line 42: a code block that is no route, request, response or body: 'not a known block'"
    ]


def test_a_body_that_is_no_json_is_kept_as_text() -> None:
    page = PAGE.replace('{"name": "a", // a comment', "{name: a")
    (request,) = go.read_page(page, "things.rst", None)["requests"]
    assert request["body"] is None
    assert request["body_text"].strip().startswith("{name: a")
    assert request["problems"][-1].startswith("body: not JSON (line 1 column 5: Expecting property name")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": "x // not a comment, ]"}', {"a": "x // not a comment, ]"}),
        ('{"a": "\\"", /* gone */ "b": [1, 2,],}', {"a": '"', "b": [1, 2]}),
    ],
)
def test_leniency_keeps_strings_as_they_are(text: str, expected: Any) -> None:
    assert go.parse_body(text)[0] == expected


def test_a_path_that_does_not_fit_its_route_is_a_problem() -> None:
    page = PAGE.replace("110011//things", "110011/other")
    (request,) = go.read_page(page, "things.rst", None)["requests"]
    assert request["path_params"] is None
    assert any("does not match the route" in p for p in request["problems"])


# The committed list.


def test_the_committed_list_has_the_62_operations_of_the_contract() -> None:
    assert len(COMMITTED) == 62  # SPEC "The whole service": 62 with the versions document
    assert len({(e["method"], e["path"]) for e in COMMITTED}) == 62
    assert len({e["page"] for e in COMMITTED}) == 62
    assert len({e["label"] for e in COMMITTED}) == 62


@pytest.mark.parametrize("entry", COMMITTED, ids=[f"{e['method']} {e['path']}" for e in COMMITTED])
def test_every_committed_operation_is_well_formed(entry: dict[str, Any]) -> None:
    assert entry["method"] in go.METHODS
    assert TEMPLATE.fullmatch(entry["path"]), entry["path"]
    assert entry["title"] and entry["section"]
    assert entry["requests"], "every page shows its request"
    for request in entry["requests"]:
        assert request["method"] == entry["method"]
        assert request["path_params"] is not None
        assert set(request["path_params"]) == set(go.PLACEHOLDER.findall(entry["path"]))
    for response in entry["responses"]:
        if entry["response_codes"]:
            assert response["status"] in entry["response_codes"]
        assert "body_text" not in response, response["problems"]
