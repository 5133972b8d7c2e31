"""What the compliance area says, and to whom: only what §4 names, and content only in the CEO's DM.

* the CEO's SEV1 DM "with what happened, what's contained, what's at risk": the one message that
  carries incident text; it is marked `sealed`, so the outbox holds it encrypted (`jobs.outbox`);
* the COO's DM ("takes legal coordination ownership"): the id, severity and deadlines, no text;
* `#security-incidents`: id, kind, severity, step names, deadlines, who owns it. Never text.
Every notice here is about the subject `INC-<n>` of kind `incident`, so a thread reply or a button on
it reaches the incident commands (`chatops/commands/incident.py`).

Buttons (`actions`) are what the incident needs next, by state: "Confirm containment" (SEV1 before
anything else), "Mark step done" (a form asking which open step and what was done), "Escalate to SEV1"
(SEV2), "Walk the decision tree" (the decide form) and "Approve this draft", bound to the draft hash the
message shows. A button carries ids, a step name, a severity or a hash, never incident text; whoever
clicks passes the one gate as themselves. The channel post is the thread's parent and is updated in
place (`update_original`), so its buttons are always the current ones; a DM keeps the buttons it was
sent with, which is why the approval names its hash and is refused once the draft changed.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from jobs.actors import Role
from jobs.compliance.clocks import clocks, due_steps, pacific, show_due
from jobs.compliance.records import APPROVER_ROLES, CONFIRMABLE, Clock, Incident, Kind, Leaf, Sev, Step
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


def short_hash(digest: str) -> str:
    """`sha256:1a2b3c4d5e6f`: how a draft is named to people (the button carries the whole hash)."""
    return digest[:19]


def actions(ctx: Context, incident: Incident) -> list[dict[str, Any]]:
    """The buttons an incident message carries now (`chatops.render.blocks`): ids, names and hashes only."""
    if not incident.open:
        return []
    target = {"target": incident.id}
    contained = incident.sev != Sev.SEV1 or Step.CONTAIN in incident.steps
    out: list[dict[str, Any]] = []
    if not contained:
        out.append({"label": "Confirm containment", "command": "incident step", **target, "form": True,
                    "with": {"step": Step.CONTAIN.value}, "style": "danger"})
    steps = [s.value for s in CONFIRMABLE if s != Step.CONTAIN and s in due_steps(incident, ctx.settings)
             and s not in incident.steps]
    if contained and steps:
        out.append({"label": "Mark step done", "command": "incident step", **target, "form": True,
                    "choices": {"step": steps}})
    if incident.sev == Sev.SEV2:
        out.append({"label": "Escalate to SEV1", "command": "incident escalate", **target,
                    "with": {"to": Sev.SEV1.value}, "style": "danger"})
    if incident.kind == Kind.COMPLIANCE and contained and incident.leaf is None:
        out.append({"label": "Walk the decision tree", "command": "incident decide", **target, "form": True})
    approved = {a.role for a in incident.approvals_for_current()}
    if incident.draft_hash and any(r not in approved for r in APPROVER_ROLES):
        out.append({"label": f"Approve this draft ({short_hash(incident.draft_hash)})",
                    "command": "incident notice approve", **target, "with": {"draft": incident.draft_hash},
                    "style": "primary"})
    return out


def ceo_dm(ctx: Context, incident: Incident) -> Notice:
    text = (f"{incident.id} {incident.sev.value} compliance incident ({incident.trigger.value})\n"
            f"What happened: {incident.what}\nWhat is contained: {incident.contained}\n"
            f"What is at risk: {incident.at_risk}")
    return Notice(kind="compliance.ceo", subject=incident.id, text=text, dm_to=people_with(ctx, Role.CEO),
                  fields={"sensitivity": "compliance", "sealed": True, "actions": actions(ctx, incident)},
                  subject_kind=SUBJECT_KIND, suppressible=False)


def _deadlines(ctx: Context, incident: Incident, now: datetime) -> str:
    open_ = [c for c in clocks(incident, ctx.settings) if c.done_at is None]
    return "; ".join(f"{c.name} due {show_due(c.due, now, ctx.settings)}" for c in open_) or "none open"


def coo_dm(ctx: Context, incident: Incident, why: str) -> Notice:
    text = (f"{incident.id} {incident.sev.value} {incident.kind.value} incident: {why}. "
            f"Deadlines: {_deadlines(ctx, incident, ctx.now())}. "
            f"Read it with: chatops incident show {incident.id} --as <you>")
    return Notice(kind="compliance.coo", subject=incident.id, text=text, dm_to=people_with(ctx, Role.COO),
                  fields={"actions": actions(ctx, incident)}, subject_kind=SUBJECT_KIND, suppressible=False)


def channel(ctx: Context, incident: Incident, headline: str, dm_to: tuple[str, ...] = ()) -> Notice:
    text = (f"{incident.id} {incident.sev.value} {incident.kind.value} incident: {headline}. "
            f"Owner: {incident.owner}. Open deadlines: {_deadlines(ctx, incident, ctx.now())}")
    return Notice(kind="compliance.status", subject=incident.id, text=text,
                  channel=ctx.settings.slack.channels.security_incidents, dm_to=dm_to,
                  fields={"incident": incident.id, "severity": incident.sev.value,
                          "actions": actions(ctx, incident)},
                  subject_kind=SUBJECT_KIND, update_original=True, suppressible=False)


def reminder(ctx: Context, incident: Incident, clock: Clock) -> Notice:
    due = show_due(clock.due, ctx.now(), ctx.settings)
    return channel(ctx, incident, f"reminder: {clock.name} due {due}", dm_to=(incident.owner,))


def overdue(ctx: Context, incident: Incident, clock: Clock, escalate_to: tuple[str, ...]) -> Notice:
    due = show_due(clock.due, ctx.now(), ctx.settings)
    return channel(ctx, incident, f"{clock.name} missed, was due {due}; escalated to {', '.join(escalate_to)}",
                   dm_to=tuple(dict.fromkeys((incident.owner, *escalate_to))))


def draft_ready(ctx: Context, incident: Incident) -> Notice:
    """A notification draft to approve (§4 "COO + CEO approve before sending"): its hash, never its text,
    to `#security-incidents` and the approvers, each with "Approve this draft" bound to that hash."""
    approvers = tuple(dict.fromkeys(name for role in APPROVER_ROLES for name in people_with(ctx, Role(role))))
    return channel(ctx, incident, f"notification draft {short_hash(incident.draft_hash)} by {incident.drafted_by} "
                                  f"to approve (read it with chatops incident show {incident.id})", dm_to=approvers)


#: What each leaf of §5's tree means for what follows, as its answer says it.
LEAF_WORDS = {
    Leaf.INTERNAL: "internal incident: no customer data exposed, so no external notification is required; "
                   "proceed with the {sev} remediation",
    Leaf.NEAR_MISS: "near-miss: customer data exposed, but not to an unauthorised party; SEV2, internal "
                    "remediation, no notification",
    Leaf.BREACH: "breach: customer data exposed to an unauthorised party; now {sev}, and the notification "
                 "obligations below run from awareness ({aware})",
}


def _obligation_words(name: str, ctx: Context) -> str:
    c = ctx.settings.compliance
    if name == "gdpr-dpa":
        return f"GDPR: the data protection authority, within {c.gdpr_dpa_hours} h of awareness"
    if name == "gdpr-individuals":
        return "GDPR: the affected individuals (high risk)"
    if name == "ccpa":
        return f"CCPA: affected California residents \"expeditiously\" (internal target {c.ccpa_target_hours} h)"
    return f"contract: {name.removeprefix('contract:')}'s notification SLA"


def decision_answer(ctx: Context, incident: Incident) -> str:
    """The answer to a walked tree: the leaf, what follows from it, and every open deadline in Pacific time
    with the time remaining. Ids, names and times only: it is posted in Slack."""
    now = ctx.now()
    leaf = incident.leaf or Leaf.INTERNAL
    lines = [f"{incident.id}: " + LEAF_WORDS[leaf].format(sev=incident.sev.value,
                                                          aware=pacific(incident.filed_at, ctx.settings))]
    for o in incident.obligations:
        lines.append(f"  notify {o.name} due {show_due(o.due, now, ctx.settings)}: {_obligation_words(o.name, ctx)}")
    if leaf == Leaf.BREACH:
        if not incident.high_risk:
            lines.append("  GDPR: the affected individuals need not be told (not high risk)")
        if not incident.customers:
            lines.append("  contract: no customer named; a customer with a notification SLA is added by walking "
                         "the tree again with --customer")
        lines.append("  nothing is sent before legal.exec drafts and the CEO, COO, legal and outside counsel "
                     "approve that exact draft")
    steps = [c for c in clocks(incident, ctx.settings) if c.done_at is None and not c.name.startswith("notify:")]
    lines += [f"  next: {c.name} due {show_due(c.due, now, ctx.settings)}" for c in steps]
    return "\n".join(lines)
