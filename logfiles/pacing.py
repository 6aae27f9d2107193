"""Long loops over a state document let other requests in between pieces (stdlib only).

A gunicorn gevent worker runs every request on one thread: a seed of two million log files,
done in one go, keeps /healthz, the control plane and gunicorn's own heartbeat waiting until it
ends, and past gunicorn's timeout (30 s) the worker is killed with the memory store's state. So
the seeding and export loops call a `pause` every PIECE items; the app makes it gevent's
`sleep(0)` when the worker runs under gevent (api/__init__.py), and it is a no-op anywhere else.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

Pause = Callable[[], None]
# Items handled between two pauses: a few milliseconds of work for the slowest loop (validating
# a log file costs about 15 us), and a pause costs about 10 us, so the seed is not slowed.
PIECE = 1000

_Item = TypeVar("_Item")


def no_pause() -> None:
    """Outside gevent (Flask's test client, a thread per request) nothing needs to run between pieces."""


def cooperative_pause() -> Pause:
    """gevent's `sleep(0)` when this process runs under gevent with `threading` patched (gunicorn's
    gevent worker patches before it loads the app), else `no_pause`.

    Patched, the stores' locks are gevent's too: a seed that pauses while holding one makes the
    requests that need it wait their turn, and lets every other one (/healthz) run. gevent is
    looked up, not imported, so that this module stays stdlib only.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return no_pause
    sleep = sys.modules["gevent"].sleep

    def pause() -> None:
        sleep(0)

    return pause


def paced(items: Iterable[_Item], pause: Pause, every: int = PIECE) -> Iterator[_Item]:
    """`items`, calling `pause` after every `every` of them."""
    if pause is no_pause:
        yield from items
        return
    for count, item in enumerate(items, 1):
        yield item
        if count % every == 0:
            pause()


def pieces(items: Sequence[_Item], pause: Pause, size: int = PIECE) -> Iterator[Sequence[_Item]]:
    """`items` in slices of `size`, calling `pause` after each one but the last."""
    for start in range(0, len(items), size):
        if start:
            pause()
        yield items[start : start + size]


def chunks(items: Iterable[_Item], pause: Pause, size: int = PIECE) -> Iterator[list[_Item]]:
    """As `pieces`, for any iterable."""
    iterator = iter(items)
    first = True
    while chunk := list(islice(iterator, size)):
        if not first:
            pause()
        first = False
        yield chunk
