"""The agent's side as pure rules: token expiry and checksums, event retention and bodies,
agent status, passwords. No app and no store but where a rule lives only in one (busy)."""

from __future__ import annotations

import hashlib
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logfiles import events
from logfiles.auth import (
    TOKEN_LIFETIME,
    Action,
    Grant,
    IssuedToken,
    TokenRegistry,
    may_be_issued,
    new_token_id,
)
from logfiles.clock import ClockSetting
from logfiles.errors import Forbidden, Unauthorized
from logfiles.events import EVENT_LIFETIME, Event, EventQuery, event_body, oldest_kept
from logfiles.model import (
    HEARD_PRECISION,
    ONLINE_WINDOW,
    Agent,
    LogFile,
    LogFileState,
    change_state,
    format_time,
    is_online,
    needs_heard_update,
    password_hash,
    password_matches,
    states_entered,
)
from logfiles.store import MemoryStore

PROJECT = "110011"
OTHER_PROJECT = "220022"
T0 = datetime(2014, 9, 23, 12, 22, 40, 606703, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
STARTED = LogFileState.STARTED
COMPLETED = LogFileState.COMPLETED
REQUESTED = LogFileState.REQUESTED

OPEN = TokenRegistry()
STRICT = TokenRegistry({"panel": Grant(PROJECT, ("cloudbackup:admin",))})

# Times anywhere in the range the service accepts, to the microsecond (hypothesis takes naive
# bounds and puts the zone on).
moments = st.datetimes(
    min_value=datetime(1971, 1, 1),  # noqa: DTZ001
    max_value=datetime(8999, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
# Small spans either side of the boundaries the rules draw.
spans = st.timedeltas(min_value=timedelta(minutes=-20), max_value=timedelta(minutes=20))


def agent(**changes: Any) -> Agent:
    return Agent(id="agent-1", project_id=PROJECT, registered_time=T0, **changes)


def issued(roles: tuple[str, ...] | None = None, project_id: str = PROJECT, at: datetime = T0) -> IssuedToken:
    """An agent's token issued `at`, as authenticate_agent makes it."""
    return IssuedToken(new_token_id(), project_id, roles, at + TOKEN_LIFETIME, "agent-1")


def authorize(
    token: IssuedToken | None,
    now: datetime,
    registry: TokenRegistry = OPEN,
    action: Action = Action.READ,
    project_id: str = PROJECT,
    token_id: str | None = None,
) -> Grant | None:
    """authorize() with the store's lookup replaced by `token` (None: the store holds none)."""
    wanted = token_id if token_id is not None else token.id if token is not None else new_token_id()
    return registry.authorize(wanted, project_id, action, issued=lambda _: token, now=lambda: now)


# Tokens: expiry by the service clock


def test_token_lifetime_is_24_hours() -> None:
    """SPEC (ours): an agent's token expires 24 h after it was issued."""
    assert timedelta(hours=24) == TOKEN_LIFETIME


@pytest.mark.parametrize("registry", [OPEN, STRICT], ids=["open", "strict"])
def test_authorize_issued_token_valid_until_just_before_expires(registry: TokenRegistry) -> None:
    token = issued()
    clock = ClockSetting(frozen_at=T0)
    assert authorize(token, clock.now(), registry) == Grant(PROJECT, None)
    later = clock.advanced(TOKEN_LIFETIME - MICROSECOND)
    assert authorize(token, later.now(), registry) == Grant(PROJECT, None)


@pytest.mark.parametrize("registry", [OPEN, STRICT], ids=["open", "strict"])
@pytest.mark.parametrize("past", [timedelta(0), MICROSECOND, timedelta(days=400)])
def test_authorize_issued_token_at_or_after_expires_is_unauthorized(
    registry: TokenRegistry, past: timedelta
) -> None:
    """README: exactly 24 h after issue is expired; open mode does not take it as "any token"."""
    token = issued()
    clock = ClockSetting(frozen_at=T0).advanced(TOKEN_LIFETIME + past)
    with pytest.raises(Unauthorized) as excinfo:
        authorize(token, clock.now(), registry)
    assert excinfo.value.errors == [f"X-Auth-Token: expired at {format_time(token.expires)}"]


@given(age=st.timedeltas(min_value=-TOKEN_LIFETIME, max_value=3 * TOKEN_LIFETIME))
def test_authorize_issued_token_valid_exactly_while_younger_than_its_lifetime(age: timedelta) -> None:
    token = issued()
    if age < TOKEN_LIFETIME:
        assert authorize(token, T0 + age) == token.grant
    else:
        with pytest.raises(Unauthorized):
            authorize(token, T0 + age)


@pytest.mark.parametrize("registry", [OPEN, STRICT], ids=["open", "strict"])
def test_authorize_issued_token_the_store_no_longer_holds_is_unauthorized(registry: TokenRegistry) -> None:
    """README: a deleted agent's tokens, and all tokens after a reset, are 401, open mode included."""
    with pytest.raises(Unauthorized):
        authorize(None, T0, registry)


def test_authorize_issued_token_of_another_project_is_forbidden() -> None:
    """SPEC: the token carries its agent's project (open mode: rights on that project only)."""
    with pytest.raises(Forbidden):
        authorize(issued(), T0, project_id=OTHER_PROJECT)


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        (None, set(Action)),
        (("cloudbackup:admin",), set(Action)),
        (("cloudbackup:creator",), {Action.CREATE, Action.READ, Action.UPDATE}),
        (("cloudbackup:observer",), {Action.READ}),
        ((), set()),
    ],
)
def test_authorize_issued_token_carries_the_registering_tokens_roles(
    roles: tuple[str, ...] | None, allowed: set[Action]
) -> None:
    token = issued(roles)
    for action in Action:
        if action in allowed:
            assert authorize(token, T0, action=action) == Grant(PROJECT, roles)
        else:
            with pytest.raises(Forbidden):
                authorize(token, T0, action=action)


def test_authorize_configured_token_is_not_looked_up_among_issued_ones() -> None:
    configured = new_token_id()  # looks issued, yet the tokens file names it: the file wins
    registry = TokenRegistry({configured: Grant(PROJECT, ("observer",))})
    lookup = mock.Mock(side_effect=AssertionError("looked up"))
    assert registry.authorize(configured, PROJECT, Action.READ, lookup, lambda: T0) == Grant(
        PROJECT, ("observer",)
    )


def test_authorize_open_mode_any_other_token_is_not_looked_up() -> None:
    lookup = mock.Mock(side_effect=AssertionError("looked up"))
    assert (
        OPEN.authorize("0f6e9f63600142f0a970911583522217", PROJECT, Action.DELETE, lookup, lambda: T0) is None
    )
    assert OPEN.authorize(str(uuid.uuid4()), PROJECT, Action.DELETE, lookup, lambda: T0) is None


# Tokens: ids that the service knows as its own


@given(made_from=st.uuids(version=4))
def test_new_token_id_is_a_uuid4_string_that_may_be_issued(made_from: uuid.UUID) -> None:
    """SPEC: the token is a UUID (ids are UUID4 strings); every one made passes the check."""
    with mock.patch("uuid.uuid4", return_value=made_from):
        token = new_token_id()
    parsed = uuid.UUID(token)
    assert str(parsed) == token
    assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
    assert token[:-12] == str(made_from)[:-12]
    assert may_be_issued(token)


def test_new_token_id_never_repeats() -> None:
    made = {new_token_id() for _ in range(2000)}
    assert len(made) == 2000 and all(may_be_issued(token) for token in made)


@given(text=st.text(max_size=40) | st.text(alphabet=string.hexdigits.lower() + "-", min_size=36, max_size=36))
def test_may_be_issued_rejects_random_strings(text: str) -> None:
    assert not may_be_issued(text)


@given(other=st.uuids(version=4))
def test_may_be_issued_rejects_uuids_it_did_not_make(other: uuid.UUID) -> None:
    """Open mode's "any token" may be a UUID too: only the service's own are looked up."""
    assert not may_be_issued(str(other))


@given(made_from=st.uuids(version=4), index=st.integers(0, 35), char=st.sampled_from("0123456789abcdef-"))
def test_may_be_issued_rejects_any_one_character_changed(made_from: uuid.UUID, index: int, char: str) -> None:
    with mock.patch("uuid.uuid4", return_value=made_from):
        token = new_token_id()
    changed = token[:index] + char + token[index + 1 :]
    assert may_be_issued(changed) is (changed == token)


def test_may_be_issued_rejects_an_issued_token_with_anything_around_it() -> None:
    token = new_token_id()
    variants = {token.upper(), f" {token}", f"{token}0", token[:-1], token.replace("-", "")} - {token}
    for variant in variants:
        assert not may_be_issued(variant), variant


# Events: retention by the service clock


def test_event_lifetime_is_ten_minutes() -> None:
    """SPEC (ours): each event is kept 10 minutes of service-clock time."""
    assert timedelta(minutes=10) == EVENT_LIFETIME


def test_oldest_kept_follows_the_service_clock() -> None:
    clock = ClockSetting(frozen_at=T0)
    kept = Event(PROJECT, None, T0, "agent_activate")
    assert kept.time >= oldest_kept(clock.advanced(EVENT_LIFETIME - MICROSECOND).now())
    assert kept.time < oldest_kept(clock.advanced(EVENT_LIFETIME + MICROSECOND).now())
    # The clock moved back: a newer event than "now" is still shown.
    assert kept.time >= oldest_kept(clock.advanced(-timedelta(hours=1)).now())


@given(now=moments, age=spans)
def test_oldest_kept_shows_events_younger_than_the_lifetime_only(now: datetime, age: timedelta) -> None:
    shown = now - age >= oldest_kept(now)
    if age < EVENT_LIFETIME:
        assert shown
    if age > EVENT_LIFETIME:
        assert not shown


@given(marker=st.integers(1, 10**18 - 1), event_id=st.integers(1, 10**18 - 1))
def test_event_query_marker_means_after_it_ascending_before_it_descending(marker: int, event_id: int) -> None:
    """SPEC: marker lists newer events; README: with sort_dir=desc, older ones, newest first."""
    assert EventQuery(10, marker).accepts(event_id) is (event_id > marker)
    assert EventQuery(10, marker, descending=True).accepts(event_id) is (event_id < marker)
    assert EventQuery(10).accepts(event_id) and EventQuery(10, descending=True).accepts(event_id)


# Events: what each carries, in the guide's member order


def registered_agent(registration: dict[str, Any] | None = None) -> Agent:
    body = (
        registration
        if registration is not None
        else {
            "name": "Web Server",
            "host": {
                "os": {"name": "Ubuntu", "version": "14.04", "architecture": "64-bit"},
                "flavor": "nova",
            },
            "rsa_public_key": {"modulus": "E1", "exponent": 10001},
        }
    )
    return agent(registration=body)


def test_agent_registered_body_has_name_and_os_and_a_request_id() -> None:
    emitted = replace_id(events.agent_registered(registered_agent(), "req-1"), 7)
    body = event_body(emitted)
    assert list(body) == ["id", "time", "event", "agent", "request_id"]
    assert body == {
        "id": "7",
        "time": "2014-09-23T12:22:40.606703Z",
        "event": "agent_registered",
        "agent": {
            "id": "agent-1",
            "name": "Web Server",
            "host": {"os": {"name": "Ubuntu", "version": "14.04", "architecture": "64-bit"}},
        },
        "request_id": "req-1",
    }
    assert (emitted.project_id, emitted.agent_id) == (PROJECT, "agent-1")


def test_agent_registered_without_name_or_os_shows_the_id_only() -> None:
    body = event_body(events.agent_registered(registered_agent({"host": {"flavor": "nova"}}), "r"))
    assert body["agent"] == {"id": "agent-1"}


def test_logfile_upload_body_links_the_upload_url() -> None:
    logfile = LogFile("lf-1", PROJECT, "agent-1", T0 + timedelta(seconds=5))
    emitted = events.logfile_upload(logfile, "https://store/v1/CloudBackupLogs/x.gz")
    body = event_body(replace_id(emitted, 12))
    assert list(body) == ["id", "time", "event", "agent", "request_id", "links"]
    assert body["event"] == "logfile_upload"
    assert body["time"] == format_time(logfile.date)
    assert body["agent"] == {"id": "agent-1"}
    assert body["request_id"] == "lf-1"
    assert body["links"] == [{"href": "https://store/v1/CloudBackupLogs/x.gz", "rel": "logfile"}]


@pytest.mark.parametrize(
    ("start", "targets", "names"),
    [
        (REQUESTED, [STARTED], ["logfile_started"]),
        (REQUESTED, [COMPLETED], ["logfile_completed"]),
        (REQUESTED, [STARTED, COMPLETED], ["logfile_started", "logfile_completed"]),
        (REQUESTED, [STARTED, STARTED], ["logfile_started"]),
        (STARTED, [STARTED], []),
        (STARTED, [COMPLETED], ["logfile_completed"]),
        (STARTED, [STARTED, COMPLETED], ["logfile_completed"]),
        (COMPLETED, [COMPLETED], []),
    ],
)
def test_states_events_one_per_state_a_patch_enters(
    start: LogFileState, targets: list[LogFileState], names: list[str]
) -> None:
    """SPEC: `logfile_started`/`logfile_completed` when a PATCH moves it there, not on a retry."""
    logfile = LogFile("lf-1", PROJECT, "agent-1", T0, start)
    change_state(logfile, targets)  # a legal patch, or this raises
    emitted = events.states_events(logfile, states_entered(logfile, targets), T0 + timedelta(hours=1))
    assert [e.event for e in emitted] == names
    for e in emitted:
        body = event_body(e)
        assert list(body) == ["id", "time", "event", "agent", "request_id"]
        assert (body["agent"], body["request_id"], e.time) == (
            {"id": "agent-1"},
            "lf-1",
            T0 + timedelta(hours=1),
        )


# Posted events: tests/unit/test_posted_events.py.


detail_names = st.sampled_from(["links", "mode", "request_id", "agent", "extra", "zz", "a", "id", "event"])


@given(
    names=st.lists(detail_names, unique=True, max_size=9),
    number=st.integers(1, 10**18 - 1),
)
def test_event_body_orders_members_as_the_guide_whatever_the_details_order(
    names: list[str], number: int
) -> None:
    details = {name: f"value of {name}" for name in names}
    body = event_body(Event(PROJECT, None, T0, "startup", details, number))
    guide = [name for name in events.DETAIL_ORDER if name in details]
    rest = [name for name in names if name not in guide and name not in ("id", "time", "event")]
    assert list(body) == ["id", "time", "event", *guide, *rest]
    # The event's own id, time and name are never overwritten by a detail of the same name.
    assert (body["id"], body["time"], body["event"]) == (str(number), format_time(T0), "startup")


def replace_id(event: Event, number: int) -> Event:
    """The event as a store numbers it."""
    return Event(event.project_id, event.agent_id, event.time, event.event, event.details, number)


# Agents: online, heard-from precision, busy


def test_online_window_is_five_minutes_and_precision_a_second() -> None:
    """SPEC (ours): online = heard from in the last 5 minutes; written at most once a second."""
    assert timedelta(minutes=5) == ONLINE_WINDOW
    assert timedelta(seconds=1) == HEARD_PRECISION


def test_is_online_by_the_service_clock() -> None:
    heard = agent(last_heard=T0)
    clock = ClockSetting(frozen_at=T0)
    assert is_online(heard, clock.now())
    assert is_online(heard, clock.advanced(ONLINE_WINDOW - MICROSECOND).now())
    assert not is_online(heard, clock.advanced(ONLINE_WINDOW + MICROSECOND).now())
    assert not is_online(heard, clock.advanced(timedelta(days=1)).now())


def test_is_online_registration_alone_does_not_count() -> None:
    """SPEC: online when heard from; an agent never heard from is offline from the start."""
    assert not is_online(agent(), T0)


@pytest.mark.parametrize(
    ("last_heard", "now", "needed"),
    [
        (None, T0, True),
        (T0, T0, False),
        (T0, T0 + HEARD_PRECISION - MICROSECOND, False),
        (T0, T0 + HEARD_PRECISION, True),
        (T0, T0 + timedelta(hours=1), True),
        (T0 + MICROSECOND, T0, True),  # the clock moved back: the kept time is in the future
    ],
)
def test_needs_heard_update_at_most_once_a_second(
    last_heard: datetime | None, now: datetime, needed: bool
) -> None:
    assert needs_heard_update(last_heard, now) is needed


@given(now=moments, lag=st.timedeltas(min_value=-HEARD_PRECISION, max_value=2 * HEARD_PRECISION), later=spans)
def test_kept_heard_time_turns_offline_at_most_a_second_early_never_late(
    now: datetime, lag: timedelta, later: timedelta
) -> None:
    """README: so `online` may turn false up to a second early. The agent is heard from at
    `now`; what the store keeps is `now` if an update is needed, else the older kept time."""
    kept = now - lag
    stored = now if needs_heard_update(kept, now) else kept
    assert now - HEARD_PRECISION < stored <= now
    moment = now + ONLINE_WINDOW + later
    truly = is_online(agent(last_heard=now), moment)
    shown = is_online(agent(last_heard=stored), moment)
    assert truly or not shown  # never online longer than the truth
    if is_online(agent(last_heard=now), moment + HEARD_PRECISION):
        assert shown  # offline at most a second early


def test_busy_while_a_logfile_is_started() -> None:
    """SPEC: busy while one of its log files is `started` (the rule lives in the store)."""
    store = MemoryStore()
    store.add_agent(agent())
    logfile = LogFile("lf-1", PROJECT, "agent-1", T0)
    store.add_logfile(logfile)
    assert not store.agent_busy(PROJECT, "agent-1")
    for target, busy in [(STARTED, True), (STARTED, True), (COMPLETED, False)]:

        def move(current: LogFile, target: LogFileState = target) -> LogFile:
            return change_state(current, [target])

        store.update_logfile(PROJECT, "agent-1", "lf-1", move)
        assert store.agent_busy(PROJECT, "agent-1") is busy


# Passwords


def test_password_hash_is_sha256_hex_never_the_password() -> None:
    assert password_hash("s3cret") == hashlib.sha256(b"s3cret").hexdigest()
    assert password_hash("é") == hashlib.sha256("é".encode()).hexdigest()


@given(password=st.text(max_size=64), other=st.text(max_size=64))
def test_password_matches_only_the_password_it_was_made_from(password: str, other: str) -> None:
    registered = agent(password_sha256=password_hash(password))
    assert password_matches(registered, password)
    assert password_matches(registered, other) is (other == password)
    assert password_hash(password) != password


@given(password=st.text(max_size=64))
def test_password_matches_nothing_without_a_password(password: str) -> None:
    """A seeded agent without a password cannot authenticate, not even with the empty one."""
    assert not password_matches(agent(), password)


# Agents: the fingerprint an authentication is compared with


@pytest.mark.parametrize(
    ("registration", "fingerprint"),
    [
        ({"host": {"fingerprint": "abc"}}, "abc"),
        ({"host": {"fingerprint": ""}}, ""),
        ({"host": {"fingerprint": 12}}, None),
        ({"host": {}}, None),
        ({"host": "abc"}, None),
        ({}, None),
    ],
)
def test_agent_fingerprint_is_the_registered_host_fingerprint(
    registration: dict[str, Any], fingerprint: str | None
) -> None:
    assert agent(registration=registration).fingerprint == fingerprint
