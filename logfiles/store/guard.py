"""The guard every database store runs its operations under (no driver imported here)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

_Class = TypeVar("_Class", bound=type)


def guarded(cls: _Class) -> _Class:
    """Run every public operation of a database store (its mixins' too) under `self._db.guard()`.

    So that no driver failure of any operation, present or added later, reaches the client
    as a 500: the store's guard turns it into Unavailable (a 503) and drops the connection.
    `open` and `close` are left alone: they report failures their own way.
    """
    for name in dir(cls):
        method = getattr(cls, name)
        if name.startswith("_") or name in {"open", "close"} or not callable(method):
            continue
        setattr(cls, name, _guard(method))
    return cls


def _guard(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run_guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._db.guard():
            return method(self, *args, **kwargs)

    return run_guarded
