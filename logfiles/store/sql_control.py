"""The control plane's SQL that both SQL stores share, in the caller's write transaction."""

from __future__ import annotations

from ..faults import FaultRule, HeaderSource, first_firing
from .sqlrows import Dialect, Execute


def fire_fault(
    execute: Execute, dialect: Dialect, method: str, path: str, headers: HeaderSource
) -> FaultRule | None:
    """The first rule that fires for the request, counted: the rules read (locked where the
    database locks rows) and the counted ones written back, so that a rule fires `times`
    times across every worker."""
    write = f"UPDATE faults SET rule = {dialect.mark} WHERE seq = {dialect.mark}"  # noqa: S608 (placeholders)
    read = f"SELECT seq, rule FROM faults ORDER BY seq{dialect.for_update}"  # noqa: S608 (our words)
    found = execute(read, ()).fetchall()
    rules = [FaultRule.from_json(row[1]) for row in found]
    updated, fired = first_firing(rules, method, path, headers)
    for row, before, after in zip(found, rules, updated, strict=True):
        if after is not before:
            execute(write, (after.to_json(), row[0]))
    return fired
