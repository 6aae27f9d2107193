"""What one application instance runs on: settings, store, tokens, clock and ids (no Flask)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .auth import TokenRegistry
from .clock import Clock, SystemClock
from .config import Settings
from .ids import IdSource, random_ids
from .store import Store


@dataclass
class Runtime:
    """Kept in `app.extensions["logfiles"]`; views reach it through `current_app`."""

    settings: Settings
    store: Store
    tokens: TokenRegistry
    clock: Clock = field(default_factory=SystemClock)
    new_id: IdSource = field(default_factory=random_ids)
