"""The pure domain: agents, log files and the log-file state machine (stdlib only)."""

from __future__ import annotations

import enum
import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from .config import REGIONS
from .errors import Conflict

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and `Z`, as the guide writes times.

    isoformat() gives the same text as strftime(TIME_FORMAT) at a fifth of the cost, which
    counts on a page of a thousand log files; every stored time is UTC already.
    """
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # "+00:00" -> "Z"


# (ours) The times a client may set (seeded dates, the frozen clock): far enough inside
# datetime's range that a day of temp-URL lifetime and a century of clock advance still fit.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def parse_time(text: str) -> datetime:
    """Inverse of `format_time`; also takes any ISO-8601 time with an offset, from EARLIEST to LATEST."""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("time has no timezone")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError("time is out of range") from None
    check_time(moment)
    return moment


def check_time(moment: datetime) -> None:
    """ValueError unless EARLIEST <= moment < LATEST."""
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"time must be from {EARLIEST.year} to before {LATEST.year}")


class LogFileState(enum.StrEnum):
    """The states a log file goes through, in order."""

    REQUESTED = "requested"
    STARTED = "started"
    COMPLETED = "completed"


# SPEC: PATCH transitions. A same-value replace is a retry and is allowed (ours);
# going back is a conflict. Nothing may be set back to `requested`.
ALLOWED: frozenset[tuple[LogFileState, LogFileState]] = frozenset(
    {
        (LogFileState.REQUESTED, LogFileState.STARTED),
        (LogFileState.REQUESTED, LogFileState.COMPLETED),
        (LogFileState.STARTED, LogFileState.STARTED),
        (LogFileState.STARTED, LogFileState.COMPLETED),
        (LogFileState.COMPLETED, LogFileState.COMPLETED),
    }
)

# Every state, in order, and the values a client may ask for in a PATCH.
STATES: tuple[str, ...] = tuple(state.value for state in LogFileState)
TARGET_STATES: tuple[str, ...] = (LogFileState.STARTED.value, LogFileState.COMPLETED.value)


@dataclass(frozen=True, slots=True)
class Agent:
    """A registered backup agent: what it sent, plus what the service assigned.

    `password_sha256` is the hash of the password its registration showed once ("" when it
    has none, so it cannot authenticate); `roles` are those of the token that registered it,
    which its own tokens carry (None: open mode, every right on its project); `last_heard`
    is when it was last heard from, to the second (`status.online`).
    """

    id: str
    project_id: str
    registered_time: datetime
    registration: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True
    log_level: str = "warn"  # DEFAULT_LOG_LEVEL
    password_sha256: str = ""
    roles: tuple[str, ...] | None = None
    last_heard: datetime | None = None

    @property
    def fingerprint(self) -> str | None:
        host = self.registration.get("host")
        found = host.get("fingerprint") if isinstance(host, Mapping) else None
        return found if isinstance(found, str) else None

    @property
    def machine_id(self) -> str | None:
        """`host.machine.id` of its registration (what `?host_machine_id=` compares)."""
        host = self.registration.get("host")
        machine = host.get("machine") if isinstance(host, Mapping) else None
        found = machine.get("id") if isinstance(machine, Mapping) else None
        return found if isinstance(found, str) else None


# The guide's log levels (PATCH an agent), and the level a registration starts with: the
# register and details pages show `warn` (the PATCH page calls `info` the default; SPEC
# settles it as the register page shows).
LOG_LEVELS = ("all", "trace", "debug", "info", "warn", "error", "fatal")
DEFAULT_LOG_LEVEL = "warn"

# The vault every agent has (SPEC "The whole service"): what the pages show of a new one.
VAULT_PREFIX = "phoenix_"
VAULT_STATE = "created"
VAULT_FLAVOR = "swift"
# The register page's default `vault.use_internal` by host flavor; (ours) a flavor it does not
# list defaults to false, as `rackspace_dedicated` (the one that is not in the cloud's network).
USE_INTERNAL_BY_FLAVOR: Mapping[str, bool] = {
    "nova": True,
    "rackspace_dedicated": False,
    "rackspace_private_cloud": True,
}


def default_use_internal(flavor: object) -> bool:
    return USE_INTERNAL_BY_FLAVOR.get(flavor, False) if isinstance(flavor, str) else False


@dataclass(frozen=True, slots=True)
class Vault:
    """An agent's vault, as its body shows it (its links are the HTTP layer's, from `name`).

    It is kept whole under "vault" in the agent's stored registration, so it needs no column.
    """

    id: str
    name: str
    region: str
    use_internal: bool
    state: str = VAULT_STATE
    flavor: str = VAULT_FLAVOR
    encrypted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "flavor": self.flavor,
            "encrypted": self.encrypted,
            "region": self.region,
            "use_internal": self.use_internal,
        }


def new_vault(vault_id: str, region: str, use_internal: bool) -> Vault:
    """A registration's new, empty vault."""
    return Vault(id=vault_id, name=VAULT_PREFIX + vault_id, region=region, use_internal=use_internal)


