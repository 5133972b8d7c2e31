"""A baseline change proposed by one person and approved by another O3 (Slack button or CLI).

The proposal is an approval request (`jobs.approvals`) bound by hash to exactly what it proposes:
the scenario, the value, the window and a digest of the runs it was computed from. On approval the
value is computed again from the data as it is now; if a newer run changed it, the approval is
refused (and recorded on the request), the proposal is renewed under the original proposer's name
and posted again (replacing the proposal message, whose Approve button then approves the new one),
so the approver sees the new value before approving it. The replaced proposal is closed as superseded
(`jobs.approvals.supersede`, naming the new one): it no longer waits for anyone on App Home, and a click
on it is refused. A new proposal for a scenario that already has a pending one replaces it the same way:
a scenario has one live proposal.

The approval decision is taken in the same state transaction and credit-ledger commit as the baseline
change it allows (`baseline_apply.commit`), so the request is approved exactly when the baseline was
changed: a failed change leaves it pending. Its requests, decisions and refusals are therefore
recorded in the credit ledger, beside the baseline entries.

The proposer can never approve their own proposal (`jobs.approvals` refuses it), except in a
single-operator installation with `[baselines] allow_self_approval = true`, where the proposer's
approval closes the request like any other decision and the decision and the update note say it was
self-approved.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobs import approvals
from jobs.actors import Actor, Permission, Subject, UnknownPerson, authorize
from jobs.approvals import ApprovalRefused, ApprovalRequest, Decision, Status
from jobs.audit import LedgerName
from jobs.context import Context
from jobs.credits.baselines import flows as baselines
from jobs.credits.audit import CREDIT, scenario_subject
from jobs.credits.baselines.apply import Applied, ProposalApproval, record, refused
from jobs.credits.baselines.messages import calculation_text
from jobs.credits.baselines.pending import KIND, pending, subject
from jobs.credits.baselines.flows import BadInput, BaselineError, Calculation, UpdateRefused
from jobs.errors import Conflict, ExitCode
from jobs.notices import Notice

class ProposalSuperseded(BaselineError, Conflict):
    """The data changed after the proposal; a new proposal was posted instead."""

    exit_code = ExitCode.CONFLICT

    def __init__(self, message: str, renewed: ApprovalRequest) -> None:
        self.renewed = renewed
        super().__init__(message)


@dataclass(frozen=True)
class Proposal:
    request: ApprovalRequest
    calculation: Calculation


def propose(ctx: Context, actor: Actor, scenario_id: str, reason: str, days: int | None = None,
            force_large_change: bool = False) -> Proposal:
    """Calculate, check the prerequisites, open an approval request and post it with an Approve button."""
    authorize(ctx, actor, Permission.BASELINE_CALCULATE, "baseline propose", scenario_subject(scenario_id))
    reason = (reason or "").strip()
    if not reason:
        raise BadInput("baseline propose needs --reason: it becomes the update note's rationale")
    calc = baselines.compute(ctx, scenario_id, days)
    failures = baselines.prerequisite_failures(ctx, calc, force_large_change)
    if failures:
        error = UpdateRefused(scenario_id, failures, command="baseline propose")
        refused(ctx, actor, "baseline propose", scenario_id, error, Permission.BASELINE_CALCULATE, failures=failures)
        raise error
    return _open(ctx, actor, calc, reason, force_large_change, renewed_by=actor,
                 why=f"proposed again by {actor.name}")


def approve(ctx: Context, actor: Actor, request_id: str, extra_reason: str = "") -> Applied:
    """An O3 approves a proposal: bound to the data it was computed from, never the proposer's own.

    With `[baselines] allow_self_approval` the proposer may approve it; the request is then closed
    with that decision like any other (not left pending beside an applied change), and the decision
    and the update note say it was self-approved.
    """
    authorize(ctx, actor, Permission.BASELINE_CHANGE, "baseline approve", Subject("proposal", request_id, CREDIT))
    req = approvals.get(ctx, request_id)
    if req.kind != KIND:
        raise BaselineError(f"{request_id} is a {req.kind} request, not a baseline proposal")
    scenario_id = req.what["scenario_id"]
    proposer = _person(ctx, req.requested_by)
    own = actor.name == proposer.name
    self_allowed = own and ctx.settings.baselines.allow_self_approval
    may_decide = (not own or self_allowed) and req.status is Status.PENDING
    force = bool(req.what.get("force_large_change"))
    reason = req.what["reason"] + (f"\n{extra_reason.strip()}" if extra_reason.strip() else "")
    if req.status in (Status.PENDING, Status.SUPERSEDED):
        _refuse_if_replaced(ctx, actor, req)
    calc = baselines.compute(ctx, scenario_id, req.what["days"])
    now_what = _what(calc, req.what["reason"], force)
    if now_what != req.what and may_decide:
        return _supersede(ctx, actor, req, proposer, calc, now_what)
    failures = baselines.prerequisite_failures(ctx, calc, force)
    if failures and may_decide:
        error = UpdateRefused(scenario_id, failures, command=f"baseline approve {request_id}")
        refused(ctx, actor, "baseline approve", scenario_id, error, request=request_id, failures=failures)
        raise error
    note = "self-approved (allowed by [baselines] allow_self_approval)" if self_allowed else ""
    try:
        approvals.check_decision(ctx, request_id, actor, Decision.APPROVED, now_what, note=note,
                                 allow_self=self_allowed)
        return baselines.update(ctx, actor, scenario_id, reason, req.what["days"], force, proposer=proposer,
                                approval=ProposalApproval(request_id, now_what, note, self_allowed),
                                expected_digest=req.what["data_digest"])
    except ApprovalRefused as exc:   # found before the change, or decided by another O3 in between; recorded there
        raise BaselineError(str(exc)) from None


# ---- internals -------------------------------------------------------------------------------------


def _what(calc: Calculation, reason: str, force_large_change: bool) -> dict[str, Any]:
    """Exactly what is approved; its hash binds the approval."""
    return {"scenario_id": calc.scenario_id, "median_credits": calc.median_credits,
            "sample_size": calc.sample_size, "cv": calc.cv, "days": calc.days,
            "data_digest": calc.data_digest, "reason": reason, "force_large_change": force_large_change}


def _open(ctx: Context, proposer: Actor, calc: Calculation, reason: str, force: bool, renewed_by: Actor,
          why: str) -> Proposal:
    """Open the request and post it; the scenario's pending proposal, if any, is superseded by it.

    One state transaction, so two renewals at once cannot both replace the same proposal: the second
    replaces the first's renewal, and exactly one proposal of the scenario stays pending.
    """
    with ctx.state.transaction():
        replaced = pending(ctx, calc.scenario_id)
        req = approvals.request(ctx, kind=KIND, subject=subject(calc.scenario_id), what=_what(calc, reason, force),
                                requester=proposer, permission=Permission.BASELINE_CHANGE, ledger=LedgerName.CREDIT)
        if replaced is not None:
            approvals.supersede(ctx, replaced.id, req.id, renewed_by, why)
        record(ctx, "baseline.proposed", proposer, {"data": {
            "scenario_id": calc.scenario_id, "request": req.id, "median_credits": calc.median_credits,
            "sample_size": calc.sample_size, "coefficient_of_variation": calc.cv, "window_days": calc.days,
            "data_digest": calc.data_digest, "reason": reason, "replaces": replaced.id if replaced else None}},
            Permission.BASELINE_CALCULATE)
    ctx.notifier.send(_notice(ctx, req, calc, f"{replaced.id}: {why}" if replaced else ""))
    return Proposal(request=req, calculation=calc)


def _refuse_if_replaced(ctx: Context, actor: Actor, req: ApprovalRequest) -> None:
    """A replaced proposal's old button must not approve or renew it: point at the current proposal.

    A replaced proposal is superseded; one still pending behind a newer request (recorded before
    proposals were superseded) is treated the same.
    """
    newest = approvals.latest(ctx, KIND, req.subject)
    if newest is None or (newest.id == req.id and req.status is not Status.SUPERSEDED):
        return
    replaced_by = req.superseded_by or newest.id
    message = (f"{req.id} was replaced by {replaced_by} (the current proposal is {newest.id}, proposed by "
               f"{newest.requested_by}: {newest.what['median_credits']:.2f} from {newest.what['sample_size']} "
               f"runs); approve {newest.id} instead")
    error = BaselineError(message)
    refused(ctx, actor, "baseline approve", req.what["scenario_id"], error, request=req.id, replaced_by=replaced_by)
    raise error


def _supersede(ctx: Context, actor: Actor, req: ApprovalRequest, proposer: Actor, calc: Calculation,
               now_what: dict[str, Any]) -> Applied:
    """Refuse the click (recorded on the request and in the ledger by approvals), renew the proposal, show it."""
    try:
        approvals.check_decision(ctx, req.id, actor, Decision.APPROVED, now_what)
    except ApprovalRefused:
        pass
    else:
        raise BaselineError(f"{req.id} would be approved although its data changed; report this as a defect")
    renewed = _open(ctx, proposer, calc, req.what["reason"], bool(req.what.get("force_large_change")),
                    renewed_by=actor, why="the runs changed")
    raise ProposalSuperseded(
        f"the runs of {calc.scenario_id} changed since {req.id} was proposed "
        f"({req.what['median_credits']:.2f} from {req.what['sample_size']} runs; now "
        f"{calc.median_credits:.2f} from {calc.sample_size} runs). The approval is void; the new proposal is "
        f"{renewed.request.id}:\n{calculation_text(ctx, calc)}", renewed.request)


def _notice(ctx: Context, req: ApprovalRequest, calc: Calculation, replaces: str) -> Notice:
    renewed = f" (replaces {replaces})" if replaces else ""
    text = (f"Baseline proposal {req.id}{renewed} by {req.requested_by}: {calc.scenario_id} → "
            f"{calc.median_credits:.2f} credits\n{calculation_text(ctx, calc)}\nRationale: {req.what['reason']}\n"
            f"Approve: an O3 other than {req.requested_by} presses Approve, or runs "
            f"`chatops baseline approve {req.id} --as NAME`")
    return Notice(
        kind="baseline.proposal", subject=subject(calc.scenario_id), text=text,
        channel=ctx.settings.slack.channels.ops_review,
        fields={"credits": f"{calc.median_credits:.2f}",
                "baseline": f"{calc.current.median_credits:.2f}" if calc.current else None,
                "required": [f"O3 approval by someone other than {req.requested_by}"],
                "actions": [{"label": "Approve", "command": "baseline approve", "target": req.id,
                             "style": "primary"}]},
        update_original=True, suppressible=False)


def _person(ctx: Context, name: str) -> Actor:
    try:
        return ctx.people.by_name(name)
    except UnknownPerson:
        return Actor(name=name, roles=frozenset())
