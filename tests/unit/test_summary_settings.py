"""Summary settings' core (logfiles/summary_settings.py, schemas/settings.py), from the retrieve
and update pages: the update page's body and its bounds, what GET shows before and after a PUT,
and a PUT that replaces whole, on the memory store's documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from logfiles import summary_settings
from logfiles.documents import Document
from logfiles.errors import Conflict, Invalid
from logfiles.kinds import SUMMARY_SETTINGS
from logfiles.schemas.configurations import MAX_NOTIFICATIONS
from logfiles.store.memory import MemoryStore

OPERATIONS = json.loads((Path(__file__).resolve().parents[1] / "data" / "guide_operations.json").read_text())
PAGES = {(op["method"], op["path"]): op for op in OPERATIONS["operations"]}
ROUTE = "/v2/{project_id}/settings/summaries"
GET_EXAMPLE: dict[str, Any] = PAGES[("GET", ROUTE)]["responses"][0]["body"]
PUT_EXAMPLE: dict[str, Any] = PAGES[("PUT", ROUTE)]["requests"][0]["body"]


def problems(data: Any) -> list[str]:
    with pytest.raises(Invalid) as caught:
        summary_settings.load(data)
    return caught.value.errors


def test_the_update_pages_example_loads_as_sent() -> None:
    assert summary_settings.load(PUT_EXAMPLE) == PUT_EXAMPLE


def test_notifications_are_required_and_the_booleans_are_not() -> None:
    assert problems({"daily": True}) == ["notifications: Missing data for required field."]
    assert summary_settings.load({"notifications": []}) == {
        "daily": False,
        "weekly": False,
        "notifications": [],
    }


def test_every_problem_is_listed_with_where_it_is() -> None:
    found = problems(
        {
            "daily": "yes",
            "weekly": 1,
            "notifications": [{"type": "", "destination": "a@example.com"}, {"type": "email"}, "x"],
            "monthly": True,
        }
    )
    assert sorted(found) == sorted(
        [
            "daily: Not a valid boolean.",
            "weekly: Not a valid boolean.",
            "notifications.0.type: must be 1 to 64 characters",
            "notifications.1.destination: Missing data for required field.",
            "notifications.2: must be a JSON object",
            "monthly: Unknown field.",
        ]
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([PUT_EXAMPLE], "body: must be a JSON object"),
        ({"notifications": None}, "notifications: Field may not be null."),
        ({"notifications": {}}, "notifications: Not a valid list."),
        ({"notifications": [{"type": "email", "destination": "d", "on_failure": True}]},
         "notifications.0.on_failure: Unknown field."),
        ({"notifications": [{"type": "t" * 65, "destination": "d"}]},
         "notifications.0.type: must be 1 to 64 characters"),
        ({"notifications": [{"type": "email", "destination": "d" * 1025}]},
         "notifications.0.destination: must be 1 to 1024 characters"),
        ({"notifications": [{"type": "email", "destination": "d"}] * (MAX_NOTIFICATIONS + 1)},
         f"notifications: at most {MAX_NOTIFICATIONS} items, not {MAX_NOTIFICATIONS + 1}"),
        ({"daily": None, "notifications": []}, "daily: Field may not be null."),
    ],
)  # fmt: skip
def test_types_and_bounds(data: Any, expected: str) -> None:
    assert problems(data) == [expected]


def test_the_bounds_themselves_are_accepted() -> None:
    item = {"type": "t" * 64, "destination": "d" * 1024}
    loaded = summary_settings.load({"notifications": [item] * MAX_NOTIFICATIONS})
    assert len(loaded["notifications"]) == MAX_NOTIFICATIONS


def test_before_any_put_a_project_reads_the_retrieve_pages_example() -> None:
    documents = MemoryStore().documents
    shown = summary_settings.read(documents, "p")
    assert shown == GET_EXAMPLE
    shown["notifications"].clear()  # the caller's copy, not the defaults
    assert summary_settings.read(documents, "p") == GET_EXAMPLE


def test_a_put_replaces_the_settings_whole_per_project() -> None:
    documents = MemoryStore().documents
    first = summary_settings.replace(documents, "p", summary_settings.load(PUT_EXAMPLE))
    assert (first.id, first.version) == ("summaries", 1)
    only = summary_settings.load({"notifications": [{"type": "sms", "destination": "+1"}]})
    second = summary_settings.replace(documents, "p", only)
    assert second.version == 2
    assert summary_settings.read(documents, "p") == {
        "daily": False,
        "weekly": False,
        "notifications": [{"type": "sms", "destination": "+1"}],
    }
    assert summary_settings.read(documents, "q") == GET_EXAMPLE


def test_a_put_that_loses_to_another_writer_replaces_what_won() -> None:
    documents = MemoryStore().documents
    summary_settings.replace(documents, "p", summary_settings.load(PUT_EXAMPLE))

    class Racing:
        """Another writer replaces the settings between each read and write, twice."""

        def __init__(self) -> None:
            self.races = 2

        def get(self, *args: Any) -> Document:
            found = documents.get(*args)
            if self.races:
                self.races -= 1
                documents.put(SUMMARY_SETTINGS, found, found.version)
            return found

        def __getattr__(self, name: str) -> Any:
            return getattr(documents, name)

    mine = summary_settings.load({"weekly": True, "notifications": []})
    written = summary_settings.replace(Racing(), "p", mine)
    assert written.version == 4
    assert summary_settings.read(documents, "p") == {"daily": False, "weekly": True, "notifications": []}


def test_a_put_that_always_loses_gives_up_with_a_conflict() -> None:
    documents = MemoryStore().documents
    summary_settings.replace(documents, "p", summary_settings.load(PUT_EXAMPLE))

    class AlwaysRacing:
        def get(self, *args: Any) -> Document:
            found = documents.get(*args)
            documents.put(SUMMARY_SETTINGS, found, found.version)
            return found

        def __getattr__(self, name: str) -> Any:
            return getattr(documents, name)

    with pytest.raises(Conflict):
        summary_settings.replace(AlwaysRacing(), "p", PUT_EXAMPLE)


def test_an_imported_body_of_any_shape_is_shown_leniently() -> None:
    odd = {"daily": "yes", "weekly": True, "notifications": [{"type": "email", "destination": 5}, 3, {}, {
        "type": "email", "destination": "a@example.com", "extra": 1}]}  # fmt: skip
    assert summary_settings.shown(odd) == {
        "daily": False,
        "weekly": True,
        "notifications": [{"type": "email", "destination": "a@example.com"}],
    }
    assert summary_settings.shown({"notifications": "x"}) == {
        "daily": False,
        "weekly": False,
        "notifications": [],
    }
