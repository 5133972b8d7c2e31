"""The runbook's operator procedures, each function one of its numbered steps (seed 001, "Operator Response").

What people do once the automatic actions have run (`recorder`): SEV0 steps 1–7 and SEV1 steps 1–6
(acknowledge, document, root cause, mitigate, approve the rerun, resolve), "Rerun Approval Gates" step 3,
"Quarantine Procedures" steps 3–4 and "Backfill Mode". Each function's docstring names its step.

Each action follows docs/architecture.md §3: check the role (`jobs.actors`, refusal recorded), check the
runbook's preconditions (refusal recorded, naming every unmet one), append the ledger entry, change
the state in the same transaction, then say it in the case's thread. Case status moves only along
`TRANSITIONS`; anything else is refused.

Who may do what (jobs/actors.py PERMISSIONS): ACK, notes and a *proposed* root cause — O2 or O3;
the root cause itself, resolution, `APPROVED for rerun` / `DENIED`, quarantine release, backfill mode
and scenario settings — O3 only.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

from jobs import approvals
from jobs.actors import DAEMON, Actor, Permission, allowed, authorize
from jobs.audit import LedgerName
from jobs.context import Context
from jobs.errors import Invalid, Refused
from jobs.credits.cases import service as case_records
from jobs.credits import messages
from jobs.credits.audit import CreditsRefused, case_subject, ledger, refuse, run_subject, scenario_subject, who
from jobs.credits.gates import RERUN_APPROVAL_KIND, closest, rerun_approval_what
from jobs.errors import Conflict
from jobs.credits.records import (BackfillWindow, Case, CaseNote, CaseStatus, ReleaseFinding, RerunDecision,
                                  RootCause, ScenarioSettings)
from jobs.notices import Notice
from jobs.notion import service as notion_mirror
from store import artifacts
from store import quarantine as quarantine_store
from store import scenarios as scenario_store

#: The allowed moves of a case's Status (transitions as a table, not an `if` tree).
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.INVESTIGATING, CaseStatus.RESOLVED}),
    CaseStatus.INVESTIGATING: frozenset({CaseStatus.INVESTIGATING, CaseStatus.RESOLVED}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.INVESTIGATING}),   # only by an escalation (a rerun spiked)
}

SCENARIO_KEYS = ("max_items",)


def _moved(case: Case, to: CaseStatus) -> CaseStatus:
    if to not in TRANSITIONS[case.status]:
        raise Conflict(f"{case.case_id} cannot move from {case.status.value} to {to.value}")
    return to


def _say(ctx: Context, notices: list[Notice]) -> None:
    for notice in notices:
        ctx.notifier.send(notice)


def _refuse_if(ctx: Context, actor: Actor, permission: Permission, action: str, case: Case,
               problems: list[str]) -> None:
    if problems:
        raise refuse(ctx, actor, permission, action, case_subject(case.case_id, case.run_id), "; ".join(problems))


def _entry(ctx: Context, actor: Actor, permission: Permission, kind: str, case: Case, **data: object) -> None:
    ledger_actor, role = who(actor, permission)
    ledger(ctx).append(kind, ledger_actor, role, {"Run_ID": case.run_id, "data": {"case": case.case_id, **data}})


def ack(ctx: Context, actor: Actor, case_id: str) -> Case:
    """SEV0 step 1 "Acknowledge Alert" (SEV1 step 1): "ACK - O2 <name> investigating CASE-<id>".

    Stops the re-notifications."""
    action = f"case ack {case_id}"
    authorize(ctx, actor, Permission.CASE_ACK, action, case_subject(case_id))
    now = ctx.now()
    with ctx.state.transaction() as db:
        case = case_records.load(db, case_id)
        problems = []
        if not case.is_open:
            problems.append(f"{case.case_id} is already resolved (at {case.resolved_at:%Y-%m-%d %H:%M %Z})")
        elif case.acked_at is not None:
            problems.append(f"{case.case_id} was already acknowledged by {case.acked_by} at "
                            f"{ctx.local(case.acked_at):%Y-%m-%d %H:%M %Z}")
        _refuse_if(ctx, actor, Permission.CASE_ACK, action, case, problems)
        late = case.ack_due_at is not None and now > case.ack_due_at
        updated = case.with_note(CaseNote(now, actor.name, f"ACK - {actor.role_for(Permission.CASE_ACK)} "
                                                           f"{actor.name} investigating {case.case_id}", "ack"),
                                 acked_at=now, acked_by=actor.name,
                                 status=_moved(case, CaseStatus.INVESTIGATING))
        _entry(ctx, actor, Permission.CASE_ACK, "alert.acked", updated, severity=case.severity.value,
               due_at=case.ack_due_at.isoformat() if case.ack_due_at else None, late=late,
               reminders_sent=case.reminders_sent)
        case_records.save(db, updated)
        notion_mirror.queue_changes(ctx, cases=[updated])   # in the transaction: never lost
    _say(ctx, [messages.case_update(ctx.settings, updated,
                                    f"ACK recorded: {actor.name} ({actor.role_for(Permission.CASE_ACK)}) is "
                                    f"investigating {updated.case_id}" + (" (after the deadline)" if late else ""))])
    return updated


def note(ctx: Context, actor: Actor, case_id: str, text: str, slack_thread_url: str = "") -> Case:
    """SEV0 steps 3 and 5: "Document assessment in case notes", "Add Slack_Thread_URL" (also the
    mitigation steps and evidence the runbook's "Documentation Required" lists)."""
    action = f"case note {case_id}"
    authorize(ctx, actor, Permission.CASE_NOTE, action, case_subject(case_id))
    now = ctx.now()
    with ctx.state.transaction() as db:
        case = case_records.load(db, case_id)
        problems = [] if text.strip() else ["the note is empty; write what was found or done"]
        if slack_thread_url and not slack_thread_url.startswith(("https://", "http://")):
            problems.append(f"Slack_Thread_URL {slack_thread_url!r} is not a link; paste the thread's https:// URL")
        _refuse_if(ctx, actor, Permission.CASE_NOTE, action, case, problems)
        updated = case.with_note(CaseNote(now, actor.name, text.strip()),
                                 slack_thread_url=slack_thread_url or case.slack_thread_url)
        _entry(ctx, actor, Permission.CASE_NOTE, "case.noted", updated, note=text.strip(),
               slack_thread_url=slack_thread_url or None)
        case_records.save(db, updated)
        notion_mirror.queue_changes(ctx, cases=[updated])   # in the transaction: never lost
    return updated


def root_cause(ctx: Context, actor: Actor, case_id: str, cause: RootCause, text: str = "") -> Case:
    """SEV0 step 5 "Determine Root Cause" / SEV1 step 3 "Classify Root Cause": an O3 sets `Root_Cause`;
    an O2 proposes one for an O3 to confirm (runbook escalation level 2)."""
    action = f"case root-cause {case_id}"
    authorize(ctx, actor, Permission.CASE_NOTE, action, case_subject(case_id))
    approving = allowed(actor, Permission.CASE_ROOT_CAUSE_APPROVE)
    permission = Permission.CASE_ROOT_CAUSE_APPROVE if approving else Permission.CASE_NOTE
    now = ctx.now()
    with ctx.state.transaction() as db:
        case = case_records.load(db, case_id)
        problems = [] if case.is_open else [f"{case.case_id} is resolved; a rerun spike reopens it"]
        _refuse_if(ctx, actor, permission, action, case, problems)
        what = "Root_Cause set" if approving else "root cause proposed"
        line = f"{what}: {cause.value}" + (f" - {text.strip()}" if text.strip() else "")
        changes = {"root_cause": cause} if approving else {"proposed_root_cause": cause}
        updated = case.with_note(CaseNote(now, actor.name, line, "root_cause" if approving else "proposed_root_cause"),
                                 status=_moved(case, CaseStatus.INVESTIGATING), **changes)
        _entry(ctx, actor, permission, "case.root_cause", updated, root_cause=cause.value, approved=approving,
               note=text.strip() or None)
        case_records.save(db, updated)
        notion_mirror.queue_changes(ctx, cases=[updated])   # in the transaction: never lost
    _say(ctx, [messages.case_update(ctx.settings, updated, f"{updated.case_id}: {line} ({actor.name})")])
    return updated


def resolve(ctx: Context, actor: Actor, case_id: str, summary: str) -> Case:
    """SEV0 step 7 / SEV1 step 6 "Resolve Case": Status → Resolved with Resolved_At, once the root cause
    is set and it is ACKed."""
    action = f"case resolve {case_id}"
    authorize(ctx, actor, Permission.CASE_RESOLVE, action, case_subject(case_id))
    now = ctx.now()
    with ctx.state.transaction() as db:
        case = case_records.load(db, case_id)
        problems = []
        if not case.is_open:
            problems.append(f"{case.case_id} is already resolved")
        if case.awaiting_ack:
            problems.append(f"{case.case_id} was never acknowledged (`chatops case ack {case.case_id}`)")
        if case.root_cause is None:
            proposed = f" (proposed: {case.proposed_root_cause.value})" if case.proposed_root_cause else ""
            problems.append(f"Root_Cause is not set{proposed}: an O3 sets it with "
                            f"`chatops case root-cause {case.case_id} \"<cause>\"`")
        if not summary.strip():
            problems.append("the resolution summary is empty: say what was mitigated")
        _refuse_if(ctx, actor, Permission.CASE_RESOLVE, action, case, problems)
        updated = case.with_note(CaseNote(now, actor.name, summary.strip(), "resolution"),
                                 status=_moved(case, CaseStatus.RESOLVED), resolved_at=now)
        _entry(ctx, actor, Permission.CASE_RESOLVE, "case.resolved", updated, summary=summary.strip(),
               root_cause=case.root_cause.value if case.root_cause else None, resolved_at=now.isoformat())
        case_records.save(db, updated)
        notion_mirror.queue_changes(ctx, cases=[updated])   # in the transaction: never lost
    _say(ctx, [messages.case_update(ctx.settings, updated,
                                    f"{updated.case_id} resolved by {actor.name}: {summary.strip()}")])
    return updated


def _decision_problems(case: Case, decision: RerunDecision, text: str) -> list[str]:
    problems = []
    if not case.is_open:
        problems.append(f"{case.case_id} is resolved")
    if not case.rerun_gate:
        problems.append(f"{case.case_id} ({case.severity.value}) has no rerun gate: reruns of "
                        f"{case.scenario_id} need no approval")
    if case.rerun_decision is RerunDecision.APPROVED:
        problems.append(f"{case.case_id} was already APPROVED for rerun by {case.rerun_decided_by} "
                        f"({case.approval_id}); the first approval stands until a rerun spikes again")
    if not text.strip():
        problems.append("APPROVED for rerun needs the mitigation: `APPROVED for rerun - <mitigation>`"
                        if decision is RerunDecision.APPROVED else "DENIED needs a reason: `DENIED - <reason>`")
    if decision is RerunDecision.APPROVED:
        if case.awaiting_ack:
            problems.append(f"{case.case_id} is not acknowledged yet: ACK comes before any rerun")
        if case.root_cause is None and case.proposed_root_cause is None:
            problems.append("no root cause identified yet (runbook: confirm root cause before approving); "
                            f"`chatops case root-cause {case.case_id} \"<cause>\"`")
    return problems


def decide_rerun(ctx: Context, actor: Actor, case_id: str, decision: RerunDecision, text: str) -> Case:
    """SEV1 step 5 "Approve Rerun" / "Rerun Approval Gates" steps 2–3 "Verify Mitigation", "Approve or
    Deny": `APPROVED for rerun - <mitigation>` or `DENIED - <reason>` (O3), bound by hash to case + text.

    All or nothing, like a baseline change (jobs/credits/baselines/apply.py): inside one state
    transaction, one commit of the credit ledger holds the approval request, the decision on it
    (`approval.requested`, `approval.decided`, beside the run and its case) and `rerun.approved` /
    `rerun.denied`; the state written after it holds the request, the decision and the case. A failed
    write leaves no request, no decision and the case as it was, and the gate stays closed.

    The runbook's refusals are found and recorded first (`_decision_problems`). The request is opened
    here for exactly what is decided, so approvals has nothing left to refuse; should a rule there
    refuse anyway, the refusal is recorded in the same commit as the request it refuses.
    """
    verb = "approve" if decision is RerunDecision.APPROVED else "deny"
    action = f"rerun {verb} {case_id}"
    authorize(ctx, actor, Permission.RERUN_DECIDE, action, case_subject(case_id))
    now = ctx.now()
    text = text.strip()
    refusal: CreditsRefused | None = None
    with ctx.state.transaction() as db:
        case = case_records.load(db, case_id)
        _refuse_if(ctx, actor, Permission.RERUN_DECIDE, action, case, _decision_problems(case, decision, text))
        what = rerun_approval_what(case, text)
        with ledger(ctx).commit() as entries:
            request = approvals.request(ctx, kind=RERUN_APPROVAL_KIND, subject=case.case_id, what=what,
                                        requester=DAEMON, permission=Permission.RERUN_DECIDE,
                                        ledger=LedgerName.CREDIT.value, entries=entries)
            try:
                decided = approvals.decide(ctx, request.id, actor, approvals.Decision(decision.value.lower()), what,
                                           note=text, at=now, entries=entries)
            except Refused as exc:
                refusal = refuse(ctx, actor, Permission.RERUN_DECIDE, action, case_subject(case.case_id, case.run_id),
                                 str(exc), entries)
            else:
                approval_id = decided.final.approval_id if decided.final else ""
                line = f"APPROVED for rerun - {text}" if decision is RerunDecision.APPROVED else f"DENIED - {text}"
                updated = case.with_note(CaseNote(now, actor.name, line, "rerun_decision"), rerun_decision=decision,
                                         rerun_decision_text=text, rerun_decided_by=actor.name,
                                         approval_id=approval_id, status=_moved(case, CaseStatus.INVESTIGATING))
                kind = "rerun.approved" if decision is RerunDecision.APPROVED else "rerun.denied"
                ledger_actor, role = who(actor, Permission.RERUN_DECIDE)
                entries.append(kind, ledger_actor, role, {"Run_ID": updated.run_id, "data": {
                    "case": updated.case_id,
                    **({"mitigation": text} if decision is RerunDecision.APPROVED else {"reason": text}),
                    "approval_id": approval_id, "approval_request": request.id, "digest": request.digest}})
                case_records.save(db, updated)
                notion_mirror.queue_changes(ctx, cases=[updated])   # in the transaction: never lost
    if refusal is not None:
        raise refusal
    _say(ctx, [messages.case_update(ctx.settings, updated, f"{updated.case_id}: {line} ({actor.name}, {approval_id})")])
    return updated


def release_quarantine(ctx: Context, actor: Actor, run_id: str, finding: ReleaseFinding, reason: str) -> str:
    """"Quarantine Procedures" step 3 "Assess Release Criteria" and step 4 "Release from Quarantine (O3
    Only)": the criteria checked, not assumed.

    Criteria: the exposure is a confirmed false positive or mitigated (`finding`), the case is resolved
    and documented (Root_Cause set), an O3 approves (this action), and the artifact still has the hash
    recorded when it was quarantined. The files go back to the directory they came from.
    """
    action = f"quarantine release {run_id}"
    authorize(ctx, actor, Permission.QUARANTINE_RELEASE, action, run_subject(run_id))
    now = ctx.now()
    with ctx.state.transaction() as db:
        held = quarantine_store.get(db, run_id)
        if held is None or held.get("released_at"):
            quarantined = [row["run_id"] for row in quarantine_store.held(db)]
            close = closest(run_id, quarantined)
            now_held = (f"closest in quarantine: {', '.join(close)}" if close else
                        f"in quarantine now: {', '.join(quarantined[:10]) or 'none'}")
            state = "was already released" if held else f"is not in quarantine ({now_held})"
            raise refuse(ctx, actor, Permission.QUARANTINE_RELEASE, action, run_subject(run_id),
                         f"run {run_id} {state}; nothing was moved (see `ls runs/QUARANTINE/`)")
        case = case_records.case_for_run(db, run_id)
        if case is None:
            raise refuse(ctx, actor, Permission.QUARANTINE_RELEASE, action, run_subject(run_id),
                         f"no case lists run {run_id}; the release criteria need a resolved case")
        problems = []
        if case.is_open:
            problems.append(f"{case.case_id} is {case.status.value}: resolve it first "
                            f"(`chatops case resolve {case.case_id} --summary …`)")
        if case.root_cause is None:
            problems.append(f"{case.case_id} has no Root_Cause documented")
        if not reason.strip():
            problems.append("the reason is empty: say why it is safe (evidence of no exposure, what was redacted)")
        if problems:
            raise refuse(ctx, actor, Permission.QUARANTINE_RELEASE, action, run_subject(run_id), "; ".join(problems))
        try:
            moved = artifacts.move(ctx.data_dir, Path(held["path"]), Path(held["original_path"]).parent,
                                   held["sha256"])
        except artifacts.ArtifactError as exc:
            raise refuse(ctx, actor, Permission.QUARANTINE_RELEASE, action, run_subject(run_id), str(exc)) from None
        artifacts.remove_if_empty(ctx.data_dir, moved.old_path.parent)
        quarantine_store.put(db, {**held, "released_at": now.isoformat(), "released_by": actor.name,
                                  "finding": finding.value, "reason": reason.strip()})
        ledger_actor, role = who(actor, Permission.QUARANTINE_RELEASE)
        ledger(ctx).append("quarantine.released", ledger_actor, role, {"Run_ID": run_id, "data": {
            "old_path": str(moved.old_path), "new_path": str(moved.new_path), "sha256": moved.sha256,
            "finding": finding.value, "reason": reason.strip(), "case": case.case_id, "dispatch": "unblocked"}})
        updated = case.with_note(CaseNote(now, actor.name, f"Quarantine released on {ctx.local(now):%Y-%m-%d} by O3 "
                                                           f"{actor.name} ({finding.value}): {reason.strip()}",
                                          "release"),
                                 quarantined_run_ids=tuple(r for r in case.quarantined_run_ids if r != run_id))
        case_records.save(db, updated)
        notion_mirror.queue_changes(ctx, runs=[run_id], cases=[updated])   # the run's page: no longer Quarantined
    _say(ctx, [messages.case_update(ctx.settings, updated, f"{run_id} released from quarantine by {actor.name} "
                                                           f"({finding.value}); downstream dispatch unblocked")])
    return str(moved.new_path)


def set_backfill(ctx: Context, actor: Actor, scenario_id: str, on: bool, start: datetime | None = None,
                 end: datetime | None = None, reason: str = "") -> ScenarioSettings:
    """"Emergency Procedures: Backfill Mode" (O3): a window with a start and an end; the flag ends on its own."""
    action = f"backfill {'on' if on else 'off'} {scenario_id}"
    authorize(ctx, actor, Permission.BACKFILL_SET, action, scenario_subject(scenario_id))
    now = ctx.now()
    start = start or now
    with ctx.state.transaction() as db:
        current = case_records.scenario(db, scenario_id)
        problems = []
        if on:
            if end is None or end <= start:
                problems.append(f"--until must be after the start ({start.isoformat()})")
            elif end <= now:
                problems.append(f"--until {end.isoformat()} is already past")
            if not reason.strip():
                problems.append("--reason is required: say what is being reprocessed and why")
        elif current.backfill is None:
            problems.append(f"backfill mode is not on for {scenario_id}")
        if problems:   # a bad window or reason is the caller's input (2); "not on" is the scenario's state (7)
            error = (Invalid if on else Conflict)(f"{action}: {'; '.join(problems)}")
            raise refuse(ctx, actor, Permission.BACKFILL_SET, action, scenario_subject(scenario_id), error)
        window = BackfillWindow(start, end, reason.strip(), actor.name) if on and end else None
        updated = replace(current, backfill=window)
        ledger_actor, role = who(actor, Permission.BACKFILL_SET)
        ledger(ctx).append("backfill.set", ledger_actor, role, {"data": {
            "scenario": scenario_id, "on": on, "start": start.isoformat() if on else None,
            "end": end.isoformat() if on and end else None, "ended_at": None if on else now.isoformat(),
            "reason": reason.strip() or None}})
        row = case_records.scenario_to_row(updated)
        scenario_store.put(db, row)
        scenario_store.write_export(ctx.data_dir, row)
    return updated


#: The largest `max_items` (a run's item cap): beyond it no cap is meant, and the ledger holds integers < 2^53.
MAX_ITEMS = 2 ** 31 - 1


def set_scenario(ctx: Context, actor: Actor, scenario_id: str, key: str, value: str) -> ScenarioSettings:
    """SEV1 step 4 "Mitigate — If Misconfig" / SEV0 step 6 "Prevent Recurrence": update the scenario
    config (max_items …) (O3)."""
    action = f"scenario set {scenario_id} {key}"
    authorize(ctx, actor, Permission.SCENARIO_SET, action, scenario_subject(scenario_id))
    if key not in SCENARIO_KEYS:
        raise refuse(ctx, actor, Permission.SCENARIO_SET, action, scenario_subject(scenario_id), Invalid(
                     f"{action}: unknown setting {key!r}; settable: {', '.join(SCENARIO_KEYS)}"))
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ITEMS:
        raise refuse(ctx, actor, Permission.SCENARIO_SET, action, scenario_subject(scenario_id), Invalid(
                     f"{action}: max_items = {value!r}: expected a whole number from 1 to {MAX_ITEMS:,}, "
                     "e.g. 1000"))
    with ctx.state.transaction() as db:
        current = case_records.scenario(db, scenario_id)
        updated = replace(current, max_items=int(value))
        ledger_actor, role = who(actor, Permission.SCENARIO_SET)
        ledger(ctx).append("scenario.set", ledger_actor, role, {"data": {
            "scenario": scenario_id, "key": key, "old": current.max_items, "new": int(value)}})
        row = case_records.scenario_to_row(updated)
        scenario_store.put(db, row)
        scenario_store.write_export(ctx.data_dir, row)
    return updated
