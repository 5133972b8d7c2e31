"""Seed 002's procedures, one function each: file, contain and confirm steps, assess, escalate, decide,
draft / approve / send a notification, close, read; and the scheduled check of every clock.

Every function passes the one gate (`jobs.actors.authorize`) on the subject `incident INC-<n>` before
it changes anything, and records a rule's refusal with `refuse()` naming the same subject. Every
action is one timeline entry (sealed) whose hash is signed into the operations ledger (`service.append`).

`file_incident` is also the door for other areas: the export pipeline files its scrub-failure SEV2
and the sweep its missed-pipeline SEV3 through it, as the daemon (`jobs.actors.DAEMON`).
"""
from __future__ import annotations

import logging

import hashlib
from dataclasses import asdict, replace
from datetime import timedelta
from typing import Any, Iterable, Mapping

from jobs.actors import DAEMON, Actor, Permission, Role, Subject, authorize, refuse
from jobs.compliance import messages
from jobs.compliance.clocks import clocks, due_steps, missing_for_close
from jobs.compliance.council import Council, CouncilUnavailable, DraftKind
from jobs.compliance.postmortem import start_postmortem
from jobs.compliance.records import (APPROVER_ROLES, CONFIRMABLE, SUGGESTED, Action, Entry, Incident, Kind, Leaf,
                                     Sev, Step, Trigger)
from jobs.compliance.service import append, fold, load, locked, new_id, normalise_id
from jobs.compliance.tree import walk
from jobs.compliance.limits import MAX_FIELD_CHARS
from jobs.context import Context
from jobs.errors import Invalid

log = logging.getLogger("chatops.compliance")


def _subject(incident_id: str) -> Subject:
    return Subject("incident", incident_id)


def _role(actor: Actor, permission: Permission) -> str | None:
    return None if actor.is_daemon else actor.role_for(permission) or None


def _signed(ctx: Context, incident: Incident) -> dict[str, Any]:
    """What the ledger holds of an incident beside each hash: severity, kind and the open deadlines."""
    return {"severity": incident.sev.value, "kind": incident.kind.value,
            "deadlines": deadlines(clocks(incident, ctx.settings))}


def deadlines(items: Iterable[Any]) -> list[dict[str, str]]:
    """Open deadlines as the ledger holds them (its keys are identifiers; clock names have dashes)."""
    return [{"clock": c.name, "due": c.due.isoformat()} for c in items if getattr(c, "done_at", None) is None
            and getattr(c, "sent_at", None) is None]


def _record(ctx: Context, incident: Incident, action: Action, actor: Actor, permission: Permission,
            data: Mapping[str, Any], signed: Mapping[str, Any] | None = None) -> Incident:
    append(ctx, incident.id, action, actor, _role(actor, permission), data, {**(signed or {})})
    return load(ctx, incident.id)


def _notify(ctx: Context, incident: Incident, why: str) -> Incident:
    """The DMs and the channel post §4 names for the incident's severity and kind, each recorded."""
    sent: list[tuple[str, Any]] = []
    if incident.kind == Kind.COMPLIANCE and incident.sev == Sev.SEV1:
        sent.append(("ceo-dm", messages.ceo_dm(ctx, incident)))
    if incident.kind == Kind.COMPLIANCE and incident.sev in (Sev.SEV1, Sev.SEV2):
        sent.append(("coo-dm", messages.coo_dm(ctx, incident, why + (
            "; you own legal coordination" if incident.sev == Sev.SEV1 else "; for your information"))))
    sent.append(("channel", messages.channel(ctx, incident, why)))
    for how, notice in sent:
        ctx.notifier.send(notice)
        incident = _record(ctx, incident, Action.NOTIFIED, DAEMON, Permission.INCIDENT_FILE, {"how": how},
                           {"how": how, "severity": incident.sev.value})
    return incident


