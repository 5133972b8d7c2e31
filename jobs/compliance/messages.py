"""What the compliance area says, and to whom: only what §4 names, and content only in the CEO's DM.

* the CEO's SEV1 DM "with what happened, what's contained, what's at risk": the one message that
  carries incident text; it is marked `sealed`, so the outbox holds it encrypted (`jobs.outbox`);
* the COO's DM ("takes legal coordination ownership"): the id, severity and deadlines, no text;
* `#security-incidents`: id, kind, severity, step names, deadlines, who owns it. Never text.
Every notice here is about the subject `INC-<n>` of kind `incident`, so a thread reply or a button on
it reaches the incident commands (`chatops/commands/incident.py`).
"""
from __future__ import annotations

from datetime import datetime

from jobs.actors import Role
from jobs.compliance.clocks import clocks, show_due
from jobs.compliance.records import Clock, Incident
from jobs.context import Context
from jobs.errors import Invalid
from jobs.notices import Notice

SUBJECT_KIND = "incident"


def people_with(ctx: Context, role: Role) -> tuple[str, ...]:
    names = tuple(sorted(a.name for a in ctx.people.with_role(role)))
    if not names:
        raise Invalid(f"nobody in config.toml [people] holds role {role.value}; a compliance incident must reach "
                      f"them (seed 002 §4): add the role to a person")
    return names


def ceo_dm(ctx: Context, incident: Incident) -> Notice:
    text = (f"{incident.id} {incident.sev.value} compliance incident ({incident.trigger.value})\n"
            f"What happened: {incident.what}\nWhat is contained: {incident.contained}\n"
            f"What is at risk: {incident.at_risk}")
    return Notice(kind="compliance.ceo", subject=incident.id, text=text, dm_to=people_with(ctx, Role.CEO),
                  fields={"sensitivity": "compliance", "sealed": True}, suppressible=False)


def _deadlines(ctx: Context, incident: Incident, now: datetime) -> str:
    open_ = [c for c in clocks(incident, ctx.settings) if c.done_at is None]
    return "; ".join(f"{c.name} due {show_due(c.due, now, ctx.settings)}" for c in open_) or "none open"


def coo_dm(ctx: Context, incident: Incident, why: str) -> Notice:
    text = (f"{incident.id} {incident.sev.value} {incident.kind.value} incident: {why}. "
            f"Deadlines: {_deadlines(ctx, incident, ctx.now())}. "
            f"Read it with: chatops incident show {incident.id} --as <you>")
    return Notice(kind="compliance.coo", subject=incident.id, text=text, dm_to=people_with(ctx, Role.COO),
                  suppressible=False)


def channel(ctx: Context, incident: Incident, headline: str, dm_to: tuple[str, ...] = ()) -> Notice:
    text = (f"{incident.id} {incident.sev.value} {incident.kind.value} incident: {headline}. "
            f"Owner: {incident.owner}. Open deadlines: {_deadlines(ctx, incident, ctx.now())}")
    return Notice(kind="compliance.status", subject=incident.id, text=text,
                  channel=ctx.settings.slack.channels.security_incidents, dm_to=dm_to,
                  fields={"incident": incident.id, "severity": incident.sev.value}, subject_kind=SUBJECT_KIND,
                  suppressible=False)


def reminder(ctx: Context, incident: Incident, clock: Clock) -> Notice:
    due = show_due(clock.due, ctx.now(), ctx.settings)
    return channel(ctx, incident, f"reminder: {clock.name} due {due}", dm_to=(incident.owner,))


def overdue(ctx: Context, incident: Incident, clock: Clock, escalate_to: tuple[str, ...]) -> Notice:
    due = show_due(clock.due, ctx.now(), ctx.settings)
    return channel(ctx, incident, f"{clock.name} missed, was due {due}; escalated to {', '.join(escalate_to)}",
                   dm_to=tuple(dict.fromkeys((incident.owner, *escalate_to))))