def derived_vault_id(agent_id: str) -> str:
    """(ours) The vault id of an agent whose registration keeps none (a seeded or imported one):
    a UUID4-shaped id from a hash of the agent's id, so that it is the same on every read, in
    every worker and after every restart, without a write."""
    digest = hashlib.sha256(b"vault:" + agent_id.encode("utf-8", "surrogatepass")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def agent_vault(agent: Agent, region: str) -> Vault:
    """The agent's vault: what its registration keeps, each member it lacks (or keeps with the
    wrong type) from its default: the id from `derived_vault_id`, the region `region` (the
    service's), `use_internal` as the registration's host flavor says."""
    kept = agent.registration.get("vault")
    kept = kept if isinstance(kept, Mapping) else {}

    def text(name: str, default: str) -> str:
        value = kept.get(name)
        return value if isinstance(value, str) and value else default

    def flag(name: str, default: bool) -> bool:
        value = kept.get(name)
        return value if isinstance(value, bool) else default

    host = agent.registration.get("host")
    flavor = host.get("flavor") if isinstance(host, Mapping) else None
    vault_id = text("id", "") or derived_vault_id(agent.id)
    return Vault(
        id=vault_id,
        name=text("name", VAULT_PREFIX + vault_id),
        region=text("region", region),
        use_internal=flag("use_internal", default_use_internal(flavor)),
        state=text("state", VAULT_STATE),
        flavor=text("flavor", VAULT_FLAVOR),
        encrypted=flag("encrypted", False),
    )


def with_vault(agent: Agent, vault: Vault) -> Agent:
    """The agent with `vault` kept whole in its registration."""
    return replace(agent, registration={**agent.registration, "vault": vault.as_dict()})


# What an agent PATCH may change (patch.py names each operation's target by these).
ENABLED = "enabled"
LOG_LEVEL = "log_level"
VAULT_REGION = "vault.region"
VAULT_USE_INTERNAL = "vault.use_internal"
AgentChanges = Sequence[tuple[str, Any]]

# The paths the PATCH page lists, and the target each changes: `/log_level` as the page's
# list says, `/log-level` as its table spells it (SPEC: both).
AGENT_PATCH_PATHS: Mapping[str, str] = {
    "/enabled": ENABLED,
    "/log_level": LOG_LEVEL,
    "/log-level": LOG_LEVEL,
    "/vault/region": VAULT_REGION,
    "/vault/use_internal": VAULT_USE_INTERNAL,
}


def _boolean(value: Any) -> bool:
    return isinstance(value, bool)  # not 1 or 0, which compare equal to true and false


def _one_of(allowed: tuple[str, ...]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and value in allowed


# Each target's values, and what a value that is not one of them is told.
AGENT_PATCH_VALUES: Mapping[str, tuple[Callable[[Any], bool], str]] = {
    ENABLED: (_boolean, "must be true or false"),
    LOG_LEVEL: (_one_of(LOG_LEVELS), f"must be one of {', '.join(LOG_LEVELS)}"),
    VAULT_REGION: (_one_of(REGIONS), f"must be one of the regions {', '.join(REGIONS)}"),
    VAULT_USE_INTERNAL: (_boolean, "must be true or false"),
}
ANY_PATCH_VALUE = "must be a value one of the paths takes: true or false, a log level or a region"


def agent_patch_value_problem(path: Any, value: Any) -> str | None:
    """What is wrong with `value` for `path` (None: nothing). A path the PATCH does not take
    (itself a problem) takes any value one of its paths would, so that a bad `op`, `path`
    and `value` are three problems, and a bad path with a good value one."""
    target = AGENT_PATCH_PATHS.get(path) if isinstance(path, str) else None
    if target is not None:
        accepts, problem = AGENT_PATCH_VALUES[target]
        return None if accepts(value) else problem
    if any(accepts(value) for accepts, _ in AGENT_PATCH_VALUES.values()):
        return None
    return ANY_PATCH_VALUE


def patched_agent(agent: Agent, changes: AgentChanges, region: str) -> Agent:
    """The agent after every (target, value) of a checked PATCH, in order; `agent` itself when
    the result is the agent as it was (a same-value change writes nothing). `region` is the
    service's, for a vault the registration does not keep whole."""
    enabled, log_level = agent.enabled, agent.log_level
    vault = before = agent_vault(agent, region)
    for target, value in changes:
        if target == ENABLED:
            enabled = bool(value)
        elif target == LOG_LEVEL:
            log_level = str(value)
        elif target == VAULT_REGION:
            vault = replace(vault, region=str(value))
        elif target == VAULT_USE_INTERNAL:
            vault = replace(vault, use_internal=bool(value))
        else:
            raise ValueError(f"not a target an agent PATCH changes: {target!r}")
    if (enabled, log_level, vault) == (agent.enabled, agent.log_level, before):
        return agent
    changed = replace(agent, enabled=enabled, log_level=log_level)
    return changed if vault == before else with_vault(changed, vault)


def password_hash(password: str) -> str:
    """What an agent's password is kept as: a test double need not stretch it, only not show it."""
    return hashlib.sha256(password.encode()).hexdigest()


def password_matches(agent: Agent, password: str) -> bool:
    return bool(agent.password_sha256) and hmac.compare_digest(agent.password_sha256, password_hash(password))


# SPEC (ours): online = heard from within this much service-clock time.
ONLINE_WINDOW = timedelta(minutes=5)
# Heard-from times are written at most once per this much time per agent, so that an agent
# sending X-Agent-Id with every request does not make every request a write; `online` may
# so turn false up to this much early.
HEARD_PRECISION = timedelta(seconds=1)


def is_online(agent: Agent, now: datetime) -> bool:
    return agent.last_heard is not None and agent.last_heard >= now - ONLINE_WINDOW


def needs_heard_update(last_heard: datetime | None, now: datetime) -> bool:
    """Whether `now` must be written as the agent's heard-from time (False: the kept one will do)."""
    return last_heard is None or not now - HEARD_PRECISION < last_heard <= now


@dataclass(frozen=True, slots=True)
class LogFile:
    """A log file an agent was asked to upload; `date` is when it was requested."""

    id: str
    project_id: str
    agent_id: str
    date: datetime
    state: LogFileState = LogFileState.REQUESTED


def check_transition(current: LogFileState, target: LogFileState, where: str = "") -> None:
    """Raise Conflict when `current -> target` is not in the transition table."""
    if (current, target) not in ALLOWED:
        prefix = f"{where}: " if where else ""
        raise Conflict(
            f"The log file cannot go from '{current}' to '{target}'.",
            [f"{prefix}cannot go from '{current}' to '{target}'"],
        )


def change_state(logfile: LogFile, targets: Iterable[LogFileState]) -> LogFile:
    """Apply every target state in order; all or nothing, since LogFile is immutable."""
    state = logfile.state
    for index, target in enumerate(targets):
        check_transition(state, target, f"/{index}/value")
        state = target
    return logfile if state is logfile.state else replace(logfile, state=state)


def states_entered(logfile: LogFile, targets: Iterable[LogFileState]) -> list[LogFileState]:
    """The states a valid patch moves `logfile` into, in order; a same-value retry enters none."""
    entered: list[LogFileState] = []
    state = logfile.state
    for target in targets:
        if target is not state:
            entered.append(target)
        state = target
    return entered
