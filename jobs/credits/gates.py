"""The dispatch gate: may an orchestrator dispatch downstream work of a run, or (re)run a scenario?

Orchestrators ask before they act (`chatops gate dispatch RUN|SCENARIO`, `GET /gate/<id>`), and the
answer names every reason it is blocked and what unblocks it:

* a run: blocked while it is quarantined (SEV0) — released only by an O3 (`quarantine release`);
  unknown runs are blocked too: nothing is dispatched on a run that was never recorded;
* a scenario: blocked while any of its cases holds the rerun gate — SEV0 / SEV1 before ACK, any
  gated case without an O3 `APPROVED for rerun`, or after `DENIED`; an approval counts only while it
  is still bound (by hash) to the case and the mitigation it approved.

Reading only: the gate changes nothing and writes no ledger entry (orchestrators poll it); the
blocking itself was recorded when it happened (`dispatch.blocked`, `case.opened`).
"""
from __future__ import annotations

from jobs import approvals
from jobs.context import Context
from jobs.credits import cases as case_records
from jobs.credits.records import Case, GateDecision, RerunDecision
from store import quarantine as quarantine_store
from store.runs_index import RunsIndex

RERUN_APPROVAL_KIND = "credits.rerun"


def rerun_approval_what(case: Case, mitigation: str) -> dict[str, str]:
    """What an `APPROVED for rerun` is bound to: this case, its run, and the mitigation text."""
    return {"case": case.case_id, "run": case.run_id, "mitigation": mitigation}


def case_blocks_rerun(ctx: Context, case: Case) -> str | None:
    """Why `case` blocks a rerun of its scenario, or None."""
    if not case.is_open or not case.rerun_gate:
        return None
    if case.awaiting_ack:
        return (f"{case.case_id} ({case.severity.value}) is not acknowledged: ACK is required before any "
                f"rerun (`chatops case ack {case.case_id}`, O2+)")
    if case.rerun_decision is RerunDecision.DENIED:
        return (f"{case.case_id}: rerun DENIED by {case.rerun_decided_by} - {case.rerun_decision_text}; "
                f"a new decision needs `chatops rerun approve {case.case_id} --mitigation …` (O3)")
    if case.rerun_decision is RerunDecision.APPROVED:
        if approvals.is_approved(ctx, RERUN_APPROVAL_KIND, case.case_id,
                                 rerun_approval_what(case, case.rerun_decision_text)):
            return None
        return f"{case.case_id}: the rerun approval no longer matches the case; approve again (O3)"
    return (f"{case.case_id} ({case.severity.value}) needs an O3 `APPROVED for rerun - <mitigation>` "
            f"(`chatops rerun approve {case.case_id} --mitigation …`)")


def scenario_gate(ctx: Context, scenario_id: str) -> GateDecision:
    db = ctx.state.snapshot()
    reasons = [why for case in case_records.open_cases(db) if case.scenario_id == scenario_id
               for why in [case_blocks_rerun(ctx, case)] if why]
    return GateDecision(allowed=not reasons, subject=scenario_id, reasons=tuple(reasons))


def run_gate(ctx: Context, run_id: str, index: RunsIndex) -> GateDecision:
    db = ctx.state.snapshot()
    held = quarantine_store.get(db, run_id)
    if held is not None and held.get("released_at") is None:
        case = f" ({held['case']})" if held.get("case") else ""
        return GateDecision(False, run_id, (
            f"run {run_id} is quarantined{case} in {held['path']}: downstream dispatch is blocked until an O3 "
            f"releases it (`chatops quarantine release {run_id} --finding … --reason …`)",))
    if index.get(run_id) is None:
        return GateDecision(False, run_id, (
            f"no run {run_id} is recorded: record it first (`chatops runs record FILE`), then ask again",))
    return GateDecision(True, run_id)


def dispatch_gate(ctx: Context, subject: str, index: RunsIndex) -> GateDecision:
    """A recorded Run_ID is asked about as a run; anything else as a scenario."""
    if index.get(subject) is not None or quarantine_store.get(ctx.state.snapshot(), subject) is not None:
        return run_gate(ctx, subject, index)
    return scenario_gate(ctx, subject)
