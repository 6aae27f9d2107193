"""Compare a JSON answer's shape with a guide page's example: the same keys, recursively.

Values are ignored (ids, times and names differ by nature); what is compared is which members
an object has and what kind of thing each is. Every difference is reported, as a path and a
problem, so one failing test lists all of what a page and the service disagree on:

    configurations[0].backups.next: missing
    agents[0].log_level: not in the example
    vault.links: an object where the example has a list

Rules:
- An object must have each member of the example's object ("missing") and no other ("not in
  the example").
- A list is compared item by item with an example item: when the example's items are objects
  that differ by `type` or `event` (a feed, activities), each answer item with the example item
  of the same `type`/`event`; an answer item of a type the example does not show has nothing
  to be compared with, and is left alone. Otherwise each item with the example's first. An
  empty example list says nothing about its items.
- `null` on either side matches anything (a value, not a shape: `backups.last_completed` is
  null until a backup completes); otherwise a string, number, boolean, object or list must meet
  the same kind.

Known disagreements are excused by an allow-list (`Allowed`): a path pattern where `[*]` is any
index and `*` any one member name, and the reason (a SPEC rule, a page's erratum). `differences`
reports only what no allowance covers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

DISCRIMINATORS = ("type", "event")


@dataclass(frozen=True)
class Allowed:
    """A difference that is not a failure: where (a path pattern), what (the problem's start,
    empty for any), and why."""

    path: str
    reason: str
    problem: str = ""

    def covers(self, difference: str) -> bool:
        where, _, problem = difference.partition(": ")
        return bool(_pattern(self.path).fullmatch(where)) and problem.startswith(self.problem)


def _pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\[\*\]|\*)", path)
    regex = "".join(
        r"\[\d+\]" if part == "[*]" else r"[^.\[\]]+" if part == "*" else re.escape(part) for part in parts
    )
    return re.compile(regex)


def kind(value: Any) -> str:
    """What kind of JSON value this is, as a problem names it."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "null"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _example_item(item: Any, examples: Sequence[Any]) -> tuple[bool, Any]:
    """The example item to compare an answer item with: (found, item)."""
    if all(isinstance(e, dict) for e in examples) and isinstance(item, dict):
        for key in DISCRIMINATORS:
            values = {e.get(key) for e in examples}
            if len(values) > 1:
                return next(
                    ((True, e) for e in examples if e.get(key) == item.get(key)),
                    (False, None),
                )
    return True, examples[0]


def shape_differences(actual: Any, example: Any, path: str = "") -> list[str]:
    """Every place where `actual`'s shape differs from `example`'s, as `path: problem`."""
    where = path or "(body)"
    if actual is None or example is None:
        return []
    if kind(actual) != kind(example):
        return [f"{where}: {kind(actual)} where the example has {kind(example)}"]
    found: list[str] = []
    if isinstance(example, dict):
        for key in example:
            if key not in actual:
                found.append(f"{_join(path, key)}: missing")
            else:
                found += shape_differences(actual[key], example[key], _join(path, key))
        found += [f"{_join(path, key)}: not in the example" for key in actual if key not in example]
    elif isinstance(example, list) and example:
        for index, item in enumerate(actual):
            shown, reference = _example_item(item, example)
            if shown:
                found += shape_differences(item, reference, f"{path}[{index}]")
    return found


def differences(actual: Any, example: Any, allowed: Iterable[Allowed] = ()) -> list[str]:
    """`shape_differences` without those an allowance covers."""
    allowances = list(allowed)
    return [d for d in shape_differences(actual, example) if not any(a.covers(d) for a in allowances)]
