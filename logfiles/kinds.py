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
# The kinds whose documents go with their agent when it is deleted (SPEC: its configurations
# and jobs); a kind added later joins here.
AGENT_KINDS: tuple[Kind, ...] = (CONFIGURATION, *JOB_KINDS)
ALL_KINDS: tuple[Kind, ...] = AGENT_KINDS
