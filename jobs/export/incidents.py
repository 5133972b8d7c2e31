"""The incidents the export files (seed 000 §5), through the compliance area's one filing function.

A potential credential or PII in the clean output is a SEV2 compliance incident (data exposure) owned by
security.ops; a pipeline error is a SEV3 operational incident (workflow failure) owned by code.platform.
Filing is idempotent per PR: a run killed after filing and redone finds the incident already linked to
the PR and does not file a second one. When the people seed 002 requires are not configured (nobody holds
security.ops, the COO…), the incident cannot be filed: it is recorded in the operations ledger as
`incident.unfiled` with the reason, and the PR stays held, so nothing is merged for want of a person.
"""
from __future__ import annotations

import logging

from jobs.actors import DAEMON, Role
from jobs.context import Context
from jobs.errors import Invalid

log = logging.getLogger("chatops.export")

INCIDENT_UNFILED = "incident.unfiled"


def open_incident(ctx: Context, credential: bool, subject: str, summary: str) -> str:
    """File (or find) the incident of the PR whose thread key is `subject`; returns its id."""
    from jobs.compliance import flows, service
    from jobs.compliance.records import Kind, Sev, Trigger

    trigger, sev, kind = ((Trigger.DATA_EXPOSURE, Sev.SEV2, Kind.COMPLIANCE) if credential
                          else (Trigger.WORKFLOW_FAILURE, Sev.SEV3, Kind.OPERATIONAL))
    for incident in service.all_incidents(ctx):
        if subject in incident.links and incident.trigger == trigger:
            return incident.id
    owners = sorted(a.name for a in ctx.people.with_role(Role.CODE_PLATFORM))
    owner = owners[0] if owners and not credential else None
    try:
        incident = flows.file_incident(
            ctx, DAEMON, trigger, sev, what=summary,
            contained="the export PR is held: nothing is merged until a re-scrub grades it HIGH or MEDIUM",
            at_risk=("a credential or PII may be in the clean export copies of this PR" if credential
                     else "the day's session export is not delivered until the pipeline is restored"),
            kind=kind, links=(subject,), owner=owner)
    except Invalid as exc:
        log.error("the export's %s incident for %s could not be filed: %s", sev.value, subject, exc)
        ctx.ledgers.operations.append(INCIDENT_UNFILED, DAEMON.ledger_id, None, {"data": {
            "subject": subject, "subject_kind": "export_pr", "sev": sev.value, "trigger": trigger.value,
            "reason": str(exc)}})
        return f"unfiled ({exc})"
    return incident.id
