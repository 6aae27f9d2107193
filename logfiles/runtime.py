"""What one application instance runs on: settings, store, tokens, clock and ids (no Flask)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .auth import TokenRegistry
from .clock import Clock, SettingClock
from .config import Settings
from .ids import IdSource, random_ids
from .pacing import Pause, cooperative_pause
from .store.base import FullStore
from .waiting import JournalWatch


@dataclass
class Runtime:
    """Kept in `app.extensions["logfiles"]`; views reach it through `current_app`."""

    settings: Settings
    store: FullStore
    tokens: TokenRegistry
    clock: Clock = field(init=False)
    new_id: IdSource = field(default_factory=random_ids)
    journal_watch: JournalWatch = field(init=False)
    # Called between pieces of a big seed or export, so other requests get their turn (pacing.py).
    pause: Pause = field(default_factory=cooperative_pause)

    def __post_init__(self) -> None:
        # Time is whatever the control plane set, read from the store that every worker shares.
        self.clock = SettingClock(self.store)
        # Waits for journal entries read the same store, so they see every worker's requests.
        self.journal_watch = JournalWatch(self.store)
