"""A project's summary settings: what GET shows and how PUT keeps them (no Flask here).

One document per project, kind SUMMARY_SETTINGS, id "summaries", in the generic document store
(docs/storage.md). SPEC: GET before any PUT answers the values of the page's example; PUT
replaces them whole (a member the body leaves out takes the schema's default, not the value
kept before). No event: no feed page names one for settings.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError

from .documents import Document
from .errors import Conflict, Invalid, NotFound
from .kinds import SUMMARY_SETTINGS
from .schemas.base import flatten_messages
from .schemas.settings import SUMMARY_SETTINGS as SCHEMA
from .store.documents import DocumentStore

DOCUMENT_ID = "summaries"
MESSAGE = "The summary settings are not valid."
# The retrieve page's example: what a project that never PUT its settings reads.
DEFAULTS: Mapping[str, Any] = {
    "daily": True,
    "weekly": False,
    "notifications": [
        {"type": "email", "destination": "email1@example.com"},
        {"type": "email", "destination": "email2@example.com"},
    ],
}
# A PUT that keeps losing to other writers (each of which replaced the settings whole) gives up.
_ATTEMPTS = 10


def load(data: Any) -> dict[str, Any]:
    """The update page's body, checked: Invalid listing every problem (`notifications.0.type: ...`)."""
    try:
        body: dict[str, Any] = SCHEMA.load(data)
    except ValidationError as exc:
        raise Invalid(MESSAGE, flatten_messages(exc.messages)) from None
    return body


def _notification(item: Any) -> dict[str, str] | None:
    if not isinstance(item, Mapping):
        return None
    kind, destination = item.get("type"), item.get("destination")
    if not isinstance(kind, str) or not isinstance(destination, str):
        return None
    return {"type": kind, "destination": destination}


def shown(body: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as the retrieve page shows them, in its order.

    Read leniently: a document imported through the state document may hold any body; a member
    that is not what PUT keeps shows as false (the booleans) or is left out (a notification).
    """
    notifications = body.get("notifications")
    items = notifications if isinstance(notifications, list) else []
    return {
        "daily": body.get("daily") is True,
        "weekly": body.get("weekly") is True,
        "notifications": [n for n in map(_notification, items) if n is not None],
    }


def read(documents: DocumentStore, project_id: str) -> dict[str, Any]:
    """The project's settings as shown: those kept, else the page's example."""
    try:
        document = documents.get(SUMMARY_SETTINGS, project_id, DOCUMENT_ID)
    except NotFound:
        return copy.deepcopy(dict(DEFAULTS))
    return shown(document.body)


def replace(documents: DocumentStore, project_id: str, body: Mapping[str, Any]) -> Document:
    """Keep `body` (loaded) as the project's settings, whole: create the document, or put it at
    the version read; a writer that won meanwhile is simply replaced (last writer wins)."""
    new = Document(SUMMARY_SETTINGS.name, project_id, DOCUMENT_ID, dict(body))
    for _ in range(_ATTEMPTS):
        try:
            current = documents.get(SUMMARY_SETTINGS, project_id, DOCUMENT_ID)
        except NotFound:
            try:
                return documents.create(SUMMARY_SETTINGS, new)
            except Conflict:
                continue  # created meanwhile: replace that one
        try:
            written = documents.put(SUMMARY_SETTINGS, new, current.version)
        except NotFound:
            continue  # removed meanwhile (a reset): create it again
        if written.ok:
            return written.document
    raise Conflict(
        "The summary settings changed too often to be replaced; try again.",
        [f"settings: {_ATTEMPTS} other writers replaced them first"],
    )