def _refresh(ctx: Context, incident: Incident, headline: str, permission: Permission) -> Incident:
    """The `#security-incidents` post brought up to date after a person's action (its headline and its
    buttons: what the incident needs next), recorded like every notification."""
    ctx.notifier.send(messages.channel(ctx, incident, headline))
    return _record(ctx, incident, Action.NOTIFIED, DAEMON, permission, {"how": "channel"},
                   {"how": "channel", "severity": incident.sev.value})


def _council(ctx: Context, incident: Incident, kind: str) -> Incident:
    record = {k: v for k, v in asdict(incident).items() if k in (
        "id", "kind", "trigger", "sev", "what", "contained", "at_risk", "links", "owner")}
    try:
        text = Council.from_settings(ctx.settings).draft(kind, record)
    except CouncilUnavailable as exc:   # a draft is a help, never a condition: the incident goes on without it
        log.warning("no local draft of the %s for %s: %s", kind, incident.id, exc)
        return incident
    if text is None:
        return incident
    return _record(ctx, incident, Action.COUNCIL_DRAFT, DAEMON, Permission.INCIDENT_FILE,
                   {"kind": kind, "text": text}, {"draft": kind,
                                                  "hash": "sha256:" + hashlib.sha256(text.encode()).hexdigest()})


def _choice(enum: Any, value: Any, name: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise Invalid(f"{name} {value!r} is not one of {', '.join(m.value for m in enum)}") from None


def _default_owner(ctx: Context) -> str:
    owners = sorted(a.name for a in ctx.people.with_role(Role.SECURITY_OPS))
    if not owners:
        raise Invalid("nobody in config.toml [people] holds role security.ops, who owns compliance incidents "
                      "(seed 002); add the role to a person or give --owner")
    return owners[0]


def file_incident(ctx: Context, actor: Actor, trigger: Trigger | str, sev: Sev | str, what: str, contained: str,
                  at_risk: str, kind: Kind | str | None = None, links: Iterable[str] = (),
                  owner: str | None = None) -> Incident:
    """File an incident (§2 trigger, §3 severity as confirmed by the filer) and start its §4 path.

    `sev` is the filer's confirmation; the trigger's suggestion is recorded beside it. `owner` defaults
    to the first security.ops person (§4 SEV2 "security.ops takes ownership"; SEV3's prevention owner).
    A workflow failure is an operational incident; every other trigger a compliance one unless `kind`
    says otherwise. `links` are the ids it concerns (runs, cases, export PRs). Returns the incident as
    filed, after its notifications were queued. Bad values are `Invalid` naming the value and the choices.
    """
    trigger, sev = _choice(Trigger, trigger, "trigger"), _choice(Sev, sev, "severity")
    kind = _choice(Kind, kind, "kind") if kind else (
        Kind.OPERATIONAL if trigger == Trigger.WORKFLOW_FAILURE else Kind.COMPLIANCE)
    authorize(ctx, actor, Permission.INCIDENT_FILE, "incident file", _subject("new"))
    for name, value in (("what", what), ("contained", contained), ("at-risk", at_risk)):
        if not value or not value.strip():
            raise Invalid(f"--{name} is empty; say {_WORDING[name]}")
        if len(value.strip()) > MAX_FIELD_CHARS:
            raise Invalid(f"--{name} is {len(value.strip()):,} characters; keep it to {MAX_FIELD_CHARS:,} (the CEO's DM "
                          "carries it, and one Slack block holds 3,000): say the gist here and add the detail "
                          "with `chatops incident step`")
    owner = owner or _default_owner(ctx)
    ctx.people.by_name(owner)
    if kind == Kind.COMPLIANCE and sev in (Sev.SEV1, Sev.SEV2):
        messages.people_with(ctx, Role.COO)
        if sev == Sev.SEV1:
            messages.people_with(ctx, Role.CEO)
    with locked(ctx):
        incident_id = new_id(ctx)
        data = {"id": incident_id, "kind": kind.value, "trigger": trigger.value, "sev": sev.value,
                "suggested": SUGGESTED[trigger].value, "owner": owner, "what": what.strip(),
                "contained": contained.strip(), "at_risk": at_risk.strip(), "links": list(links)}
        provisional = fold([Entry(1, ctx.now(), Action.FILED, actor.name, data, "")])
        append(ctx, incident_id, Action.FILED, actor, _role(actor, Permission.INCIDENT_FILE), data,
               {**_signed(ctx, provisional), "suggested": SUGGESTED[trigger].value, "trigger": trigger.value})
        incident = load(ctx, incident_id)
        incident = _notify(ctx, incident, "filed")
        if kind == Kind.COMPLIANCE and sev in COUNCIL_DRAFTS:
            incident = _council(ctx, incident, COUNCIL_DRAFTS[sev])
    return incident


#: What a local council drafts when an incident is filed (§1, issue 23): the SEV1 CEO DM, the SEV2 plan.
COUNCIL_DRAFTS = {Sev.SEV1: DraftKind.CEO_DM, Sev.SEV2: DraftKind.REMEDIATION}


_WORDING = {"what": "what happened", "contained": "what is contained (\"nothing yet\" is an answer)",
            "at-risk": "what is at risk"}


def _open(ctx: Context, actor: Actor, permission: Permission, action: str, incident_id: str) -> Incident:
    """Authorize, then the incident, refused (and recorded) when it is closed."""
    incident_id = normalise_id(incident_id)
    authorize(ctx, actor, permission, action, _subject(incident_id))
    incident = load(ctx, incident_id)
    if not incident.open:
        raise refuse(ctx, actor, permission, action, _subject(incident_id),
                     f"{incident_id} was closed; its timeline is kept as it is")
    return incident


def _contained_first(ctx: Context, actor: Actor, permission: Permission, action: str, incident: Incident) -> None:
    """§4 SEV1 "Contain first": nothing else is marked done before containment is confirmed."""
    if incident.sev == Sev.SEV1 and Step.CONTAIN not in incident.steps:
        raise refuse(ctx, actor, permission, action, _subject(incident.id),
                     f"{incident.id} is SEV1 and containment is not confirmed yet; contain first, then "
                     f"chatops incident step {incident.id} --step contain --text \"what was revoked/stopped\"")


#: Who may confirm a step beyond the MANAGE permission: legal.exec confirms being engaged; the COO
#: initiates outside counsel (§4).
STEP_ROLES: Mapping[str, frozenset[Role]] = {
    Step.LEGAL: frozenset({Role.LEGAL_EXEC}),
    Step.COUNSEL: frozenset({Role.COO, Role.LEGAL_EXEC}),
}


def confirm_step(ctx: Context, actor: Actor, incident_id: str, step: Step | str, text: str) -> Incident:
    step = Step(step)
    action = f"incident step {normalise_id(incident_id)}"
    incident = _open(ctx, actor, Permission.INCIDENT_MANAGE, action, incident_id)
    subject = _subject(incident.id)
    if step not in CONFIRMABLE:
        raise Invalid(f"step {step.value} is confirmed with its own command "
                      f"({'incident assess' if step == Step.RESPONSE else 'incident decide'})")
    needed = due_steps(incident, ctx.settings)
    if step not in needed:
        raise Invalid(f"{incident.id} ({incident.sev.value} {incident.kind.value}) has no step {step.value}; "
                      f"its steps: {', '.join(needed)}")
    if step in incident.steps:
        raise refuse(ctx, actor, Permission.INCIDENT_MANAGE, action, subject,
                     f"{step.value} was confirmed by {incident.steps[step].by}; the timeline is not rewritten")
    if step != Step.CONTAIN:
        _contained_first(ctx, actor, Permission.INCIDENT_MANAGE, action, incident)
    roles = STEP_ROLES.get(step)
    if roles and not actor.is_daemon and not actor.roles & roles:
        raise refuse(ctx, actor, Permission.INCIDENT_MANAGE, action, subject,
                     f"{step.value} is confirmed by {' or '.join(sorted(r.value for r in roles))}")
    if step == Step.PREVENTION and actor.name != incident.owner and Role.SECURITY_OPS not in actor.roles:
        raise refuse(ctx, actor, Permission.INCIDENT_MANAGE, action, subject,
                     f"prevention is confirmed by the prevention owner ({incident.owner}) or security.ops")
    if not text.strip():
        raise Invalid(f"--text is empty; say what was done for {step.value}")
    with locked(ctx):
        incident = _record(ctx, incident, Action.STEP, actor, Permission.INCIDENT_MANAGE,
                           {"step": step.value, "text": text.strip()}, {"step": step.value, **_signed(ctx, incident)})
        return _refresh(ctx, incident, f"{step.value} confirmed by {actor.name}", Permission.INCIDENT_MANAGE)


def _escalate_sev(ctx: Context, actor: Actor, permission: Permission, incident: Incident, to: Sev, why: str) -> Incident:
    incident = _record(ctx, incident, Action.ESCALATED, actor, permission,
                       {"from_sev": incident.sev.value, "to_sev": to.value, "why": why},
                       {**_signed(ctx, replace(incident, sev=to, sev_since=ctx.now())), "from": incident.sev.value})
    incident = _notify(ctx, incident, f"escalated to {to.value} ({why})")
    return incident


def escalate(ctx: Context, actor: Actor, incident_id: str, to: str) -> Incident:
    """`compliance`: an operational incident becomes a compliance one, its timeline kept; `SEV1`/`SEV2`:
    one severity up (SEV2 -> SEV1 "immediately", §4). Never down: a lower severity is a new filing's call."""
    action = f"incident escalate {normalise_id(incident_id)}"
    incident = _open(ctx, actor, Permission.INCIDENT_MANAGE, action, incident_id)
    with locked(ctx):
        if to == Kind.COMPLIANCE:
            if incident.kind == Kind.COMPLIANCE:
                raise refuse(ctx, actor, Permission.INCIDENT_MANAGE, action, _subject(incident.id),
                             f"{incident.id} is already a compliance incident")
            incident = _record(ctx, incident, Action.ESCALATED, actor, Permission.INCIDENT_MANAGE,
                               {"to_kind": Kind.COMPLIANCE.value},
                               _signed(ctx, replace(incident, kind=Kind.COMPLIANCE, compliance_since=ctx.now())))
            return _notify(ctx, incident, "escalated from operational to compliance")
        target = Sev(to.upper()) if to.upper() in Sev.__members__ else None
        if target is None:
            raise Invalid(f"--to {to!r}: expected compliance, SEV1 or SEV2")
        if target.rank >= incident.sev.rank or target != incident.sev.one_up():
            raise refuse(ctx, actor, Permission.INCIDENT_MANAGE, action, _subject(incident.id),
                         f"{incident.id} is {incident.sev.value}; it escalates one step, to {incident.sev.one_up().value}"
                         if incident.sev != Sev.SEV1 else f"{incident.id} is already SEV1")
        return _escalate_sev(ctx, actor, Permission.INCIDENT_MANAGE, incident, target, "by hand")


def assess(ctx: Context, actor: Actor, incident_id: str, sev1_risk: bool, text: str) -> Incident:
    """SEV2's response (§4): the risk assessment. "Could it become SEV1? If yes, escalate immediately"."""
    action = f"incident assess {normalise_id(incident_id)}"
    incident = _open(ctx, actor, Permission.INCIDENT_MANAGE, action, incident_id)
    if incident.sev != Sev.SEV2:
        raise Invalid(f"{incident.id} is {incident.sev.value}; the risk assessment is SEV2's response step")
    if Step.RESPONSE in incident.steps:
        raise refuse(ctx, actor, Permission.INCIDENT_MANAGE, action, _subject(incident.id),
                     f"{incident.id} was assessed by {incident.steps[Step.RESPONSE].by}")
    if not text.strip():
        raise Invalid("--text is empty; say what the risk assessment found")
    with locked(ctx):
        incident = _record(ctx, incident, Action.ASSESSED, actor, Permission.INCIDENT_MANAGE,
                           {"sev1_risk": sev1_risk, "text": text.strip()}, {"step": Step.RESPONSE.value})
        if sev1_risk:
            incident = _escalate_sev(ctx, actor, Permission.INCIDENT_MANAGE, incident, Sev.SEV1,
                                     "the risk assessment says it could become SEV1")
    return incident


def decide(ctx: Context, actor: Actor, incident_id: str, customer_data: bool, unauthorized: bool | None,
           high_risk: bool | None, customers: tuple[str, ...] = ()) -> Incident:
    """Walk §5's tree; a breach starts the GDPR, CCPA and contractual clocks from awareness (filing).

    A near-miss on a SEV3 raises it to SEV2 and a breach on a SEV2/SEV3 to SEV1 (§3: customer data
    exposed is SEV1); a severity is never lowered by the tree.
    """
    action = f"incident decide {normalise_id(incident_id)}"
    incident = _open(ctx, actor, Permission.INCIDENT_DECIDE, action, incident_id)
    if incident.kind != Kind.COMPLIANCE:
        raise refuse(ctx, actor, Permission.INCIDENT_DECIDE, action, _subject(incident.id),
                     f"{incident.id} is operational; escalate it to compliance first "
                     f"(chatops incident escalate {incident.id} --to compliance)")
    _contained_first(ctx, actor, Permission.INCIDENT_DECIDE, action, incident)
    if any(o.sent_at for o in incident.obligations):
        raise refuse(ctx, actor, Permission.INCIDENT_DECIDE, action, _subject(incident.id),
                     "a notification was already sent on the last decision; the tree is not walked again")
    decision = walk(customer_data, unauthorized, high_risk, customers, incident.filed_at, ctx.settings)
    with locked(ctx):
        incident = _record(ctx, incident, Action.DECIDED, actor, Permission.INCIDENT_DECIDE, {
            "leaf": decision.leaf.value, "customer_data": customer_data, "unauthorized": unauthorized,
            "high_risk": high_risk, "customers": list(customers),
            "obligations": [{"name": o.name, "due": o.due.isoformat()} for o in decision.obligations]},
            {"deadlines": deadlines(decision.obligations)})
        floor = decision.sev_floor
        if floor is None or incident.sev.rank <= floor.rank:
            return _refresh(ctx, incident, f"decision tree walked by {actor.name}: {decision.leaf.value}",
                            Permission.INCIDENT_DECIDE)
        while incident.sev.rank > floor.rank:
            incident = _escalate_sev(ctx, actor, Permission.INCIDENT_DECIDE, incident, incident.sev.one_up(),
                                     f"the decision tree says {decision.leaf.value}")
    return incident


def draft_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def draft_notice(ctx: Context, actor: Actor, incident_id: str, text: str) -> Incident:
    """legal.exec drafts (§4); a new draft voids every approval of the one before it. The draft's hash (never
    its text) goes to `#security-incidents` and the approvers with "Approve this draft" bound to it."""
    action = f"incident notice draft {normalise_id(incident_id)}"
    incident = _open(ctx, actor, Permission.NOTICE_DRAFT, action, incident_id)
    _contained_first(ctx, actor, Permission.NOTICE_DRAFT, action, incident)
    if incident.leaf != Leaf.BREACH:
        raise refuse(ctx, actor, Permission.NOTICE_DRAFT, action, _subject(incident.id),
                     f"{incident.id}'s decision tree is {incident.leaf.value if incident.leaf else 'not walked'}; only "
                     f"a breach is notified (chatops incident decide {incident.id} …)")
    if not text.strip():
        raise Invalid("--text is empty; give the notification's text")
    digest = draft_hash(text.strip())
    with locked(ctx):
        voided = [a for a in incident.approvals_for_current() if incident.draft_hash != digest]
        if voided:
            incident = _record(ctx, incident, Action.APPROVALS_VOIDED, actor, Permission.NOTICE_DRAFT,
                               {"draft_hash": incident.draft_hash, "people": [a.person for a in voided]},
                               {"voided_hash": incident.draft_hash, "count": len(voided)})
        incident = _record(ctx, incident, Action.DRAFTED, actor, Permission.NOTICE_DRAFT,
                           {"text": text.strip(), "draft_hash": digest}, {"draft_hash": digest})
        ctx.notifier.send(messages.draft_ready(ctx, incident))
        return _record(ctx, incident, Action.NOTIFIED, DAEMON, Permission.NOTICE_DRAFT, {"how": "draft"},
                       {"how": "draft", "draft_hash": digest})


def _current_draft(ctx: Context, actor: Actor, permission: Permission, action: str, incident: Incident,
                   seen: str | None) -> None:
    if not incident.draft_hash:
        raise refuse(ctx, actor, permission, action, _subject(incident.id),
                     f"{incident.id} has no notification draft yet (legal.exec drafts it)")
    if seen and not incident.draft_hash.removeprefix("sha256:").startswith(seen.removeprefix("sha256:")):
        raise refuse(ctx, actor, permission, action, _subject(incident.id),
                     f"the draft changed: you approved {seen[:19]}, the current draft is {incident.draft_hash[:19]}; "
                     f"read it (chatops incident show {incident.id}) and approve again",
                     detail={"draft_hash": incident.draft_hash, "seen": seen})


def approve_notice(ctx: Context, actor: Actor, incident_id: str, seen_hash: str | None = None) -> Incident:
    """An approval bound to the current draft's hash, as one of the roles still needed (CEO, COO, legal).

    One person counts once per draft whatever roles they hold; a person holding none of the roles
    still needed is refused, and both refusals are recorded with the incident as subject.
    """
    action = f"incident notice approve {normalise_id(incident_id)}"
    incident = _open(ctx, actor, Permission.NOTICE_APPROVE, action, incident_id)
    subject = _subject(incident.id)
    _current_draft(ctx, actor, Permission.NOTICE_APPROVE, action, incident, seen_hash)
    current = incident.approvals_for_current()
    if any(a.person == actor.name for a in current):
        raise refuse(ctx, actor, Permission.NOTICE_APPROVE, action, subject,
                     f"{actor.name} already approved this draft; one person counts once",
                     detail={"draft_hash": incident.draft_hash})
    needed = [r for r in APPROVER_ROLES if r not in {a.role for a in current}]
    usable = [r for r in needed if Role(r) in actor.roles]
    if not usable:
        raise refuse(ctx, actor, Permission.NOTICE_APPROVE, action, subject,
                     f"still needed: {', '.join(needed) or 'nothing'}; {actor.name} holds none of them",
                     detail={"draft_hash": incident.draft_hash})
    with locked(ctx):
        incident = _record(ctx, incident, Action.APPROVED, actor, Permission.NOTICE_APPROVE,
                           {"role": usable[0], "draft_hash": incident.draft_hash},
                           {"approval_role": usable[0], "draft_hash": incident.draft_hash})
        return _refresh(ctx, incident, f"draft {messages.short_hash(incident.draft_hash)} approved by {actor.name} "
                                       f"as {usable[0]}", Permission.NOTICE_APPROVE)


def counsel_review(ctx: Context, actor: Actor, incident_id: str, reviewer: str,
                   seen_hash: str | None = None) -> Incident:
    """Outside counsel reviewed the current draft (recorded by the COO, who initiates counsel, or legal.exec)."""
    action = f"incident notice counsel {normalise_id(incident_id)}"
    incident = _open(ctx, actor, Permission.NOTICE_APPROVE, action, incident_id)
    if not actor.roles & {Role.COO, Role.LEGAL_EXEC}:
        raise refuse(ctx, actor, Permission.NOTICE_APPROVE, action, _subject(incident.id),
                     "outside counsel's review is recorded by the COO or legal.exec")
    _current_draft(ctx, actor, Permission.NOTICE_APPROVE, action, incident, seen_hash)
    if not reviewer.strip():
        raise Invalid("--reviewer is empty; name outside counsel (firm or person)")
    with locked(ctx):
        return _record(ctx, incident, Action.COUNSEL_REVIEWED, actor, Permission.NOTICE_APPROVE,
                       {"reviewer": reviewer.strip(), "draft_hash": incident.draft_hash},
                       {"draft_hash": incident.draft_hash})


def missing_approvals(incident: Incident) -> list[str]:
    current = {a.role for a in incident.approvals_for_current()}
    missing = [r for r in APPROVER_ROLES if r not in current]
    if incident.customer_exposed and (incident.counsel_review is None
                                      or incident.counsel_review[1] != incident.draft_hash):
        missing.append("outside counsel")
    return missing


def notice_sent(ctx: Context, actor: Actor, incident_id: str, obligations: tuple[str, ...] = ()) -> Incident:
    """Record the notification sent (all open obligations, or those named); refused without every approval
    of the current draft: "No external notification without CEO + legal review" (§5)."""
    action = f"incident notice sent {normalise_id(incident_id)}"
    incident = _open(ctx, actor, Permission.NOTICE_SEND, action, incident_id)
    subject = _subject(incident.id)
    _current_draft(ctx, actor, Permission.NOTICE_SEND, action, incident, None)
    missing = missing_approvals(incident)
    if missing:
        raise refuse(ctx, actor, Permission.NOTICE_SEND, action, subject,
                     f"the current draft lacks: {', '.join(missing)}", detail={"draft_hash": incident.draft_hash})
    open_ = [o.name for o in incident.obligations if o.sent_at is None]
    chosen = list(obligations) or open_
    unknown = [name for name in chosen if name not in open_]
    if unknown or not chosen:
        raise Invalid(f"{incident.id}: {', '.join(unknown) or 'nothing'} is not an open notification; open: "
                      f"{', '.join(open_) or 'none'}")
    with locked(ctx):
        return _record(ctx, incident, Action.SENT, actor, Permission.NOTICE_SEND,
                       {"obligations": chosen, "draft_hash": incident.draft_hash},
                       {"obligations": chosen, "draft_hash": incident.draft_hash})


def close(ctx: Context, actor: Actor, incident_id: str) -> Incident:
    """Close once every step of the path is done; a SEV1/SEV2 starts its post-mortem clock (§6)."""
    action = f"incident close {normalise_id(incident_id)}"
    incident = _open(ctx, actor, Permission.INCIDENT_MANAGE, action, incident_id)
    _contained_first(ctx, actor, Permission.INCIDENT_MANAGE, action, incident)
    missing = missing_for_close(incident, ctx.settings)
    if missing:
        raise refuse(ctx, actor, Permission.INCIDENT_MANAGE, action, _subject(incident.id),
                     f"{incident.id} still needs: {', '.join(missing)}")
    with locked(ctx):
        now = ctx.now()
        due = None
        if incident.kind == Kind.COMPLIANCE and incident.sev in (Sev.SEV1, Sev.SEV2):
            due = start_postmortem(ctx, incident.id, incident.id.lower(), now, actor=actor)
        incident = _record(ctx, incident, Action.CLOSED, actor, Permission.INCIDENT_MANAGE, {},
                           {"severity": incident.sev.value})
        if due is not None:
            incident = _record(ctx, incident, Action.POSTMORTEM, actor, Permission.INCIDENT_MANAGE,
                               {"due": due.due.isoformat(), "path": str(due.path)},
                               {"due": due.due.isoformat(), "path": str(due.path)})
        incident = _refresh(ctx, incident, f"closed by {actor.name}", Permission.INCIDENT_MANAGE)   # no buttons left
    if due is not None:   # the skeleton's draft, if a local model is configured: kept sealed in the timeline
        incident = _council(ctx, incident, DraftKind.POSTMORTEM)
    return incident


def involved_roles(incident: Incident) -> frozenset[Role]:
    """The roles §4 engages on this incident's path: they may read it."""
    roles = {Role.SECURITY_OPS}
    if incident.kind == Kind.COMPLIANCE and incident.sev in (Sev.SEV1, Sev.SEV2):
        roles |= {Role.COO}
    if incident.kind == Kind.COMPLIANCE and (incident.sev == Sev.SEV1 or incident.leaf is not None):
        roles |= {Role.CEO, Role.LEGAL_EXEC}
    return frozenset(roles)


def read(ctx: Context, actor: Actor, incident_id: str) -> Incident:
    """The decrypted incident, for the people it involves; anyone else is refused and recorded."""
    incident_id = normalise_id(incident_id)
    action = f"incident show {incident_id}"
    authorize(ctx, actor, Permission.INCIDENT_SHOW, action, _subject(incident_id))
    incident = load(ctx, incident_id)
    if actor.name in incident.involved() or actor.roles & involved_roles(incident):
        return incident
    raise refuse(ctx, actor, Permission.INCIDENT_SHOW, action, _subject(incident_id),
                 f"{incident_id} is read only by the people it involves (filer, owner, "
                 f"{', '.join(sorted(r.value for r in involved_roles(incident)))})")


def check_clocks(ctx: Context) -> list[str]:
    """The periodic check: remind each open clock before it is due, escalate it once when missed.

    Reminders go to `#security-incidents` and the owner; a missed step is escalated to the COO (and
    the CEO on a SEV1). Both are timeline entries, so a restart never repeats them.
    """
    from jobs.compliance.service import all_incidents

    before = ctx.settings.compliance.remind_before_minutes
    now = ctx.now()
    lines: list[str] = []
    for incident in all_incidents(ctx):
        if not incident.open:
            continue
        for clock in clocks(incident, ctx.settings):
            if clock.done_at is not None:
                continue
            if now >= clock.due and not clock.overdue:
                to = messages.people_with(ctx, Role.COO)
                if incident.sev == Sev.SEV1 and incident.kind == Kind.COMPLIANCE:
                    to = tuple(dict.fromkeys(to + messages.people_with(ctx, Role.CEO)))
                with locked(ctx):
                    incident = _record(ctx, incident, Action.OVERDUE, DAEMON, Permission.INCIDENT_MANAGE,
                                       {"clock": clock.name, "to": list(to)},
                                       {"clock": clock.name, "due": clock.due.isoformat(), **_signed(ctx, incident)})
                ctx.notifier.send(messages.overdue(ctx, incident, clock, to))
                lines.append(f"{incident.id} {clock.name} overdue; escalated to {', '.join(to)}")
            elif now >= clock.due - timedelta(minutes=before) and not clock.reminded and not clock.overdue:
                with locked(ctx):
                    incident = _record(ctx, incident, Action.REMINDED, DAEMON, Permission.INCIDENT_MANAGE,
                                       {"clock": clock.name}, {"clock": clock.name, "due": clock.due.isoformat()})
                ctx.notifier.send(messages.reminder(ctx, incident, clock))
                lines.append(f"{incident.id} {clock.name} reminded")
    return lines


def sealed_rotation(ctx: Context, actor: Actor) -> tuple[int, int]:
    """`incident keys rotate`: a new incident key, every timeline resealed, the old keys retired."""
    from jobs.compliance.service import rotate_keys

    authorize(ctx, actor, Permission.INCIDENT_KEYS, "incident keys rotate", Subject("incident key", "current"))
    count, retired = rotate_keys(ctx)
    ctx.ledgers.operations.append("incident.keys_rotated", actor.ledger_id, actor.role_for(Permission.INCIDENT_KEYS),
                                  {"data": {"timelines": count, "retired": retired}})
    return count, retired

