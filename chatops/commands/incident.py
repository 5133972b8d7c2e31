"""Compliance incident commands (seed 002), for the shell and `/ops incident …`.

Answers never carry incident text except `incident show`, which is shell-only: a Slack answer would
carry the content off this machine (§1 "No compliance content leaves the local environment"). Thread
replies in an incident's `#security-incidents` thread reach the same commands (`REPLIES`):
`CONTAINED - <what was done>` confirms containment, `APPROVE` approves the current notification draft.
The domain is imported inside each handler (every command line loads this module's declarations).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chatops.registry import Arg, Command, Invocation, MalformedReply, Reply, ReplyCommand
from chatops.render.views import HomeSection
from jobs.actors import Actor, Permission

if TYPE_CHECKING:
    from jobs.context import Context

TRIGGERS = ("data-exposure", "breach-notification", "regulatory-inquiry", "contract-missed", "vendor-failure",
            "policy-violation", "workflow-failure")
SEVS = ("SEV1", "SEV2", "SEV3")
STEPS = ("contain", "legal-engaged", "counsel-contacted", "remediation-plan", "sop-delta", "prevention")
YES_NO = ("yes", "no")
INCIDENT = Arg("incident", "incident id (INC-<n>)", metavar="INC-N", subject="incident", required=True)


def _yes(value: str | None) -> bool | None:
    return None if value is None else value == "yes"


def _file(inv: Invocation) -> Reply:
    from jobs.compliance.clocks import clocks, show_due
    from jobs.compliance.flows import file_incident
    from jobs.compliance.records import SUGGESTED

    a = inv.args
    incident = file_incident(inv.ctx, inv.actor, a.trigger, a.sev, a.what, a.contained, a.at_risk, a.kind,
                             tuple(a.link or ()), a.owner)
    trigger = incident.trigger
    suggested = SUGGESTED[trigger].value
    lines = [f"filed {incident.id}: {incident.sev.value} {incident.kind.value} incident ({trigger.value}; "
             f"§3 suggests {suggested}" + ("" if suggested == incident.sev.value else f", you confirmed "
                                          f"{incident.sev.value}") + f"), owner {incident.owner}"]
    now = inv.ctx.now()
    lines += [f"  {c.name} due {show_due(c.due, now, inv.ctx.settings)}" for c in clocks(incident, inv.ctx.settings)]
    lines.append(f"  notified: {', '.join(incident.notified)}")
    return Reply("\n".join(lines))


def _list(inv: Invocation) -> Reply:
    from jobs.compliance.clocks import clocks, show_due
    from jobs.compliance.service import all_incidents

    ctx = inv.ctx
    now = ctx.now()
    shown = [i for i in all_incidents(ctx) if inv.args.all or i.open]
    if inv.args.json:
        import orjson   # only for --json: `chatops help` loads this module too
        return Reply(orjson.dumps([{
            "id": i.id, "kind": i.kind.value, "severity": i.sev.value, "trigger": i.trigger.value, "owner": i.owner,
            "open": i.open, "filed_at": i.filed_at.isoformat(),
            "deadlines": [{"clock": c.name, "due": c.due.isoformat()} for c in clocks(i, ctx.settings)
                          if c.done_at is None]}
            for i in shown], option=orjson.OPT_INDENT_2).decode())
    if not shown:
        return Reply("no open incidents" if not inv.args.all else "no incidents")
    lines = []
    for i in shown:
        due = [c for c in clocks(i, ctx.settings) if c.done_at is None]
        nxt = f"next: {due[0].name} due {show_due(due[0].due, now, ctx.settings)}" if due and i.open else (
            "closed" if not i.open else "no open deadline")
        lines.append(f"{i.id}  {i.sev.value}  {i.kind.value:<11} {i.trigger.value:<19} owner {i.owner:<8} {nxt}")
    return Reply("\n".join(lines))


def _show(inv: Invocation) -> Reply:
    from jobs.compliance.clocks import clocks, pacific, show_due
    from jobs.compliance.flows import missing_approvals, read

    ctx = inv.ctx
    i = read(ctx, inv.actor, inv.args.incident)
    now = ctx.now()
    lines = [f"{i.id}  {i.sev.value} {i.kind.value} incident  ({'open' if i.open else 'closed'})",
             f"  Trigger      {i.trigger.value} (§3 suggested {i.suggested.value})",
             f"  Filed        {pacific(i.filed_at, ctx.settings)} by {i.filed_by}; owner {i.owner}",
             f"  What         {i.what}", f"  Contained    {i.contained}", f"  At risk      {i.at_risk}",
             f"  Links        {', '.join(i.links) or '-'}"]
    for name, done in i.steps.items():
        lines.append(f"  Step {name:<18} done {pacific(done.at, ctx.settings)} by {done.by}"
                     + (f": {done.text}" if done.text else ""))
    for c in clocks(i, ctx.settings):
        if c.done_at is None and i.open:
            lines.append(f"  Due  {c.name:<18} {show_due(c.due, now, ctx.settings)}")
    if i.leaf:
        lines.append(f"  Decision     {i.leaf.value}" + (" (high risk)" if i.high_risk else "")
                     + (f"; customers {', '.join(i.customers)}" if i.customers else ""))
    if i.draft:
        lines += [f"  Draft        {i.draft_hash[:19]} by {i.drafted_by}", f"    {i.draft}",
                  "  Approvals    " + (", ".join(f"{a.person} as {a.role}" for a in i.approvals_for_current()) or "-"),
                  "  Still needs  " + (", ".join(missing_approvals(i)) or "nothing")]
    for kind, text in i.council.items():
        lines += [f"  Council draft ({kind}, local model):", f"    {text}"]
    if i.postmortem_due:
        lines.append(f"  Post-mortem  {i.postmortem_path} due {i.postmortem_due}")
    return Reply("\n".join(lines))


def _timeline(inv: Invocation) -> Reply:
    from jobs.compliance.clocks import pacific
    from jobs.compliance.service import normalise_id, read_entries

    ctx = inv.ctx
    entries = read_entries(ctx, normalise_id(inv.args.incident))
    lines = []
    for e in entries:
        what = e.data.get("step") or e.data.get("clock") or e.data.get("how") or e.data.get("to_sev") or \
            e.data.get("to_kind") or e.data.get("role") or ""
        lines.append(f"{e.seq:>3}  {pacific(e.at, ctx.settings)}  {e.action.value:<24} {what:<18} "
                     f"{e.actor:<10} {e.hash[:19]}")
    return Reply("\n".join(lines))


def _step(inv: Invocation) -> Reply:
    from jobs.compliance.flows import confirm_step

    i = confirm_step(inv.ctx, inv.actor, inv.args.incident, inv.args.step, inv.args.text)
    return Reply(f"{i.id}: {inv.args.step} confirmed by {inv.actor.name}")


def _assess(inv: Invocation) -> Reply:
    from jobs.compliance.flows import assess

    i = assess(inv.ctx, inv.actor, inv.args.incident, inv.args.sev1_risk == "yes", inv.args.text)
    return Reply(f"{i.id}: risk assessed by {inv.actor.name}"
                 + (f"; escalated to {i.sev.value}, CEO and COO notified" if inv.args.sev1_risk == "yes" else ""))


def _escalate(inv: Invocation) -> Reply:
    from jobs.compliance.flows import escalate

    i = escalate(inv.ctx, inv.actor, inv.args.incident, inv.args.to)
    return Reply(f"{i.id} is now a {i.sev.value} {i.kind.value} incident; timeline kept ({i.entries} entries)")


def _decide(inv: Invocation) -> Reply:
    from jobs.compliance.flows import decide
    from jobs.compliance.messages import decision_answer

    a = inv.args
    i = decide(inv.ctx, inv.actor, a.incident, a.customer_data == "yes", _yes(a.unauthorized), _yes(a.high_risk),
               tuple(a.customer or ()))
    return Reply(decision_answer(inv.ctx, i))


def _close(inv: Invocation) -> Reply:
    from jobs.compliance.flows import close

    i = close(inv.ctx, inv.actor, inv.args.incident)
    return Reply(f"{i.id} closed" + (f"; post-mortem {i.postmortem_path} due {i.postmortem_due}"
                                      if i.postmortem_due else ""))


def _draft(inv: Invocation) -> Reply:
    from jobs.compliance.flows import draft_notice

    i = draft_notice(inv.ctx, inv.actor, inv.args.incident, inv.args.text)
    return Reply(f"{i.id}: notification draft {i.draft_hash[:19]} recorded; approvals of earlier drafts no longer "
                 f"count")


def _approve(inv: Invocation) -> Reply:
    from jobs.compliance.flows import approve_notice, missing_approvals

    i = approve_notice(inv.ctx, inv.actor, inv.args.incident, inv.args.draft)
    mine = [a for a in i.approvals_for_current() if a.person == inv.actor.name][0]
    return Reply(f"{i.id}: {inv.actor.name} approved draft {i.draft_hash[:19]} as {mine.role}; still needed: "
                 f"{', '.join(missing_approvals(i)) or 'nothing'}")


def _counsel(inv: Invocation) -> Reply:
    from jobs.compliance.flows import counsel_review

    i = counsel_review(inv.ctx, inv.actor, inv.args.incident, inv.args.reviewer, inv.args.draft)
    return Reply(f"{i.id}: outside counsel's review of draft {i.draft_hash[:19]} recorded")


def _sent(inv: Invocation) -> Reply:
    from jobs.compliance.flows import notice_sent

    i = notice_sent(inv.ctx, inv.actor, inv.args.incident, tuple(inv.args.obligation or ()))
    done = [o.name for o in i.obligations if o.sent_at]
    return Reply(f"{i.id}: recorded as sent: {', '.join(done)}")


def _rotate(inv: Invocation) -> Reply:
    from jobs.compliance.flows import sealed_rotation

    count, retired = sealed_rotation(inv.ctx, inv.actor)
    return Reply(f"new incident key in use; {count} timeline(s) resealed, {retired} old key(s) retired")


def _field_text(text: str) -> str:
    """A what / contained / at-risk answer, checked before anything runs (on the command line, and under
    its field in the Slack form): it goes whole into the CEO's DM. The domain checks it again."""
    from jobs.compliance.limits import MAX_FIELD_CHARS

    if len(text.strip()) > MAX_FIELD_CHARS:
        raise ValueError(f"longer than {MAX_FIELD_CHARS:,} characters, which the CEO's DM carries whole: say the "
                         "gist here and add the detail with `chatops incident step`")
    return text


