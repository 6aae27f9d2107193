"""A big seed or export works in pieces and pauses between them (issue 20, point 3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import count

import pytest

from logfiles.errors import Conflict
from logfiles.model import LogFile, LogFileState
from logfiles.pacing import PIECE, cooperative_pause, no_pause, paced, pieces
from logfiles.seeding import build_seed
from logfiles.state_document import read_state_document
from logfiles.store import MemoryStore
from tests.store.helpers import make_agent

WHEN = datetime(2024, 1, 1, tzinfo=UTC)


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def test_paced_pauses_after_every_piece_and_keeps_every_item() -> None:
    pause = Counter()
    assert list(paced(range(2500), pause, every=1000)) == list(range(2500))
    assert pause.calls == 2


def test_pieces_pause_between_slices_only() -> None:
    pause = Counter()
    assert [len(piece) for piece in pieces(list(range(2500)), pause, size=1000)] == [1000, 1000, 500]
    assert pause.calls == 2


def test_cooperative_pause_is_a_no_op_outside_gevent() -> None:
    assert cooperative_pause() is no_pause


def test_a_big_seed_pauses_while_read_built_and_imported() -> None:
    size = 5 * PIECE
    document = {
        "agents": [{"id": "a", "project_id": "p"}],
        "logfiles": [{"id": f"l{n}", "agent_id": "a"} for n in range(size)],
        "generate": [{"agent_id": "a", "count": size}],
    }
    reading, building, importing = Counter(), Counter(), Counter()
    read = read_state_document(json.dumps(document).encode(), reading)
    ids = count()
    seed = build_seed(read, WHEN, lambda: f"g{next(ids)}", None, building)
    store = MemoryStore()
    store.import_state(seed.agents, seed.logfiles, replace=False, pause=importing)
    assert len(store.export_state().logfiles) == 2 * size
    assert reading.calls >= 5
    assert building.calls >= 9
    assert importing.calls >= 9


def test_an_import_refused_half_way_changes_nothing() -> None:
    store = MemoryStore()
    store.import_state([make_agent("a")], [], replace=False)
    logfiles = [LogFile(f"l{n}", "110011", "a", WHEN, LogFileState.REQUESTED) for n in range(3 * PIECE)]
    logfiles.append(LogFile("l0", "110011", "a", WHEN, LogFileState.REQUESTED))  # taken: a 409
    with pytest.raises(Conflict):
        store.import_state([], logfiles, replace=False, pause=Counter())
    assert [a.id for a in store.export_state().agents] == ["a"]
    assert store.export_state().logfiles == []
