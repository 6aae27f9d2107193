"""A configuration's schedule: its RRULE read as the guide allows, and its next run times.

The create page: "Cloud Backup uses *only the fields shown* in the example schedules", which
are FREQ, INTERVAL, BYDAY, BYHOUR and BYMINUTE; any other field is refused rather than
silently ignored. Times are computed by python-dateutil's rrule in the schedule's IANA time
zone (zoneinfo, with the tzdata package where the system has no zone data), RFC 5545 style:
the rule runs on the zone's wall clock, a wall time that does not exist (a spring-forward
gap) is read with the offset before the gap, and one that occurs twice (fall back) as its
first occurrence. No Flask here: the pure core.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil import rrule

from .model import parse_time

# The FREQ values a recurrence may name: SECONDLY is refused (no backup runs every second).
FREQUENCIES: dict[str, Any] = {
    "MINUTELY": rrule.MINUTELY,
    "HOURLY": rrule.HOURLY,
    "DAILY": rrule.DAILY,
    "WEEKLY": rrule.WEEKLY,
    "MONTHLY": rrule.MONTHLY,
    "YEARLY": rrule.YEARLY,
}
# The length of one period, for moving a rule's start close to now (see `next_times`);
# months and years have no fixed length and are few enough to walk from any start.
_PERIODS = {
    "MINUTELY": timedelta(minutes=1),
    "HOURLY": timedelta(hours=1),
    "DAILY": timedelta(days=1),
    "WEEKLY": timedelta(weeks=1),
}
WEEKDAYS = {
    "MO": rrule.MO,
    "TU": rrule.TU,
    "WE": rrule.WE,
    "TH": rrule.TH,
    "FR": rrule.FR,
    "SA": rrule.SA,
    "SU": rrule.SU,
}
FIELDS = ("FREQ", "INTERVAL", "BYDAY", "BYHOUR", "BYMINUTE")
PREFIX = "RRULE:"
MAX_RECURRENCE_LENGTH = 256
MAX_INTERVAL = 1000
MAX_TIME_ZONE_LENGTH = 64
# A rule with no run within this long after now is refused ("never runs"): it bounds the
# search a rule that matches nothing would otherwise make, up to the year 9999.
HORIZON = timedelta(days=5 * 366)
# And the walk through a rule's wall times stops after this many, whatever the rule.
MAX_WALK = 200_000
# dateutil checks `until` only on a wall time that passed the BY filters: a MINUTELY, HOURLY or
# DAILY rule whose BYDAY (or, finer than its FREQ, BYHOUR/BYMINUTE) no step ever meets is walked
# to the year 9999 (minutes of work). Those filters repeat every week, so how many steps meet
# them is counted first (`_walk_bound`, at most one week's minutes of arithmetic), and dateutil
# is asked for no more wall times than there are: none, it is not walked at all.
_WEEK_MINUTES = 7 * 24 * 60
_UNIT_MINUTES = {"MINUTELY": 1, "HOURLY": 60, "DAILY": 24 * 60}


@dataclass(frozen=True, slots=True)
class Recurrence:
    """An RRULE as the guide uses it. `byhour`/`byminute` empty: as RFC 5545, from the start."""

    freq: str
    interval: int = 1
    byday: tuple[str, ...] = ()
    byhour: tuple[int, ...] = ()
    byminute: tuple[int, ...] = ()


def _numbers(name: str, text: str, top: int) -> tuple[int, ...]:
    values = []
    for part in text.split(","):
        if not (part.isascii() and part.isdigit() and len(part) <= 2 and int(part) <= top):
            raise ValueError(f"{name}={text}: each value must be a whole number from 0 to {top}")
        values.append(int(part))
    return tuple(sorted(set(values)))


def parse_recurrence(text: str) -> Recurrence:
    """`RRULE:FREQ=...;INTERVAL=...`; ValueError with one sentence saying what is wrong."""
    if len(text) > MAX_RECURRENCE_LENGTH:
        raise ValueError(f"at most {MAX_RECURRENCE_LENGTH} characters")
    if not text.upper().startswith(PREFIX):
        raise ValueError(f"must start with '{PREFIX}' (e.g. RRULE:FREQ=HOURLY;INTERVAL=2)")
    parts: dict[str, str] = {}
    for item in text[len(PREFIX) :].split(";"):
        name, equals, value = item.partition("=")
        name = name.strip().upper()
        if not equals or not value:
            raise ValueError(f"'{item}' is not NAME=VALUE")
        if name not in FIELDS:
            raise ValueError(f"{name} is not used by Cloud Backup (only {', '.join(FIELDS)})")
        if name in parts:
            raise ValueError(f"{name} is given twice")
        parts[name] = value.strip().upper()
    freq = parts.get("FREQ")
    if freq is None:
        raise ValueError("FREQ is required")
    if freq not in FREQUENCIES:
        raise ValueError(f"FREQ={freq}: must be one of {', '.join(FREQUENCIES)}")
    interval_text = parts.get("INTERVAL", "1")
    digits = interval_text.isascii() and interval_text.isdigit() and len(interval_text) <= 4
    if not (digits and 1 <= int(interval_text) <= MAX_INTERVAL):
        raise ValueError(f"INTERVAL={interval_text}: must be a whole number from 1 to {MAX_INTERVAL}")
    byday: tuple[str, ...] = ()
    if "BYDAY" in parts:
        days = parts["BYDAY"].split(",")
        unknown = [day for day in days if day not in WEEKDAYS]
        if unknown:
            raise ValueError(f"BYDAY={parts['BYDAY']}: days are {', '.join(WEEKDAYS)}")
        byday = tuple(day for day in WEEKDAYS if day in days)
    byhour = _numbers("BYHOUR", parts["BYHOUR"], 23) if "BYHOUR" in parts else ()
    byminute = _numbers("BYMINUTE", parts["BYMINUTE"], 59) if "BYMINUTE" in parts else ()
    return Recurrence(freq, int(interval_text), byday, byhour, byminute)


# Files of the system's zone directory that are no zone of the IANA database: `localtime` is
# the host's own zone (a link to /etc/localtime), which a schedule must not depend on.
_NOT_IANA = frozenset({"localtime", "posixrules"})


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_IANA


def time_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone `name` names (e.g. `US/Central`, `America/Chicago`, `UTC`); ValueError else
    (also for a listed zone whose file cannot be read)."""
    refused = f"'{name[:MAX_TIME_ZONE_LENGTH]}' is not a time zone of the IANA database"
    if len(name) > MAX_TIME_ZONE_LENGTH or name not in _zone_names():
        raise ValueError(refused)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, OSError, ValueError):
        raise ValueError(refused) from None


