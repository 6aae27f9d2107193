"""The dashboard's pure parts: the timeline's buckets and the state machine's layout."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from logfiles.dashboard import states, timeline
from logfiles.model import ALLOWED, LogFileState

NOW = datetime(2014, 9, 23, 12, 22, 40, 606703, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "name"),
    [(0, "dropped"), (200, "2xx"), (204, "2xx"), (304, "3xx"), (404, "4xx"), (503, "5xx"), (599, "5xx")],
)
def test_status_class(status: int, name: str) -> None:
    assert timeline.status_class(status) == name


def test_buckets_end_with_the_one_that_holds_now_and_are_aligned_on_the_epoch() -> None:
    picture = timeline.build([], NOW, 1, 1)
    assert picture.end == datetime(2014, 9, 23, 12, 22, 41, tzinfo=UTC)
    assert picture.start == picture.end - timedelta(minutes=1)
    tens = timeline.build([], NOW, 5, 10)
    assert (tens.start, tens.end) == (
        datetime(2014, 9, 23, 12, 17, 50, tzinfo=UTC),
        datetime(2014, 9, 23, 12, 22, 50, tzinfo=UTC),
    )


def test_entries_are_counted_by_class_and_those_outside_the_window_left_out() -> None:
    entries = [
        (NOW, 200),
        (NOW, 503),
        (NOW - timedelta(seconds=1), 503),
        (NOW - timedelta(seconds=30), 0),
        (NOW - timedelta(minutes=2), 200),  # before the window
        (NOW + timedelta(seconds=5), 200),  # after now (the clock moved back)
    ]
    picture = timeline.build(entries, NOW, 1, 1)
    assert picture.totals == {"2xx": 1, "3xx": 0, "4xx": 0, "5xx": 2, "dropped": 1}
    assert picture.total == 4
    assert picture.peak_per_second == 2
    assert [bar.css for bar in picture.bars] == ["dropped", "s5xx", "s2xx", "s5xx"]


def test_bars_stack_bottom_up_and_the_tallest_fills_the_height() -> None:
    picture = timeline.build([(NOW, 200), (NOW, 200), (NOW, 404)], NOW, 1, 1)
    ok, missing = picture.bars
    assert ok.y + ok.height == pytest.approx(timeline.HEIGHT)
    assert missing.y + missing.height == pytest.approx(ok.y)
    assert missing.y == pytest.approx(0)
    assert ok.x == missing.x == pytest.approx(timeline.WIDTH * 59 / 60)
    assert ok.title == "12:22:40: 2 2xx in 1 s"


def test_ten_second_buckets_give_requests_per_second() -> None:
    picture = timeline.build([(NOW, 200)] * 20, NOW, 15, 10)
    assert picture.peak_per_second == 2
    assert timeline.default_bucket(5) == 1 and timeline.default_bucket(15) == 10


def test_ticks_fall_on_whole_minutes() -> None:
    picture = timeline.build([], NOW, 5, 1)
    assert [tick.label for tick in picture.ticks] == ["12:18", "12:19", "12:20", "12:21", "12:22"]
    step = timeline.WIDTH / 300
    assert picture.ticks[0].x == pytest.approx(step * 19)  # 12:17:41 + 19 s
    hour = timeline.build([], NOW, 60, 10)
    assert [tick.label for tick in hour.ticks] == ["11:30", "11:40", "11:50", "12:00", "12:10", "12:20"]


def test_the_state_machine_has_a_node_per_state_and_an_edge_per_move() -> None:
    counts = {LogFileState.REQUESTED: 3, LogFileState.STARTED: 2, LogFileState.COMPLETED: 1}
    nodes, edges = states.layout(counts)
    assert [(node.state, node.count) for node in nodes] == [
        ("requested", 3),
        ("started", 2),
        ("completed", 1),
    ]
    assert len(edges) == len([move for move in ALLOWED if move[0] != move[1]])
    assert [edge.title for edge in edges] == [
        "PATCH: requested to started",
        "PATCH: requested to completed",
        "PATCH: started to completed",
    ]
    assert edges[1].path.split()[3] == "C"  # the skip is an arc over `started`


def test_the_pictures_import_no_flask() -> None:
    code = (
        "import sys, logfiles.dashboard.timeline, logfiles.dashboard.states\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
