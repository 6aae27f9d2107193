"""A control panel's and an agent's calls on /v2, with an X-Auth-Token (any token in open mode):
configurations, backups, restores and cleanups, browse and vault requests, moving a vault,
health and summary settings. Routes and bodies are the guide's pages'.

`StubClient` (client.py) is these plus the control plane's calls; import it from there. Every
method takes the token and the project first; an error status raises ControlError with the
status and the fault body (health's 503 is an answer instead: its report).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

if TYPE_CHECKING:
    from .client import Answer

JSON_PATCH = "application/json-patch+json"
# The job kinds, as their routes name them (`backup` -> /backups).
JOB_KINDS = ("backup", "restore", "cleanup")


def _segment(value: str) -> str:
    return quote(value, safe="")


def _project(project_id: str) -> str:
    return f"/v2/{_segment(project_id)}"


def _configuration(project_id: str, configuration_id: str) -> str:
    return f"{_project(project_id)}/configurations/{_segment(configuration_id)}"


def _agent(project_id: str, agent_id: str) -> str:
    return f"{_project(project_id)}/agents/{_segment(agent_id)}"


def _collection(kind: str) -> str:
    if kind not in JOB_KINDS:
        raise ValueError(f"a job kind is one of {', '.join(JOB_KINDS)}, not {kind!r}")
    return f"{kind}s"


def _job(project_id: str, kind: str, job_id: str) -> str:
    return f"{_project(project_id)}/{_collection(kind)}/{_segment(job_id)}"


def _query(**given: Any) -> str:
    """`?name=value&...` of the values given (None left out; booleans as true/false), or ""."""
    shown = {
        name: ("true" if value else "false") if isinstance(value, bool) else value
        for name, value in given.items()
        if value is not None
    }
    return f"?{urlencode(shown)}" if shown else ""


def _browse_path(project_id: str, agent_id: str | None, backup_id: str | None) -> str:
    """An agent's browse requests, or a backup's: exactly one of the two."""
    if (agent_id is None) == (backup_id is None):
        raise ValueError("a browse request is an agent's (agent_id) or a backup's (backup_id), not both")
    if agent_id is not None:
        return f"{_agent(project_id, agent_id)}/browse-requests"
    return f"{_project(project_id)}/backups/{_segment(str(backup_id))}/browse-requests"


def request_id_of(location: str) -> str:
    """The request's id: the last segment of the `Location` a 202 answered."""
    return urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]


def state_patch(state: str, **results: Any) -> list[dict[str, Any]]:
    """A job's JSON Patch as the update pages show it: `replace` `/state`, then `add` each
    result (`started_time`, `ended_time`, `errors`, `snapshot_id`...)."""
    operations = [{"op": "replace", "path": "/state", "value": state}]
    operations += [{"op": "add", "path": f"/{name}", "value": value} for name, value in results.items()]
    return operations


