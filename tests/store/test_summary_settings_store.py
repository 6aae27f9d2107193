"""Summary settings kept on every store: defaults, whole replacement, per project, and the
state document's export and import (logfiles/summary_settings.py over store.documents)."""

from __future__ import annotations

from logfiles import summary_settings
from logfiles.store import FullStore

MINE = {
    "daily": False,
    "weekly": True,
    "notifications": [{"type": "email", "destination": "ops@example.com"}],
}


def test_settings_are_kept_replaced_whole_and_exported(store: FullStore) -> None:
    documents = store.documents
    assert summary_settings.read(documents, "p") == summary_settings.DEFAULTS
    summary_settings.replace(documents, "p", summary_settings.load({"notifications": [], "daily": True}))
    written = summary_settings.replace(documents, "p", summary_settings.load(MINE))
    assert written.version == 2
    assert summary_settings.read(documents, "p") == MINE
    assert summary_settings.read(documents, "q") == summary_settings.DEFAULTS
    exported = [d for d in documents.export_documents() if d.kind == "summary_settings"]
    assert [(d.project_id, d.id, d.version) for d in exported] == [("p", "summaries", 2)]
    store.reset()
    assert summary_settings.read(documents, "p") == summary_settings.DEFAULTS
