"""Injectable clocks: real time, or a frozen/offset time a test controls (stdlib only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """Real UTC time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ControlledClock:
    """Real time shifted by an offset, or frozen at an instant (for tests and the control plane)."""

    def __init__(self, frozen_at: datetime | None = None, offset: timedelta | None = None) -> None:
        self.frozen_at = frozen_at
        self.offset = offset or timedelta()

    def now(self) -> datetime:
        if self.frozen_at is not None:
            return self.frozen_at
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        if self.frozen_at is not None:
            self.frozen_at += delta
        else:
            self.offset += delta
