"""What the bench drives: request shapes (scenarios), the stub's configurations, and the row ids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TOKEN = {"X-Auth-Token": "t"}
PATCH_BODY = b'[{"op":"replace","path":"/state","value":"started"}]'
PATCH_HEADERS = {**TOKEN, "Content-Type": "application/json-patch+json"}
# Agents the load scenarios read (id -> log files generated), and the one POST writes to,
# so that POSTs never change what the list scenarios page through.
LIST_AGENTS = {"a10": 10, "a1k": 1_000, "a100k": 100_000}
POST_AGENT = "apost"


@dataclass(frozen=True)
class Scenario:
    """One request shape, driven against the stub and the baseline alike."""

    key: str
    label: str
    method: str
    path: str  # `{id}`: a seeded log file of agent a10
    lua: str
    status: int


SCENARIOS = (
    Scenario(
        "patch", "PATCH log file (same-value retry)", "PATCH", "/v2/p/agents/a10/logfiles/{id}", "patch", 204
    ),
    Scenario("post", "POST request a log file", "POST", f"/v2/p/agents/{POST_AGENT}/logfiles", "post", 202),
    Scenario("get", "GET log file details", "GET", "/v2/p/agents/a10/logfiles/{id}", "get", 200),
    Scenario("list10", "GET list, agent with 10", "GET", "/v2/p/agents/a10/logfiles", "get", 200),
    Scenario("list1k", "GET list, agent with 1k", "GET", "/v2/p/agents/a1k/logfiles", "get", 200),
    Scenario("list100k", "GET list, agent with 100k", "GET", "/v2/p/agents/a100k/logfiles", "get", 200),
)
SCENARIO_BY_KEY = {s.key: s for s in SCENARIOS}


@dataclass(frozen=True)
class Config:
    """A documented configuration of the stub; `env` is added to a cleared LOGFILES_* environment."""

    name: str
    description: str
    env: Mapping[str, str]
    scenarios: tuple[str, ...]
    sqlite: bool = False


def configs(tmp: Path) -> tuple[Config, ...]:
    all_keys = tuple(s.key for s in SCENARIOS)
    return (
        Config("memory", "memory store, journal on (1 worker, gevent)", {}, all_keys),
        Config(
            "memory-nojournal",
            "memory store, LOGFILES_JOURNAL_SIZE=0",
            {"LOGFILES_JOURNAL_SIZE": "0"},
            ("patch",),
        ),
        Config(
            "sqlite",
            "SQLite store, LOGFILES_WORKERS=4 (gevent)",
            {"LOGFILES_STORE": f"sqlite:///{tmp / 'bench.db'}", "LOGFILES_WORKERS": "4"},
            all_keys,
            sqlite=True,
        ),
        Config(
            "sqlite-nojournal",
            "SQLite store, LOGFILES_WORKERS=4, LOGFILES_JOURNAL_SIZE=0",
            {
                "LOGFILES_STORE": f"sqlite:///{tmp / 'bench-nojournal.db'}",
                "LOGFILES_WORKERS": "4",
                "LOGFILES_JOURNAL_SIZE": "0",
            },
            ("patch",),
            sqlite=True,
        ),
    )


# Row ids for --only: `<scenario>-<config>`, and the parts that need no load generator.
ALL_IDS = [f"{key}-{config.name}" for config in configs(Path()) for key in config.scenarios]
EXTRAS = ("startup", "rss", "disk")
