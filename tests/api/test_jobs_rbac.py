"""The jobs' routes under a tokens file: an observer reads, a creator starts and updates,
another project's token is 403 (SPEC "Common to every /v2 route")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logfiles import Settings
from tests.conftest import JSON_PATCH, PROJECT, TOKEN, Api, assert_fault, configuration_body

TOKENS = {
    TOKEN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
    "observer": {"project_id": PROJECT, "roles": ["cloudbackup:observer"]},
    "creator": {"project_id": PROJECT, "roles": ["cloudbackup:creator"]},
    "elsewhere": {"project_id": "220022", "roles": ["admin"]},
}


@pytest.fixture
def settings(tmp_path: Path, store_url: str) -> Settings:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(TOKENS))
    return Settings(store_url=store_url, tokens_file=str(path), control_open=True)


def test_rights_on_jobs(api: Api) -> None:
    agent_id = api.agent()
    made = api.client.post(
        api.url("configurations"), json=configuration_body(agent_id), headers=api.headers()
    )
    start = {"configuration_id": made.get_json()["id"], "state": "start_requested"}
    assert_fault(api.client.post(api.url("backups"), json=start, headers=api.headers("observer")), 403)
    assert_fault(api.client.post(api.url("backups"), json=start, headers=api.headers("elsewhere")), 403)
    created = api.client.post(api.url("backups"), json=start, headers=api.headers("creator"))
    assert created.status_code == 201
    backup_id = created.get_json()["id"]
    for token in ("observer", "creator"):
        assert api.client.get(api.url("backups", backup_id), headers=api.headers(token)).status_code == 200
    move = json.dumps([{"op": "replace", "path": "/state", "value": "queued"}])
    patch_headers = {"Content-Type": JSON_PATCH}
    denied = api.client.patch(
        api.url("backups", backup_id), data=move, headers=api.headers("observer", **patch_headers)
    )
    assert_fault(denied, 403)
    allowed = api.client.patch(
        api.url("backups", backup_id), data=move, headers=api.headers("creator", **patch_headers)
    )
    assert allowed.status_code == 204
    assert_fault(api.client.get(api.url("cleanups"), headers=api.headers("elsewhere")), 403)
