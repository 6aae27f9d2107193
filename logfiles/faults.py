"""Fault rules: which requests they match, when they fire, and what they answer (stdlib only)."""

from __future__ import annotations

import base64
import enum
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from fnmatch import fnmatchcase
from typing import Any, Protocol

# A rule with no path matches every request of the contract (the only ones rules see).
DEFAULT_PATH = "/v2/*"


class HeaderSource(Protocol):
    """Request headers; werkzeug's `Headers` looks names up case-insensitively."""

    def get(self, key: str, /) -> str | None: ...


class FaultAction(enum.StrEnum):
    STATUS = "status"  # answer with a status and the fault body, before the model runs
    LATENCY = "latency"  # wait, then handle the request normally
    DROP = "drop"  # close the connection without an answer
    BODY = "body"  # answer with the rule's own status, headers and bytes, before the model runs
    TRUNCATE = "truncate"  # handle the request, then close the connection half way through the body
    GARBAGE = "garbage"  # random bytes instead of an answer, then close, before the model runs
    RESET = "reset"  # reset the connection (RST, not a close), before the model runs
    TRICKLE = "trickle"  # handle the request, then send the body at `rate` bytes a second


# (ours) A `garbage` rule's random bytes and a `trickle` rule's bytes a second, when not given.
DEFAULT_GARBAGE_BYTES = 1024
DEFAULT_TRICKLE_RATE = 1024


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """What one action owns and needs: the one place each is written down.

    `defaults`: the rule fields only this kind of rule has, each with the value it takes when
    not given (None: none); on any other kind the field is refused (schemas/faults.py) and
    shown null. `socket`: it acts on the client's connection, so only a server that hands the
    application its socket (gunicorn, werkzeug's) can carry it out; Flask's test client
    cannot, and gets a 500 saying `without_socket` instead. `refused_without_socket`: the
    control plane refuses such a rule where it is served without one (all but `drop`, which
    has always been taken and answered 500). `on_answer`: the request goes on and wire.py's
    middleware changes how its answer's body is sent.
    """

    defaults: Mapping[str, Any] = field(default_factory=dict)
    socket: bool = False
    refused_without_socket: bool = False
    on_answer: bool = False
    without_socket: str = ""


ACTIONS: Mapping[FaultAction, ActionSpec] = {
    FaultAction.STATUS: ActionSpec(defaults={"status": 503}),
    FaultAction.LATENCY: ActionSpec(defaults={"latency": 0.0}),
    FaultAction.DROP: ActionSpec(socket=True, without_socket="The connection would have been dropped."),
    FaultAction.BODY: ActionSpec(defaults={"status": 200, "body": None, "body_base64": None}),
    FaultAction.TRUNCATE: ActionSpec(
        socket=True,
        refused_without_socket=True,
        on_answer=True,
        without_socket="The answer would have been cut short.",
    ),
    FaultAction.GARBAGE: ActionSpec(
        defaults={"size": DEFAULT_GARBAGE_BYTES},
        socket=True,
        refused_without_socket=True,
        without_socket="The answer would have been random bytes.",
    ),
    FaultAction.RESET: ActionSpec(
        socket=True,
        refused_without_socket=True,
        without_socket="The connection would have been reset.",
    ),
    FaultAction.TRICKLE: ActionSpec(defaults={"rate": DEFAULT_TRICKLE_RATE}, on_answer=True),
}

# (ours) A trickle lasts at most this long; the rest of the body then goes at once, so a
# rule cannot hold a connection for good, and the answer always arrives whole.
MAX_TRICKLE_SECONDS = 60.0
# A trickle sends at most this many pieces a second (each `rate` / this, at least 1 byte),
# so that a fast trickle is not a write per byte and a slow one is still smooth.
TRICKLE_STEPS_PER_SECOND = 10


