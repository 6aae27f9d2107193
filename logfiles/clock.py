"""Clocks: real time, or a frozen/shifted time that tests control (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from .errors import Invalid
from .model import EARLIEST, LATEST, check_time


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class ClockSetting:
    """What the control plane set: frozen at an instant, or real time shifted by an offset."""

    frozen_at: datetime | None = None
    offset: timedelta = timedelta()

    def now(self) -> datetime:
        if self.frozen_at is not None:
            return self.frozen_at
        return datetime.now(UTC) + self.offset

    def advanced(self, delta: timedelta) -> ClockSetting:
        """Move time forward (or back) by `delta`, frozen or not."""
        if self.frozen_at is not None:
            return ClockSetting(frozen_at=self.frozen_at + delta)
        return ClockSetting(offset=self.offset + delta)


REAL_TIME = ClockSetting()


class SettingClock:
    """Reads the current setting on every call, so every worker sharing a store agrees."""

    def __init__(self, source: ClockSource) -> None:
        self.source = source

    def now(self) -> datetime:
        return self.source.get_clock().now()


class ClockSource(Protocol):
    def get_clock(self) -> ClockSetting: ...


@dataclass(frozen=True, slots=True)
class ClockCommand:
    """One control-plane command: freeze (at an instant, or None for "now"), advance, or real time."""

    freeze: bool = False
    at: datetime | None = None
    advance: timedelta | None = None

    def apply(self, current: ClockSetting) -> ClockSetting:
        """The setting after this command; "now" means the service's time, not real time.

        Invalid when the time it gives is out of the range every date the service writes
        must stay in (a frozen time or an offset pushed there by repeated advances).
        """
        if not self.freeze and self.advance is None:
            return REAL_TIME
        try:
            if self.freeze:
                setting = ClockSetting(frozen_at=self.at or current.now())
            else:
                setting = current.advanced(self.advance or timedelta())
            check_time(setting.now())
        except (ValueError, OverflowError):
            raise Invalid(
                "The clock command is not valid.",
                [f"body: the service time would leave the years {EARLIEST.year} to {LATEST.year}"],
            ) from None
        return setting