COMMANDS = [
    Command(("incident", "file"), "file a compliance or operational incident (seed 002 §2, §3)",
            Permission.INCIDENT_FILE, _file, subject_kind="incident", subject_id="new", modal=True,
            args=(Arg("--trigger", "what happened, by §2's triggers", required=True, choices=TRIGGERS),
                  Arg("--sev", "the severity you confirm (§3 suggests one from the trigger)", required=True,
                      choices=SEVS),
                  Arg("--what", "what happened", type=_field_text, required=True),
                  Arg("--contained", "what is contained (\"nothing yet\" is an answer)", type=_field_text,
                      required=True),
                  Arg("--at-risk", "what is at risk", type=_field_text, required=True),
                  Arg("--kind", "operational (a workflow failure) or compliance; default from the trigger",
                      choices=("operational", "compliance")),
                  Arg("--owner", "owner / prevention owner (default: the first security.ops person)"),
                  Arg("--link", "a run, case or export PR it concerns (repeatable)", nargs="*", metavar="ID")),
            description="Files the incident, encrypted at rest, and starts its §4 path: a SEV1 DMs the CEO "
                        "what happened / is contained / is at risk and the COO its deadlines; a SEV2 DMs the COO; "
                        "#security-incidents gets the id, severity and deadlines only.",
            example='incident file --trigger data-exposure --sev SEV1 --what "API key in a shared doc" --contained "key revoked" --at-risk "customer emails" --as lee'),
    Command(("incident", "list"), "open incidents with their next deadline in Pacific time (--all: closed too)",
            Permission.INCIDENT_READ, _list, shell_open=True, subject_kind="incident", subject_id="all",
            args=(Arg("--all", "closed incidents too", flag=True), Arg("--json", "as JSON", flag=True)),
            example='incident list --all'),
    Command(("incident", "show"), "the incident decrypted, for the people it involves (shell only)",
            Permission.INCIDENT_SHOW, _show, slack=False, args=(INCIDENT,),
            example='incident show INC-1 --as lee'),
    Command(("incident", "timeline"), "every action on an incident: time, action, who, hash (no content)",
            Permission.INCIDENT_READ, _timeline, shell_open=True, args=(INCIDENT,),
            example='incident timeline INC-1'),
    Command(("incident", "step"), "confirm a checklist step (SEV1: contain first)", Permission.INCIDENT_MANAGE,
            _step, args=(INCIDENT, Arg("--step", "the step", required=True, choices=STEPS),
                         Arg("--text", "what was done", required=True)),
            example='incident step INC-1 --step contain --text "revoked the key" --as lee'),
    Command(("incident", "assess"), "SEV2's risk assessment; --sev1-risk yes escalates to SEV1 at once",
            Permission.INCIDENT_MANAGE, _assess,
            args=(INCIDENT, Arg("--sev1-risk", "could it become SEV1?", required=True, choices=YES_NO),
                  Arg("--text", "what the assessment found", required=True)),
            example='incident assess INC-2 --sev1-risk no --text "no customer data involved" --as lee'),
    Command(("incident", "escalate"), "operational -> compliance (timeline kept), or one severity up",
            Permission.INCIDENT_MANAGE, _escalate,
            args=(INCIDENT, Arg("--to", "compliance, SEV2 or SEV1", required=True,
                                choices=("compliance", "SEV2", "SEV1"))),
            example='incident escalate INC-3 --to compliance --as lee'),
    Command(("incident", "decide"), "walk the notification decision tree (§5)", Permission.INCIDENT_DECIDE, _decide,
            modal=True,
            args=(INCIDENT, Arg("--customer-data", "was customer PII or customer-relevant data exposed?",
                                required=True, choices=YES_NO),
                  Arg("--unauthorized", "to an unauthorised party? (when customer data was exposed)", choices=YES_NO),
                  Arg("--high-risk", "a high risk to individuals? (GDPR Art. 34; for a breach)", choices=YES_NO),
                  Arg("--customer", "affected customers with a contractual SLA (config [compliance.customers])",
                      nargs="*", metavar="NAME")),
            example='incident decide INC-1 --customer-data yes --unauthorized yes --high-risk no --as lee'),
    Command(("incident", "close"), "close once every step is done; SEV1/SEV2 start the post-mortem clock",
            Permission.INCIDENT_MANAGE, _close, args=(INCIDENT,),
            example='incident close INC-1 --as lee'),
    Command(("incident", "notice", "draft"), "legal.exec: the breach notification's text (voids approvals)",
            Permission.NOTICE_DRAFT, _draft, args=(INCIDENT, Arg("--text", "the notification", required=True)),
            example='incident notice draft INC-1 --text "On 5 December we learned …" --as lee'),
    Command(("incident", "notice", "approve"), "approve the current draft as CEO, COO or legal",
            Permission.NOTICE_APPROVE, _approve,
            args=(INCIDENT, Arg("--draft", "the draft hash you read (refused if the draft changed since)")),
            example='incident notice approve INC-1 --as dev'),
    Command(("incident", "notice", "counsel"), "record outside counsel's review of the current draft",
            Permission.NOTICE_APPROVE, _counsel,
            args=(INCIDENT, Arg("--reviewer", "outside counsel (firm or person)", required=True),
                  Arg("--draft", "the draft hash counsel reviewed")),
            example='incident notice counsel INC-1 --reviewer "Firm LLP" --as ana'),
    Command(("incident", "notice", "sent"), "record the notification sent (needs every approval of the draft)",
            Permission.NOTICE_SEND, _sent,
            args=(INCIDENT, Arg("--obligation", "which (gdpr-dpa, gdpr-individuals, ccpa, contract:<name>); "
                                "default all open", nargs="*", metavar="NAME")),
            example='incident notice sent INC-1 --as lee'),
    Command(("incident", "keys", "rotate"), "new incident encryption key; every timeline resealed",
            Permission.INCIDENT_KEYS, _rotate, subject_kind="incident key", subject_id="current",
            example='incident keys rotate --as lee'),
]


