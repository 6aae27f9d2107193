"""Schedules (schedule.py): the RRULE fields the create page allows, IANA time zones, and the
next run times on the zone's wall clock, RFC 5545 style (DST gaps and overlaps included)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from dateutil import rrule
from hypothesis import given, settings
from hypothesis import strategies as st

from logfiles import schedule
from logfiles.schedule import Recurrence, format_schedule_time, next_times, parse_recurrence, time_zone

CENTRAL = time_zone("US/Central")
# The create page's example: created 2014-08-05T18:22:21Z, every other hour, US/Central.
START = datetime(2014, 8, 5, 18, 22, 21, 238641, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def shown(times: list[datetime]) -> list[str]:
    return [format_schedule_time(t) for t in times]


def runs(rule: str, zone: str, start: str, now: str, count: int = 3) -> list[str]:
    return shown(next_times([parse_recurrence(rule)], time_zone(zone), at(start), at(now), count))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RRULE:FREQ=HOURLY;INTERVAL=2", Recurrence("HOURLY", 2)),
        ("RRULE:FREQ=DAILY;INTERVAL=1;BYHOUR=14;BYMINUTE=0", Recurrence("DAILY", 1, (), (14,), (0,))),
        (
            "RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=TH;BYHOUR=14;BYMINUTE=0",
            Recurrence("WEEKLY", 1, ("TH",), (14,), (0,)),
        ),
        ("rrule:freq=weekly;byday=fr,mo", Recurrence("WEEKLY", 1, ("MO", "FR"))),
        ("RRULE:FREQ=MINUTELY", Recurrence("MINUTELY")),
    ],
)
def test_the_pages_example_schedules_parse(text: str, expected: Recurrence) -> None:
    assert parse_recurrence(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("FREQ=HOURLY", "must start with 'RRULE:'"),
        ("RRULE:INTERVAL=2", "FREQ is required"),
        ("RRULE:FREQ=SECONDLY", "FREQ=SECONDLY"),
        ("RRULE:FREQ=FORTNIGHTLY", "FREQ=FORTNIGHTLY"),
        ("RRULE:FREQ=DAILY;COUNT=3", "COUNT is not used by Cloud Backup"),
        ("RRULE:FREQ=DAILY;UNTIL=20300101T000000Z", "UNTIL is not used"),
        ("RRULE:FREQ=DAILY;BYSECOND=5", "BYSECOND is not used"),
        ("RRULE:FREQ=DAILY;BYMONTH=5", "BYMONTH is not used"),
        ("RRULE:FREQ=DAILY;FREQ=HOURLY", "FREQ is given twice"),
        ("RRULE:FREQ=DAILY;INTERVAL=0", "INTERVAL=0"),
        ("RRULE:FREQ=DAILY;INTERVAL=1001", "INTERVAL=1001"),
        ("RRULE:FREQ=DAILY;INTERVAL=-1", "INTERVAL=-1"),
        ("RRULE:FREQ=DAILY;INTERVAL=\u0661", "INTERVAL"),  # ARABIC-INDIC DIGIT ONE: not ASCII
        ("RRULE:FREQ=WEEKLY;BYDAY=XX", "BYDAY=XX"),
        ("RRULE:FREQ=MONTHLY;BYDAY=1MO", "BYDAY=1MO"),
        ("RRULE:FREQ=DAILY;BYHOUR=24", "BYHOUR=24"),
        ("RRULE:FREQ=DAILY;BYMINUTE=60", "BYMINUTE=60"),
        ("RRULE:FREQ=DAILY;BYMINUTE=", "is not NAME=VALUE"),
        ("RRULE:FREQ=DAILY;;", "is not NAME=VALUE"),
        ("RRULE:FREQ=DAILY;BYHOUR=" + ",".join(["1"] * 200), "at most 256 characters"),
    ],
)
def test_what_the_page_does_not_allow_is_refused(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        parse_recurrence(text)


@pytest.mark.parametrize("name", ["US/Central", "America/Chicago", "UTC", "Europe/London", "Asia/Kolkata"])
def test_iana_zones_are_accepted(name: str) -> None:
    assert time_zone(name).key == name


@pytest.mark.parametrize(
    "name",
    ["Mars/Base", "", "America", "../../etc/passwd", "/etc/localtime", "us/central", "X" * 200, "localtime"],
)
def test_other_zone_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a time zone of the IANA database"):
        time_zone(name)


def test_the_pages_example_times() -> None:
    """The agent configuration page's `times` for the create page's configuration, and the
    details page's `backups.next.scheduled_time` (the first of them)."""
    times = next_times([parse_recurrence("RRULE:FREQ=HOURLY;INTERVAL=2")], CENTRAL, START, START, 3)
    assert shown(times) == ["2014-08-05T20:22:21Z", "2014-08-05T22:22:21Z", "2014-08-06T00:22:21Z"]


