"""The whole flow once, through the test client: register, request, start, complete, list, delete."""

from __future__ import annotations

from tests.conftest import Api


def test_logfile_flow_request_start_complete_list_delete(api: Api) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    assert api.patch_state(agent_id, logfile_id, "started").status_code == 204
    assert api.patch_state(agent_id, logfile_id, "completed").status_code == 204
    listed = api.list_logfiles(agent_id).get_json()["logfiles"]
    assert [(lf["id"], lf["state"]) for lf in listed] == [(logfile_id, "completed")]
    assert api.delete_logfile(agent_id, logfile_id).status_code == 204
    assert api.get_logfile(agent_id, logfile_id).status_code == 404


def test_no_content_answers_have_no_body_and_no_content_type(api: Api) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    for response in (
        api.patch_state(agent_id, logfile_id, "started"),
        api.delete_logfile(agent_id, logfile_id),
        api.delete_agent(agent_id),
    ):
        assert response.status_code == 204
        assert response.data == b""
        assert "Content-Type" not in response.headers
