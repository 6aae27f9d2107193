"""Where new ids come from: random UUID4 strings, as the real service gives (stdlib only)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

IdSource = Callable[[], str]


def random_ids() -> IdSource:
    """Fresh random UUID4 strings, as the real service gives."""
    return lambda: str(uuid.uuid4())
