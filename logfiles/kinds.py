"""Every kind of document the service keeps, declared once (stdlib only).

The document store (documents.py, store/documents.py) keeps them generically; a kind's rules
live in its own core module (configurations.py, activities.py...). docs/storage.md has the table.
"""

from __future__ import annotations

from .documents import AGENT, Kind

# A backup configuration belongs to an agent; listed per agent (parent) and per project.
CONFIGURATION = Kind("configuration", parent=AGENT)
# Jobs: a configuration's activities, the queue of a state, newest first by `time`
# (the job's last update, documents.time_key).
BACKUP = Kind("backup", parent=AGENT, indexed=("configuration_id", "state", "time"))
CLEANUP = Kind("cleanup", parent=AGENT, indexed=("configuration_id", "state", "time"))
# A restore belongs to its destination agent (its events go to that agent's feed).
RESTORE = Kind("restore", parent=AGENT, indexed=("backup_id", "configuration_id", "state", "time"))

JOB_KINDS: tuple[Kind, ...] = (BACKUP, RESTORE, CLEANUP)

# Requests (SPEC "The whole service": the panel asks, the agent reports the results). A browse
# request belongs to the agent it asks (for a backup's files: the backup's agent; `backup_id`
# then names the backup, "" for an agent's own files).
BROWSE_REQUEST = Kind("browse_request", parent=AGENT, indexed=("backup_id",))
VAULT_ENCRYPTION_REQUEST = Kind("vault_encryption_request", parent=AGENT)
VAULT_PASSWORD_VERIFICATION_REQUEST = Kind("vault_password_verification_request", parent=AGENT)
REQUEST_KINDS: tuple[Kind, ...] = (
    BROWSE_REQUEST,
    VAULT_ENCRYPTION_REQUEST,
    VAULT_PASSWORD_VERIFICATION_REQUEST,
)

# A project's summary settings (one document per project, id "summaries").
SUMMARY_SETTINGS = Kind("summary_settings")

# The kinds whose documents go with their agent when it is deleted (SPEC: its configurations
# and jobs, and its requests); a kind added later joins here.
AGENT_KINDS: tuple[Kind, ...] = (CONFIGURATION, *JOB_KINDS, *REQUEST_KINDS)
ALL_KINDS: tuple[Kind, ...] = (*AGENT_KINDS, SUMMARY_SETTINGS)