_CONTAINED = re.compile(r"^\W*contained\s*[-\u2010-\u2015:]+\s*(?P<text>\S.*)$", re.I | re.S)
_APPROVE = re.compile(r"^\W*approve(d)?\W*$", re.I)


def read_reply(incident: str, message: str) -> ReplyCommand | None:
    """A reply in an incident's thread: `CONTAINED - <what>` or `APPROVE`; anything else is conversation."""
    text = message.strip()
    if match := _CONTAINED.match(text):
        return ReplyCommand(("incident", "step"), {"incident": incident, "step": "contain",
                                                   "text": match["text"].strip()}, "CONTAINED")
    if text.lower().startswith("contained"):
        raise MalformedReply("containment needs what was done: reply `CONTAINED - <what was revoked/stopped>`")
    if _APPROVE.match(text):
        return ReplyCommand(("incident", "notice", "approve"), {"incident": incident}, "APPROVE")
    return None


REPLIES = {"incident": read_reply}


def open_incidents_section(ctx: "Context", actor: Actor) -> HomeSection:
    """App Home: the open incidents a person is involved in, with their next deadline (ids and times only)."""
    from jobs.compliance.clocks import clocks, show_due
    from jobs.compliance.flows import involved_roles
    from jobs.compliance.service import all_incidents

    title = "Your open incidents"
    if not actor.roles:
        return HomeSection(title, (), empty="none you may see")
    lines = []
    for incident in all_incidents(ctx):
        if not incident.open or not (actor.name in incident.involved() or actor.roles & involved_roles(incident)):
            continue
        due = [c for c in clocks(incident, ctx.settings) if c.done_at is None]
        nxt = f"next: {due[0].name} due {show_due(due[0].due, ctx.now(), ctx.settings)}" if due else "no open deadline"
        lines.append(f"{incident.id} {incident.sev.value} {incident.kind.value}: {nxt}")
    return HomeSection(title, tuple(lines), empty="no open incident involves you")


HOME = [open_incidents_section]