@dataclass(frozen=True, slots=True)
class FaultRule:
    """A mimic-style behaviour: match a request, then fire on a schedule.

    Schedule: fire on every `every`-th match, at most `times` times (None: no end), and,
    when `probability` is below 1, only when a generator seeded by (`seed`, match count)
    says so, so that a run repeats exactly.
    """

    id: str
    action: FaultAction
    method: str | None = None
    path: str = DEFAULT_PATH
    header: str | None = None
    header_value: str | None = None
    status: int | None = None  # a `status` or `body` rule's answer (ACTIONS: the defaults)
    message: str | None = None
    errors: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    latency: float | None = None  # a `latency` rule's wait, in seconds
    body: str | None = None  # a `body` rule's answer as text (sent as UTF-8)...
    body_base64: str | None = None  # ... or as base64 (any bytes); neither: an empty body
    size: int | None = None  # a `garbage` rule's number of random bytes
    rate: int | None = None  # a `trickle` rule's bytes per second
    times: int | None = 1
    every: int = 1
    probability: float = 1.0
    seed: int = 0
    matched: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        # A field of its action's that was not given takes the action's default (ACTIONS).
        for name, default in ACTIONS[self.action].defaults.items():
            if default is not None and getattr(self, name) is None:
                object.__setattr__(self, name, default)

    def setting(self, name: str) -> Any:
        """One of its action's own fields: as given, else the action's default (ACTIONS)."""
        value = getattr(self, name)
        return ACTIONS[self.action].defaults.get(name) if value is None else value

    @classmethod
    def from_fields(cls, values: Mapping[str, Any]) -> FaultRule:
        """A rule from plain values (a loaded request, a stored JSON document).

        Plain values carry the action as text and lists for tuples; the rule wants its enum
        and immutable fields. Missing fields take the rule's defaults.
        """
        converted = dict(values)
        converted["action"] = FaultAction(converted["action"])
        if "errors" in converted:
            converted["errors"] = tuple(converted["errors"])
        if "headers" in converted:
            converted["headers"] = dict(converted["headers"])
        return cls(**converted)

    def as_fields(self) -> dict[str, Any]:
        """Every field as a JSON-ready value; `from_fields` takes them back."""
        values = {each.name: getattr(self, each.name) for each in fields(self)}
        values["action"] = self.action.value
        values["errors"] = list(self.errors)
        values["headers"] = dict(self.headers)
        return values

    def answer_bytes(self) -> bytes:
        """A `body` rule's answer body: `body` as UTF-8, or `body_base64` decoded."""
        if self.body_base64 is not None:
            return base64.b64decode(self.body_base64)
        return (self.body or "").encode()

    def garbage(self) -> bytes:
        """A `garbage` rule's bytes for its latest firing: the same seed and count, the same bytes."""
        # Not for secrets: seeded so that a run repeats, as the probability's draw does.
        chooser = random.Random(f"garbage:{self.seed}:{self.matched}")  # noqa: S311
        return chooser.randbytes(self.size or 0)

    def to_json(self) -> str:
        """The rule as the database stores keep it: one JSON document, read only whole."""
        return json.dumps(self.as_fields())

    @classmethod
    def from_json(cls, text: str) -> FaultRule:
        return cls.from_fields(json.loads(text))

    def matches(self, method: str, path: str, headers: HeaderSource) -> bool:
        """Method (any case), path glob (fnmatch, case-sensitive) and an optional header.

        A rule without a method matches every request but a CORS preflight: that is the
        browser asking leave for the client's request, and faulting it (a page sees only a
        network error) is what a tester asks for by naming OPTIONS.
        """
        if self.method is None and is_preflight(method, headers):
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if not fnmatchcase(path, self.path):
            return False
        if self.header is not None:
            value = headers.get(self.header)
            if value is None:
                return False
            if self.header_value is not None and not fnmatchcase(value, self.header_value):
                return False
        return True

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def on_match(self) -> tuple[FaultRule, bool]:
        """Count one more matching request; return the updated rule and whether it fires."""
        matched = self.matched + 1
        fires = not self.exhausted and matched % self.every == 0
        if fires and self.probability < 1.0:
            # Not for secrets: a seeded generator, so a run of the same rule repeats exactly.
            fires = random.Random(f"{self.seed}:{matched}").random() < self.probability  # noqa: S311
        return replace(self, matched=matched, fired=self.fired + fires), fires


# Each action-specific field (in the rule's own order) and the actions that have it, from ACTIONS.
FIELD_OWNERS: Mapping[str, frozenset[FaultAction]] = {
    each.name: owners
    for each in fields(FaultRule)
    if (owners := frozenset(action for action, spec in ACTIONS.items() if each.name in spec.defaults))
}


def truncated_length(length: int) -> int:
    """How much of a `length`-byte body a `truncate` rule sends: the first half, rounded down."""
    return length // 2


def trickle_step(rate: int) -> int:
    """The size of each piece a trickle at `rate` bytes a second sends."""
    return max(1, rate // TRICKLE_STEPS_PER_SECOND)


def trickle_due(sent: int, rate: int) -> float:
    """Seconds from a trickle's start at which the byte after the first `sent` may go."""
    return sent / rate


def is_preflight(method: str, headers: HeaderSource) -> bool:
    """A CORS preflight: OPTIONS with `Origin` and `Access-Control-Request-Method`."""
    return (
        method.upper() == "OPTIONS"
        and headers.get("Origin") is not None
        and headers.get("Access-Control-Request-Method") is not None
    )


def first_firing(
    rules: list[FaultRule], method: str, path: str, headers: HeaderSource
) -> tuple[list[FaultRule], FaultRule | None]:
    """Count the request against every matching rule; the first that fires answers it.

    Returns the rules with their counters updated (to be saved atomically) and the fired rule.
    """
    updated: list[FaultRule] = []
    fired: FaultRule | None = None
    for rule in rules:
        if fired is None and rule.matches(method, path, headers):
            rule, fires = rule.on_match()
            if fires:
                fired = rule
        updated.append(rule)
    return updated, fired
