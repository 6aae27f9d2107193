"""The log-file state machine, cell by cell of SPEC's transition table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from logfiles.errors import Conflict
from logfiles.model import TIME_FORMAT, LogFile, LogFileState, change_state, format_time, parse_time

R, S, C = LogFileState.REQUESTED, LogFileState.STARTED, LogFileState.COMPLETED
WHEN = datetime(2014, 9, 23, 12, 22, 40, 606703, tzinfo=UTC)


def logfile(state: LogFileState) -> LogFile:
    return LogFile(id="l", project_id="p", agent_id="a", date=WHEN, state=state)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (R, S, True),
        (R, C, True),
        (S, S, True),
        (S, C, True),
        (C, S, False),
        (C, C, True),
        # Nothing may go back to `requested`, not even from `requested`.
        (R, R, False),
        (S, R, False),
        (C, R, False),
    ],
)
def test_change_state_follows_the_transition_table(
    current: LogFileState, target: LogFileState, allowed: bool
) -> None:
    if allowed:
        assert change_state(logfile(current), [target]).state is target
    else:
        with pytest.raises(Conflict) as info:
            change_state(logfile(current), [target])
        assert str(current) in info.value.message and str(target) in info.value.message
        assert info.value.errors == [f"/0/value: cannot go from '{current}' to '{target}'"]


def test_change_state_applies_every_step_in_order() -> None:
    assert change_state(logfile(R), [S, S, C, C]).state is C


def test_change_state_is_all_or_nothing_when_a_later_step_is_illegal() -> None:
    original = logfile(R)
    with pytest.raises(Conflict) as info:
        change_state(original, [C, S])
    assert info.value.errors == ["/1/value: cannot go from 'completed' to 'started'"]
    assert original.state is R


def test_change_state_same_value_returns_the_same_object() -> None:
    original = logfile(S)
    assert change_state(original, [S]) is original


def test_format_time_is_iso_utc_with_microseconds_and_z() -> None:
    assert format_time(WHEN) == "2014-09-23T12:22:40.606703Z"
    other_zone = WHEN.astimezone(timezone(timedelta(hours=-5)))
    assert format_time(other_zone) == "2014-09-23T12:22:40.606703Z"
    assert format_time(WHEN.replace(microsecond=0)) == "2014-09-23T12:22:40.000000Z"


@pytest.mark.parametrize("microsecond", [0, 1, 606703, 999999])
def test_format_time_matches_the_strftime_format(microsecond: int) -> None:
    moment = WHEN.replace(microsecond=microsecond)
    assert format_time(moment) == moment.strftime(TIME_FORMAT)


def test_parse_time_round_trips_and_rejects_naive_times() -> None:
    assert parse_time(format_time(WHEN)) == WHEN
    assert parse_time("2014-09-23T07:22:40.606703-05:00") == WHEN
    with pytest.raises(ValueError, match="no timezone"):
        parse_time("2014-09-23T12:22:40")
