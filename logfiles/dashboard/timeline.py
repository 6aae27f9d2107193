"""The timeline picture: journal entries (time, status) into stacked bars per time bucket (stdlib only).

Computed here, drawn by a template as inline SVG; the geometry is decided here so that the
template only writes numbers out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# Drawn bottom to top; `dropped` is a connection a `drop` rule closed (journal status 0).
CLASSES = ("2xx", "3xx", "4xx", "5xx", "dropped")
WINDOWS_MINUTES = (1, 5, 15, 60)
BUCKET_SECONDS = (1, 10)
# The drawing's size in SVG user units (the page scales it to its width).
WIDTH = 1200
HEIGHT = 160
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def status_class(status: int) -> str:
    """The class a status is counted in: 0 is a dropped connection; the rest by hundreds."""
    if status == 0:
        return "dropped"
    return f"{min(max(status // 100, 2), 5)}xx"


def default_bucket(minutes: int) -> int:
    """Per second up to 5 minutes (300 bars), else per 10 seconds (at most 360 bars)."""
    return 1 if minutes <= 5 else 10


@dataclass(frozen=True, slots=True)
class Bar:
    """One class's part of one bucket's bar, in SVG units."""

    css: str
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Timeline:
    start: datetime
    end: datetime
    bucket_seconds: int
    peak_per_second: float  # the tallest bar's requests per second (the y axis' top)
    totals: dict[str, int]  # requests per class in the window
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def build(
    entries: Iterable[tuple[datetime, int]], now: datetime, minutes: int, bucket_seconds: int
) -> Timeline:
    """The last `minutes` before `now` (the service clock) in buckets aligned on the epoch, so
    that a bar keeps its place from one refresh to the next; entries outside are left out."""
    width = timedelta(seconds=bucket_seconds)
    count = minutes * 60 // bucket_seconds
    last = _EPOCH + (now - _EPOCH) // width * width
    start = last - (count - 1) * width
    end = last + width
    buckets = [dict.fromkeys(CLASSES, 0) for _ in range(count)]
    for moment, status in entries:
        if start <= moment < end:
            buckets[(moment - start) // width][status_class(status)] += 1
    totals = {name: sum(bucket[name] for bucket in buckets) for name in CLASSES}
    peak = max((sum(bucket.values()) for bucket in buckets), default=0)
    timeline = Timeline(start, end, bucket_seconds, peak / bucket_seconds, totals)
    step = WIDTH / count
    for n, bucket in enumerate(buckets):
        y = float(HEIGHT)
        for name in CLASSES:
            if not bucket[name]:
                continue
            height = HEIGHT * bucket[name] / peak
            y -= height
            label = (start + n * width).strftime("%H:%M:%S")
            title = f"{label}: {bucket[name]} {name} in {bucket_seconds} s"
            timeline.bars.append(Bar(_css(name), n * step, y, step, height, title))
    tick_every = 60 if minutes <= 15 else 600  # a label a minute, or every 10 on the hour view
    per_tick = tick_every // bucket_seconds
    first = -((start - _EPOCH) // width) % per_tick  # the first bucket on a whole minute
    for n in range(first, count, per_tick):
        timeline.ticks.append(Tick(n * step, (start + n * width).strftime("%H:%M")))
    return timeline


def _css(name: str) -> str:
    """A class name CSS can select: `s2xx`, ..., `dropped`."""
    return name if name == "dropped" else f"s{name}"