def test_a_daily_time_keeps_its_wall_time_across_dst_in_us_central() -> None:
    # CDT (UTC-5) until 2014-11-02 02:00, then CST (UTC-6): 14:00 local is 19:00Z, then 20:00Z.
    rule = "RRULE:FREQ=DAILY;INTERVAL=1;BYHOUR=14;BYMINUTE=0"
    assert runs(rule, "US/Central", "2014-10-01T00:00:00Z", "2014-11-01T12:00:00Z") == [
        "2014-11-01T19:00:00Z",
        "2014-11-02T20:00:00Z",
        "2014-11-03T20:00:00Z",
    ]
    # And back in spring (2015-03-08 02:00 CST -> 03:00 CDT).
    assert runs(rule, "US/Central", "2015-03-01T00:00:00Z", "2015-03-07T12:00:00Z") == [
        "2015-03-07T20:00:00Z",
        "2015-03-08T19:00:00Z",
        "2015-03-09T19:00:00Z",
    ]


def test_a_weekly_time_across_dst() -> None:
    rule = "RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=TH;BYHOUR=14;BYMINUTE=0"
    assert runs(rule, "US/Central", "2014-10-01T00:00:00Z", "2014-10-27T00:00:00Z") == [
        "2014-10-30T19:00:00Z",
        "2014-11-06T20:00:00Z",
        "2014-11-13T20:00:00Z",
    ]


def test_a_wall_time_in_the_spring_gap_is_read_with_the_offset_before_it() -> None:
    """RFC 5545 3.3.5: 02:30 does not exist on 2015-03-08 in US/Central; it is 02:30 CST."""
    rule = "RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=30"
    assert runs(rule, "US/Central", "2015-03-01T00:00:00Z", "2015-03-07T12:00:00Z") == [
        "2015-03-08T08:30:00Z",  # 02:30 CST (the gap), the same instant as 03:30 CDT
        "2015-03-09T07:30:00Z",  # 02:30 CDT
        "2015-03-10T07:30:00Z",
    ]


def test_a_wall_time_that_happens_twice_is_its_first_occurrence() -> None:
    rule = "RRULE:FREQ=DAILY;BYHOUR=1;BYMINUTE=30"
    assert runs(rule, "US/Central", "2014-10-01T00:00:00Z", "2014-11-01T12:00:00Z", 2) == [
        "2014-11-02T06:30:00Z",  # 01:30 CDT, not 01:30 CST (07:30Z)
        "2014-11-03T07:30:00Z",
    ]


def test_hourly_through_the_spring_gap_has_no_instant_twice() -> None:
    # 00:15 and 01:15 CST, 02:15 (the gap, read as CST) and 03:15 CDT are one instant, 04:15 CDT.
    times = runs("RRULE:FREQ=HOURLY", "US/Central", "2015-03-08T05:15:00Z", "2015-03-08T06:00:00Z", 4)
    assert times == [
        "2015-03-08T06:15:00Z",
        "2015-03-08T07:15:00Z",
        "2015-03-08T08:15:00Z",
        "2015-03-08T09:15:00Z",
    ]
    assert len(set(times)) == len(times)


def test_monthly_skips_months_without_the_day() -> None:
    assert runs("RRULE:FREQ=MONTHLY", "UTC", "2014-01-31T12:00:00Z", "2024-11-01T00:00:00Z") == [
        "2024-12-31T12:00:00Z",
        "2025-01-31T12:00:00Z",
        "2025-03-31T12:00:00Z",
    ]


def test_the_start_is_whole_seconds_and_runs_are_strictly_after_now() -> None:
    times = next_times([parse_recurrence("RRULE:FREQ=MINUTELY")], time_zone("UTC"), START, START, 1)
    assert times == [START.replace(microsecond=0) + timedelta(minutes=1)]
    exactly = START.replace(microsecond=0) + timedelta(minutes=1)
    assert next_times([parse_recurrence("RRULE:FREQ=MINUTELY")], time_zone("UTC"), START, exactly, 1) == [
        exactly + timedelta(minutes=1)
    ]