def schedule_start(moment: datetime) -> datetime:
    """A schedule's start as the pages show it: whole seconds (`2014-08-05T18:22:21Z`)."""
    return moment.astimezone(UTC).replace(microsecond=0)


def parse_start(text: str) -> datetime:
    """A kept `schedule.start` (`2014-08-05T18:22:21Z`) back into a time."""
    return parse_time(text)


def format_schedule_time(moment: datetime) -> str:
    """`2014-08-05T20:22:21Z`: the pages' schedule times carry whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rule(recurrence: Recurrence, start: datetime, anchor: datetime, until: datetime) -> rrule.rrule:
    """The dateutil rule from `start` (moved forward from `anchor`, the schedule's own start,
    by whole periods: the BY values RFC 5545 takes from the start are taken from `anchor`)."""
    # RFC 5545: a BY field left out takes the start's value; the pages' examples give BYHOUR
    # and BYMINUTE and mean "at 14:00", so then the seconds are 0, not the start's.
    second = 0 if recurrence.byhour or recurrence.byminute else None
    monthday = month = None
    if not recurrence.byday and recurrence.freq in ("MONTHLY", "YEARLY"):
        monthday = anchor.day
        month = anchor.month if recurrence.freq == "YEARLY" else None
    return rrule.rrule(
        FREQUENCIES[recurrence.freq],
        dtstart=start,
        interval=recurrence.interval,
        byweekday=[WEEKDAYS[day] for day in recurrence.byday] or None,
        byhour=recurrence.byhour or None,
        byminute=recurrence.byminute or None,
        bysecond=second,
        bymonthday=monthday,
        bymonth=month,
        until=until,
        cache=False,
    )


@functools.cache
def _allowed_minutes(recurrence: Recurrence) -> tuple[int, ...]:
    """The minutes of a week (Monday 00:00 is 0) at which a step of a MINUTELY, HOURLY or DAILY
    rule passes its filters: BYDAY, and BYHOUR/BYMINUTE where they are finer than FREQ (coarser
    ones expand a step into several times instead of filtering it)."""
    days = [index for index, day in enumerate(WEEKDAYS) if not recurrence.byday or day in recurrence.byday]
    hour_filter = recurrence.byhour if recurrence.freq in ("MINUTELY", "HOURLY") else ()
    minute_filter = recurrence.byminute if recurrence.freq == "MINUTELY" else ()
    return tuple(
        day * 1440 + hour * 60 + minute
        for day in days
        for hour in (hour_filter or range(24))
        for minute in (minute_filter or range(60))
    )


def _walk_bound(recurrence: Recurrence, first: datetime, until: datetime) -> int | None:
    """At most how many wall times dateutil yields from `first` to `until` (an over-count stops
    at the first time past `until`); None for a rule that yields in every period (WEEKLY and
    longer, or no filter), which `until` bounds by itself."""
    unit = _UNIT_MINUTES.get(recurrence.freq)
    filtered = recurrence.byday or (recurrence.freq != "DAILY" and recurrence.byhour)
    if unit is None or not (filtered or (recurrence.freq == "MINUTELY" and recurrence.byminute)):
        return None
    step = unit * recurrence.interval
    common = math.gcd(step, _WEEK_MINUTES)
    cycle = _WEEK_MINUTES // common  # steps before the positions in the week repeat
    inverse = pow(step // common, -1, cycle) if cycle > 1 else 0
    origin = first.weekday() * 1440 + first.hour * 60 + first.minute
    # The index (0 <= k < cycle) of each step that lands on an allowed minute, in order.
    hits = sorted(
        (minute - origin) // common * inverse % cycle
        for minute in _allowed_minutes(recurrence)
        if (minute - origin) % common == 0
    )
    steps = (until - first) // timedelta(minutes=step) + 2  # and one past `until`
    whole, part = divmod(steps, cycle)
    count = whole * len(hits) + bisect.bisect_left(hits, part)
    expanded = 1  # the times a step that passes becomes
    if recurrence.freq == "HOURLY":
        expanded = len(recurrence.byminute) or 1
    elif recurrence.freq == "DAILY":
        expanded = (len(recurrence.byhour) or 1) * (len(recurrence.byminute) or 1)
    return count * expanded


def _moved_start(recurrence: Recurrence, start: datetime, now: datetime) -> datetime:
    """The rule's start moved forward by whole periods to a little before `now`: the same
    runs after now, and a walk that does not grow with the schedule's age."""
    step = recurrence.interval
    period = _PERIODS.get(recurrence.freq)
    if period is not None:
        behind = now - start - timedelta(days=2) - period * step
        if behind > period * step:
            return start + period * step * (behind // (period * step))
        return start
    if recurrence.freq == "MONTHLY":
        months = (now.year - start.year) * 12 + now.month - start.month - 2
        moved = months // step * step
        if moved <= 0:
            return _nearer(recurrence, start, now)
        index = start.year * 12 + start.month - 1 + moved
        return _nearer(recurrence, start.replace(year=index // 12, month=index % 12 + 1, day=1), now)
    moved = (now.year - start.year - 2) // step * step  # YEARLY
    return _nearer(
        recurrence, start.replace(year=start.year + moved, month=1, day=1) if moved > 0 else start, now
    )


def _nearer(recurrence: Recurrence, moved: datetime, now: datetime) -> datetime:
    """With BYDAY a MONTHLY or YEARLY period yields its days from the rule's start on (and
    takes nothing else from the start but its time of day): a start two days before now in a
    period of the rule gives the same runs after now, and a walk of days, not of up to two years of
    times (which MAX_WALK would cut before now: "never runs")."""
    if not recurrence.byday:
        return moved
    near = (now - timedelta(days=2)).replace(hour=moved.hour, minute=moved.minute, second=moved.second)
    if recurrence.freq == "YEARLY":
        periods = near.year - moved.year
    else:
        periods = (near.year - moved.year) * 12 + near.month - moved.month
    on_lattice = periods % recurrence.interval == 0  # `moved` starts a period of the rule
    return near if on_lattice and near > moved else moved


def next_times(
    recurrences: Sequence[Recurrence], zone: zoneinfo.ZoneInfo, start: datetime, now: datetime, count: int
) -> list[datetime]:
    """The first `count` run times strictly after `now` (UTC, whole seconds), from `start`.

    The rule runs on the zone's wall clock, from the start's wall time. ValueError if
    dateutil finds the rule empty.
    """
    anchor = schedule_start(start).astimezone(zone).replace(tzinfo=None)
    now_wall = now.astimezone(zone).replace(tzinfo=None)
    found: list[datetime] = []
    for recurrence in recurrences:
        first = _moved_start(recurrence, anchor, now_wall)
        until = max(now_wall, anchor) + HORIZON
        try:
            walls = _rule(recurrence, first, anchor, until)
        except ValueError as exc:  # dateutil: "Invalid rrule byxxx generates an empty set."
            raise ValueError(f"the rule never runs ({exc})") from None
        bound = _walk_bound(recurrence, first, until)
        times: list[datetime] = []
        for wall in itertools.islice(walls, MAX_WALK if bound is None else min(bound, MAX_WALK)):
            instant = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: RFC 5545's reading
            if instant <= now or (times and instant <= times[-1]):
                continue  # past, or a gap's wall time read as the same instant as the next
            times.append(instant)
            if len(times) == count:
                break
        found.extend(times)
    return sorted(set(found))[:count]


def first_runs(
    recurrences: Sequence[Recurrence], zone: zoneinfo.ZoneInfo, start: datetime, now: datetime
) -> None:
    """ValueError unless the rule runs at least once within HORIZON of now (or of a later start)."""
    if not next_times(recurrences, zone, start, now, 1):
        raise ValueError(f"the rule never runs in the {HORIZON.days} days after now")
