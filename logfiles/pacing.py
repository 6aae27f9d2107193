"""Long loops over a state document let other requests in between pieces (stdlib only).

A gunicorn gevent worker runs every request on one thread: a seed of two million log files,
done in one go, keeps /healthz, the control plane and gunicorn's own heartbeat waiting until it
ends, and past gunicorn's timeout (30 s) the worker is killed with the memory store's state. So
the seeding and export loops call a `pause` every PIECE items; the app makes it gevent's
`sleep()` when the worker runs under gevent (runtime.py), and it is a no-op anywhere else.

A pause alone is not enough: Python's cycle collector walks every tracked object of the oldest
generation each time that generation grows by a quarter, so while millions of log files are
made its walks take seconds each, and nothing can run during one. The pause therefore also
moves what exists to the collector's permanent generation (`gc.freeze()`) every FREEZE_EVERY
pieces, so each walk covers only what was made since. Frozen objects are still freed when their
last reference goes (reset, a replace); only a reference cycle among them would stay, and the
store's agents and log files hold none.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

Pause = Callable[[], None]
# Items handled between two pauses: a few milliseconds of work for the slowest loop (validating
# a log file costs about 15 us), and a pause costs about 10 us, so the seed is not slowed.
PIECE = 1000
# gevent's sleep(0) lets ready greenlets run but may resume before the loop polls for I/O, so
# a new connection (a /healthz probe) could wait for the whole seed; any longer sleep resumes
# only at the loop's next turn, after the poll.
PAUSE_SECONDS = 1e-6
# Pieces between two freezes of the collector's generations (see above).
FREEZE_EVERY = 20

_Item = TypeVar("_Item")


def no_pause() -> None:
    """Outside gevent (Flask's test client, a thread per request) nothing needs to run between pieces."""


def cooperative_pause() -> Pause:
    """gevent's `sleep()` when this process runs under gevent with `threading` patched (gunicorn's
    gevent worker patches before it loads the app), else `no_pause`.

    Patched, the stores' locks are gevent's too: a seed that pauses while holding one makes the
    requests that need it wait their turn, and lets every other one (/healthz) run. gevent is
    looked up, not imported, so that this module stays stdlib only.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return no_pause
    sleep = sys.modules["gevent"].sleep
    count = 0

    def pause() -> None:
        nonlocal count
        count += 1
        if count % FREEZE_EVERY == 0:
            gc.freeze()
        sleep(PAUSE_SECONDS)

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
