"""UUID4 sources: random by default, seedable for reproducible tests (stdlib only)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

IdSource = Callable[[], str]


def random_ids() -> IdSource:
    """Fresh random UUID4 strings, as the real service gives."""
    return lambda: str(uuid.uuid4())


def seeded_ids(seed: int) -> IdSource:
    """Valid UUID4 strings from a seeded generator, so two runs give the same ids."""
    rng = random.Random(seed)
    return lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))