@pytest.mark.parametrize(
    ("rule", "start"),
    [
        ("RRULE:FREQ=HOURLY;INTERVAL=24;BYHOUR=5", "2024-01-01T03:00:00Z"),  # dateutil: an empty set
        ("RRULE:FREQ=DAILY;INTERVAL=7;BYDAY=TU", "2024-01-01T03:00:00Z"),  # a Monday, every 7 days
    ],
)
def test_a_rule_that_never_runs_is_refused(rule: str, start: str) -> None:
    with pytest.raises(ValueError, match="never runs"):
        schedule.first_runs([parse_recurrence(rule)], time_zone("UTC"), at(start), at(start))


def test_an_old_schedule_costs_no_more_than_a_new_one() -> None:
    """A start decades ago is moved forward by whole periods: the same times, found at once."""
    rule = parse_recurrence("RRULE:FREQ=MINUTELY;INTERVAL=7")
    start = at("1990-01-01T00:00:03Z")
    now = at("2030-06-01T12:00:00Z")
    times = next_times([rule], time_zone("UTC"), start, now, 3)
    assert all((t - start) % timedelta(minutes=7) == timedelta(0) for t in times)
    assert times[0] > now and times[0] - now <= timedelta(minutes=7)


FREQS = ["MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]


@st.composite
def rules(draw: st.DrawFn) -> Recurrence:
    freq = draw(st.sampled_from(FREQS))
    days = draw(st.lists(st.sampled_from(list(schedule.WEEKDAYS)), max_size=3, unique=True))
    hours = draw(st.lists(st.integers(0, 23), max_size=2, unique=True)) if freq != "MINUTELY" else []
    minutes = draw(st.lists(st.integers(0, 59), max_size=2, unique=True))
    return Recurrence(
        freq,
        draw(st.integers(1, 5)),
        tuple(d for d in schedule.WEEKDAYS if d in days),
        tuple(sorted(hours)),
        tuple(sorted(minutes)),
    )


@settings(max_examples=60, deadline=None)
@given(
    rule=rules(),
    zone=st.sampled_from(["UTC", "US/Central", "Europe/London", "Australia/Lord_Howe"]),
    start=st.datetimes(datetime(2010, 1, 1), datetime(2012, 1, 1), timezones=st.just(UTC)),  # noqa: DTZ001
    ahead=st.timedeltas(timedelta(0), timedelta(days=900)),
)
def test_moving_the_start_forward_changes_no_run(
    rule: Recurrence, zone: str, start: datetime, ahead: timedelta
) -> None:
    """The times equal those of dateutil's rule walked from the schedule's own start."""
    tz = time_zone(zone)
    now = start + ahead
    try:
        got = next_times([rule], tz, start, now, 3)
    except ValueError:
        return  # dateutil finds the rule empty; the walk below would find nothing either
    anchor = start.replace(microsecond=0).astimezone(tz).replace(tzinfo=None)
    walls = schedule._rule(rule, anchor, anchor, now.astimezone(tz).replace(tzinfo=None) + schedule.HORIZON)
    expected: list[datetime] = []
    for wall in walls:
        instant = wall.replace(tzinfo=tz).astimezone(UTC)
        if instant > now and (not expected or instant > expected[-1]):
            expected.append(instant)
            if len(expected) == 3:
                break
    assert got == expected


def test_rrule_constants_are_dateutils() -> None:
    assert schedule.FREQUENCIES["WEEKLY"] == rrule.WEEKLY


class _MonthsWalked:
    """Counts the months dateutil's rrule walks (it rebuilds its masks per month or year) and
    fails past `most`: a rule that matches nothing is walked by dateutil up to the year 9999,
    whatever its `until`, which took minutes for a MINUTELY rule."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.count = 0
        self.rebuild = rrule._iterinfo.rebuild

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def rebuild(info: rrule._iterinfo, year: int, month: int) -> None:
            self.count += 1
            assert self.count <= self.most, f"dateutil walked past {self.most} months (at {year}-{month})"
            self.rebuild(info, year, month)

        monkeypatch.setattr(rrule._iterinfo, "rebuild", rebuild)


@pytest.mark.parametrize(
    "rule",
    [
        # Every 7 minutes from a Monday 23:00: a week is 1440 steps, never Tuesday 19:07 or 19:12.
        "RRULE:FREQ=MINUTELY;INTERVAL=7;BYDAY=TU;BYHOUR=19;BYMINUTE=7,12",
        "RRULE:FREQ=MINUTELY;INTERVAL=7;BYDAY=TH,SA;BYHOUR=22,21;BYMINUTE=55,6",
        "RRULE:FREQ=HOURLY;INTERVAL=7;BYDAY=MO;BYHOUR=18",
        "RRULE:FREQ=HOURLY;INTERVAL=168;BYDAY=TU",
        "RRULE:FREQ=DAILY;INTERVAL=7;BYDAY=TU",
        # Runs, but once in 997 weeks: its first run is years past the 5-year horizon.
        "RRULE:FREQ=MINUTELY;INTERVAL=997;BYDAY=MO;BYHOUR=3;BYMINUTE=59",
    ],
)
def test_a_rule_that_never_runs_is_refused_without_walking_to_the_year_9999(
    rule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked = _MonthsWalked(most=12 * 30)
    walked.install(monkeypatch)
    start = at("2026-12-07T23:00:00Z")  # a Monday
    with pytest.raises(ValueError, match="never runs"):
        schedule.first_runs([parse_recurrence(rule)], time_zone("UTC"), start, start)
    assert walked.count <= 12 * 30


def test_a_rule_that_runs_rarely_is_found_within_the_horizon(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every 11 minutes, Mondays at 03:59 only: a run every 11 weeks; the search stops at the
    third, never walking past the horizon."""
    walked = _MonthsWalked(most=12 * 30)
    walked.install(monkeypatch)
    start, now = at("2026-12-07T00:00:00Z"), at("2026-12-07T00:00:00Z")
    times = next_times(
        [parse_recurrence("RRULE:FREQ=MINUTELY;INTERVAL=11;BYDAY=MO;BYHOUR=3;BYMINUTE=59")],
        time_zone("UTC"),
        start,
        now,
        3,
    )
    assert len(times) == 3
    assert all(t.weekday() == 0 and (t.hour, t.minute) == (3, 59) for t in times)
    assert all((t - start) % timedelta(minutes=11) == timedelta(0) for t in times)


def test_a_yearly_rule_with_many_times_a_day_is_not_read_as_never_running() -> None:
    """YEARLY with every day, hour and other minute: its start is moved to a year's start, and
    the walk from there to now (over 200,000 wall times) must not end the search."""
    every = ",".join(str(m) for m in range(0, 60, 2))
    hours = ",".join(str(h) for h in range(24))
    rule = f"RRULE:FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR={hours};BYMINUTE={every}"
    times = runs(rule, "UTC", "2014-08-05T18:22:21Z", "2026-12-07T23:00:00Z")
    assert times == ["2026-12-07T23:02:00Z", "2026-12-07T23:04:00Z", "2026-12-07T23:06:00Z"]
    schedule.first_runs(
        [parse_recurrence(rule)], time_zone("UTC"), at("2014-08-05T18:22:21Z"), at("2026-12-07T23:00:00Z")
    )


@pytest.mark.parametrize("freq", ["MONTHLY", "YEARLY"])
@pytest.mark.parametrize("interval", [1, 2, 3])
def test_a_byday_rule_moved_near_now_runs_as_from_its_start(freq: str, interval: int) -> None:
    rule = parse_recurrence(f"RRULE:FREQ={freq};INTERVAL={interval};BYDAY=MO,TH;BYHOUR=6;BYMINUTE=30")
    zone = time_zone("US/Central")
    start = at("2019-03-14T10:11:12Z")
    for now in (
        "2026-12-07T23:00:00Z",
        "2027-01-01T03:00:00Z",
        "2026-03-08T08:00:00Z",
        "2028-02-29T12:00:00Z",
    ):
        anchor = start.astimezone(zone).replace(tzinfo=None)
        walls = schedule._rule(
            rule, anchor, anchor, at(now).astimezone(zone).replace(tzinfo=None) + schedule.HORIZON
        )
        expected: list[datetime] = []
        for wall in walls:
            instant = wall.replace(tzinfo=zone).astimezone(UTC)
            if instant > at(now) and (not expected or instant > expected[-1]):
                expected.append(instant)
                if len(expected) == 3:
                    break
        assert next_times([rule], zone, start, at(now), 3) == expected, now
