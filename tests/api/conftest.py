"""Fixtures of the API suite."""

from __future__ import annotations

import pytest

from tests.conftest import Api


@pytest.fixture
def ids(api: Api) -> tuple[str, str]:
    """An agent and one requested log file of it."""
    agent_id = api.agent()
    return agent_id, api.logfile(agent_id)
