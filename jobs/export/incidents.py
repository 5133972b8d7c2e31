"""The incidents the export files (seed 000 §5), as `incident.opened` entries in the operations ledger.

One function, so that the compliance area can take them over by changing only this body: the entry has
the incident's id, kind, severity and subject, which is what that area's incident records hold.
"""
from __future__ import annotations

from jobs.actors import DAEMON
from jobs.context import Context

INCIDENT_OPENED = "incident.opened"


def open_incident(ctx: Context, incident: str, kind: str, sev: str, subject: str, summary: str) -> str:
    """Record incident `incident` (e.g. `INC-EXPORT-2026-12-05`); returns its id."""
    ctx.ledgers.operations.append(INCIDENT_OPENED, DAEMON.ledger_id, None, {"data": {
        "incident": incident, "kind": kind, "sev": sev, "subject": subject, "subject_kind": "export_pr",
        "summary": summary, "opened_by": "export", "opened_at": ctx.now().isoformat()}})
    return incident