class V2Calls:
    """Mixed into StubClient, which supplies `exchange` (one HTTP request)."""

    def exchange(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        content_type: str = "application/json",
    ) -> Answer:
        raise NotImplementedError  # pragma: no cover (StubClient's)

    def _v2(
        self,
        token: str,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        agent_id: str | None = None,
    ) -> Any:
        headers = {"X-Auth-Token": token}
        if agent_id is not None:
            headers["X-Agent-Id"] = agent_id
        return self.exchange(method, path, body, headers, content_type=content_type).body

    def _located(self, token: str, path: str, body: Mapping[str, Any]) -> str:
        """POST a request (202 with `Location`); its id."""
        answer = self.exchange("POST", path, dict(body), {"X-Auth-Token": token})
        return request_id_of(answer.headers.get("Location", ""))

    # Backup configurations.

    def create_configuration(self, token: str, project_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /v2/{p}/configurations (the create page's body); the 201's configuration."""
        created: dict[str, Any] = self._v2(token, "POST", f"{_project(project_id)}/configurations", body)
        return created

    def configurations(
        self,
        token: str,
        project_id: str,
        agent_id: str | None = None,
        limit: int | None = None,
        marker: str | None = None,
        restorable: bool | None = None,
    ) -> dict[str, Any]:
        """One page of the project's configurations, or (with `agent_id`) the agent's:
        `{"configurations": [...]}`, with `links` (`next`) while more remain."""
        path = _project(project_id) if agent_id is None else _agent(project_id, agent_id)
        query = _query(limit=limit, marker=marker, restorable=restorable)
        page: dict[str, Any] = self._v2(token, "GET", f"{path}/configurations{query}")
        return page

    def configuration(self, token: str, project_id: str, configuration_id: str) -> dict[str, Any]:
        """GET /v2/{p}/configurations/{id}: its details."""
        found: dict[str, Any] = self._v2(token, "GET", _configuration(project_id, configuration_id))
        return found

    def update_configuration(
        self, token: str, project_id: str, configuration_id: str, operations: list[dict[str, Any]]
    ) -> None:
        """PATCH it with a JSON Patch document (sent as application/json, which the stub takes)."""
        self._v2(token, "PATCH", _configuration(project_id, configuration_id), operations)

    def delete_configuration(self, token: str, project_id: str, configuration_id: str) -> None:
        self._v2(token, "DELETE", _configuration(project_id, configuration_id))

    def agent_configuration(self, token: str, project_id: str, agent_id: str) -> dict[str, Any]:
        """GET /v2/{p}/agents/{id}/configuration: what the agent reads on `configuration_changed`."""
        path = f"{_agent(project_id, agent_id)}/configuration"
        document: dict[str, Any] = self._v2(token, "GET", path)
        return document

    # Backups, restores and cleanups (`kind`: backup, restore or cleanup).

    def start_backup(
        self,
        token: str,
        project_id: str,
        configuration_id: str,
        state: str = "start_requested",
        agent_id: str | None = None,
    ) -> dict[str, Any]:
        """POST /v2/{p}/backups: the 201's backup. `start_scheduled` is the agent's, sent with
        `agent_id` (X-Agent-Id: the configuration's agent, which the stub requires then)."""
        body = {"configuration_id": configuration_id, "state": state}
        started: dict[str, Any] = self._v2(
            token, "POST", f"{_project(project_id)}/backups", body, agent_id=agent_id
        )
        return started

    def start_restore(self, token: str, project_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v2/{p}/restores with the start page's body (`backup_id`, `destination_agent_id`,
        `destination_path`, `overwrite_files`, `encrypted_password_hex`, `inclusions`,
        `exclusions`); the 201's restore."""
        started: dict[str, Any] = self._v2(token, "POST", f"{_project(project_id)}/restores", dict(body))
        return started

    def start_cleanup(
        self, token: str, project_id: str, agent_id: str, state: str = "start_requested"
    ) -> dict[str, Any]:
        """POST /v2/{p}/cleanups for the agent; the 201's cleanup."""
        body = {"agent_id": agent_id, "state": state}
        started: dict[str, Any] = self._v2(token, "POST", f"{_project(project_id)}/cleanups", body)
        return started

    def jobs(
        self,
        token: str,
        project_id: str,
        kind: str,
        limit: int | None = None,
        marker: str | None = None,
        sort_dir: str | None = None,
        restorable: bool | None = None,
        configuration_id: str | None = None,
    ) -> dict[str, Any]:
        """One page of the project's backups, restores or cleanups (`{"backups": [...], "links":
        [...]}`), newest first unless `sort_dir="asc"`; backups also take `restorable` and, with
        it, `configuration_id` (the list page's)."""
        query = _query(
            limit=limit,
            marker=marker,
            sort_dir=sort_dir,
            restorable=restorable,
            configuration_id=configuration_id,
        )
        page: dict[str, Any] = self._v2(token, "GET", f"{_project(project_id)}/{_collection(kind)}{query}")
        return page

    def job(self, token: str, project_id: str, kind: str, job_id: str) -> dict[str, Any]:
        """GET its details."""
        found: dict[str, Any] = self._v2(token, "GET", _job(project_id, kind, job_id))
        return found

    def update_job(
        self,
        token: str,
        project_id: str,
        kind: str,
        job_id: str,
        operations: list[dict[str, Any]],
        agent_id: str | None = None,
    ) -> None:
        """PATCH it with a JSON Patch document (application/json-patch+json, the pages' type)."""
        self._v2(token, "PATCH", _job(project_id, kind, job_id), operations, JSON_PATCH, agent_id)

    def set_job_state(
        self,
        token: str,
        project_id: str,
        kind: str,
        job_id: str,
        state: str,
        agent_id: str | None = None,
        **results: Any,
    ) -> None:
        """Move it to `state` (the agent's progress, or the user's `stop_requested`), with the
        results a final state carries: `set_job_state(t, p, "backup", b, "completed",
        started_time=..., ended_time=..., snapshot_id=1, errors={...})`."""
        self.update_job(token, project_id, kind, job_id, state_patch(state, **results), agent_id)

    def job_errors(self, token: str, project_id: str, kind: str, job_id: str) -> dict[str, Any]:
        """GET .../errors: `count`, `reason`, `diagnostics` and the `list` the agent reported."""
        found: dict[str, Any] = self._v2(token, "GET", _job(project_id, kind, job_id) + "/errors")
        return found

    def job_events(
        self,
        token: str,
        project_id: str,
        kind: str,
        job_id: str,
        marker: int | str | None = None,
        limit: int | None = None,
        sort_dir: str | None = None,
    ) -> dict[str, Any]:
        """GET .../events: the job's events feed (`{"events": [...], "links": [...]}`)."""
        query = _query(marker=marker, limit=limit, sort_dir=sort_dir)
        page: dict[str, Any] = self._v2(token, "GET", _job(project_id, kind, job_id) + f"/events{query}")
        return page

    # Requests: the panel asks (a 202 whose `Location` names the request), the agent learns it
    # from its feed and reports (204), the panel reads the results (404 until reported).

    def request_browse(
        self,
        token: str,
        project_id: str,
        agent_id: str,
        path: str = "/",
        backup_id: str | None = None,
        encrypted_password_hex: str | None = None,
        path_encoded: str | None = None,
    ) -> str:
        """Ask the agent to browse `path`: its host's files, or (`backup_id`) that backup's,
        whose page also sends the agent and the vault's password (None: not encrypted); the
        request's id."""
        body: dict[str, Any] = {"path": path, "path_encoded": path_encoded}  # as the pages send it
        if backup_id is None:
            return self._located(token, _browse_path(project_id, agent_id, None), body)
        body.update(agent_id=agent_id, encrypted_password_hex=encrypted_password_hex)
        return self._located(token, _browse_path(project_id, None, backup_id), body)

    def report_browse(
        self,
        token: str,
        project_id: str,
        request_id: str,
        results: Mapping[str, Any],
        agent_id: str | None = None,
        backup_id: str | None = None,
    ) -> None:
        """The agent's report of a browse request (SPEC: POST .../browse-requests/{id} with the
        body the results page shows: `succeeded`, `path`, `items`...)."""
        where = _browse_path(project_id, agent_id, backup_id)
        self._v2(token, "POST", f"{where}/{_segment(request_id)}", dict(results))

    def browse_results(
        self,
        token: str,
        project_id: str,
        request_id: str,
        agent_id: str | None = None,
        backup_id: str | None = None,
    ) -> dict[str, Any]:
        """GET a browse request's results (ControlError 404 until the agent reported them)."""
        where = _browse_path(project_id, agent_id, backup_id)
        found: dict[str, Any] = self._v2(token, "GET", f"{where}/{_segment(request_id)}")
        return found

    def request_vault_encryption(
        self,
        token: str,
        project_id: str,
        agent_id: str,
        new_encrypted_password_hex: str,
        old_encrypted_password_hex: str | None = None,
    ) -> str:
        """Ask the agent to encrypt its vault (or change its password: give the old one); the
        request's id."""
        body = {
            "old_encrypted_password_hex": old_encrypted_password_hex,
            "new_encrypted_password_hex": new_encrypted_password_hex,
        }
        return self._located(token, f"{_agent(project_id, agent_id)}/vault-encryption-requests", body)

    def report_vault_encryption(
        self,
        token: str,
        project_id: str,
        agent_id: str,
        request_id: str,
        succeeded: bool = True,
        action: str = "enabled",
    ) -> None:
        """The agent's report; success flips the vault's `encrypted`."""
        path = f"{_agent(project_id, agent_id)}/vault-encryption-requests/{_segment(request_id)}"
        self._v2(token, "POST", path, {"action": action, "succeeded": succeeded})

    def vault_encryption(self, token: str, project_id: str, agent_id: str, request_id: str) -> dict[str, Any]:
        """GET the request's result (404 until reported)."""
        path = f"{_agent(project_id, agent_id)}/vault-encryption-requests/{_segment(request_id)}"
        found: dict[str, Any] = self._v2(token, "GET", path)
        return found

    def request_password_verification(
        self,
        token: str,
        project_id: str,
        agent_id: str,
        encrypted_password_hex: str,
        vault_agent_id: str | None = None,
    ) -> str:
        """Ask the agent to check a vault password: its own vault's, or (`vault_agent_id`, the
        body's `agent_id`) another agent's; the request's id."""
        path = f"{_agent(project_id, agent_id)}/vault-password-verification-requests"
        body = {"encrypted_password_hex": encrypted_password_hex, "agent_id": vault_agent_id}
        return self._located(token, path, body)

    def report_password_verification(
        self, token: str, project_id: str, agent_id: str, request_id: str, verified: bool
    ) -> None:
        """The agent's answer: whether the password opens the vault."""
        path = f"{_agent(project_id, agent_id)}/vault-password-verification-requests/{_segment(request_id)}"
        self._v2(token, "POST", path, {"verified": verified})

    def password_verification(
        self, token: str, project_id: str, agent_id: str, request_id: str
    ) -> dict[str, Any]:
        """GET the request's result (`valid`; 404 until reported)."""
        path = f"{_agent(project_id, agent_id)}/vault-password-verification-requests/{_segment(request_id)}"
        found: dict[str, Any] = self._v2(token, "GET", path)
        return found

    def move_vault(self, token: str, project_id: str, agent_id: str, source_agent_id: str) -> None:
        """Give `agent_id` the vault of `source_agent_id` (which gets a new empty one)."""
        body = {"source_agent_id": source_agent_id}
        self._v2(token, "POST", f"{_agent(project_id, agent_id)}/vault", body)

    # Health, ping and summary settings.

    def health(self, token: str, project_id: str, system: str | None = None) -> dict[str, Any]:
        """The health report (`{"storage": {"cassandra": {"online": ...}, ...}, ...}`), or one
        dependent system's entry (`system`: cassandra, swift, pecan). A 503 with the report
        (a system offline) is returned as the report: read `online`. Other errors raise."""
        from .client import ControlError

        path = f"{_project(project_id)}/health" + ("" if system is None else f"/{_segment(system)}")
        try:
            report: dict[str, Any] = self._v2(token, "GET", path)
        except ControlError as exc:
            if exc.status == 503 and isinstance(exc.body, dict) and "message" not in exc.body:
                return exc.body  # the report, not a fault body (an injected fault's)
            raise
        return report

    def ping(self, token: str, project_id: str) -> None:
        """GET .../ping: returns on its 204, raises otherwise."""
        self._v2(token, "GET", f"{_project(project_id)}/ping")

    def summary_settings(self, token: str, project_id: str) -> dict[str, Any]:
        """The project's summary settings (before any PUT: the retrieve page's example)."""
        found: dict[str, Any] = self._v2(token, "GET", f"{_project(project_id)}/settings/summaries")
        return found

    def set_summary_settings(
        self,
        token: str,
        project_id: str,
        notifications: Iterable[Mapping[str, str]],
        daily: bool = False,
        weekly: bool = False,
    ) -> None:
        """Replace them whole (a PUT): `notifications` as `{"type": "email", "destination": ...}`."""
        body = {"daily": daily, "weekly": weekly, "notifications": [dict(n) for n in notifications]}
        self._v2(token, "PUT", f"{_project(project_id)}/settings/summaries", body)
