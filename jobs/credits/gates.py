"""The dispatch gates: may downstream work of a run be dispatched? may a scenario be (re)run?

Two questions, one command each, because one id answered as "a run, else a scenario" let a mistyped
Run_ID through as an unknown scenario with no open case, i.e. `allowed`:

* `run_gate` (`chatops gate dispatch RUN_ID`, `GET /gate/dispatch/<Run_ID>`): may downstream work of
  this run be dispatched? Blocked while the run is quarantined (SEV0: until an O3's `quarantine
  release`), while its dispatch is held for an O3 (a risk-flagged run of a scenario with no baseline:
  until its case is resolved), and when no such run is recorded;
* `rerun_gate` (`chatops gate rerun SCENARIO`, `GET /gate/rerun/<Scenario_ID>`): may the scenario be
  (re)run? Blocked while any of its cases holds the rerun gate (SEV0 / SEV1 before ACK, any gated case
  without an O3 `APPROVED for rerun`, or after `DENIED`; an approval counts only while it is still bound,
  by hash, to the case and the mitigation it approved), and when the scenario is unknown (no recorded run,
  no baseline, no case);
* `dispatch_gate` (`GET /gate/<id>`, the older single form): the run gate for a recorded run, the rerun
  gate for a known scenario, and blocked when the id is both (ambiguous) or neither.

An unknown subject is always blocked (`known` is False) and the answer names the closest known ids.
Reading only: the gate changes nothing and writes no ledger entry (orchestrators poll it); the
blocking itself was recorded when it happened (`dispatch.blocked`, `case.opened`).
"""
from __future__ import annotations

import itertools
from typing import Any, Iterable

from tinydb import TinyDB

from jobs.closest import closest
from jobs.context import Context
from jobs.credits.cases import service as case_records
from jobs.credits.records import Case, GateDecision, RerunDecision
from store import cases as case_store
from store import quarantine as quarantine_store
from store.runs_index import FindsRuns

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
        from jobs import approvals   # only a case with an approved rerun: `gate dispatch` is called in loops

        if approvals.is_approved(ctx, RERUN_APPROVAL_KIND, case.case_id,
                                 rerun_approval_what(case, case.rerun_decision_text)):
            return None
        return f"{case.case_id}: the rerun approval no longer matches the case; approve again (O3)"
    return (f"{case.case_id} ({case.severity.value}) needs an O3 `APPROVED for rerun - <mitigation>` "
            f"(`chatops rerun approve {case.case_id} --mitigation …`)")


#: Closest Run_IDs are looked for among this many most recent runs: difflib compares the subject with
#: each candidate, and a typo in an orchestrator's poll must not cost a pass over millions of runs.
CLOSEST_RUNS_AMONG = 100_000


def known_scenarios(ctx: Context, index: FindsRuns) -> set[str]:
    """Scenarios with a recorded run, a baseline or a case.

    Not settings (`scenario set`, `backfill on`): those accept any id, so a mistyped one would become
    "known" and open the rerun gate for a scenario that does not exist.
    """
    from store import baselines as baseline_store   # not for a recorded run's gate (the common question)

    return (set(index.scenarios) | set(baseline_store.known_scenarios(ctx.state))
            | {row["scenario_id"] for row in case_store.all_rows(ctx.state.snapshot())})


def _recent_runs(index: FindsRuns) -> Iterable[str]:
    return index.recent_run_ids(CLOSEST_RUNS_AMONG)


def _hint(close: list[str]) -> str:
    return "closest known: " + ", ".join(close) if close else "no known id is close"


def no_such_run(subject: str, ctx: Context, index: FindsRuns) -> str:
    """The sentence for a Run_ID nobody recorded: the closest known Run_IDs, or that it is a scenario."""
    scenario = subject in known_scenarios(ctx, index)
    tail = (f"{subject} is a scenario: ask `chatops gate rerun {subject}` whether it may be (re)run"
            if scenario else _hint(closest(subject, _recent_runs(index))))
    return f"no run {subject} is recorded; {tail}"


def unknown_run(subject: str, ctx: Context, index: FindsRuns) -> GateDecision:
    return GateDecision(False, subject, (
        f"{no_such_run(subject, ctx, index)}. Nothing of it may be dispatched: check the Run_ID, or record the "
        "run first (`chatops runs record FILE`)",), known=False)


def unknown_scenario(subject: str, ctx: Context, index: FindsRuns) -> GateDecision:
    is_run = index.get(subject) is not None
    tail = (f"{subject} is a run: ask `chatops gate dispatch {subject}` whether its downstream work may be "
            "dispatched" if is_run else _hint(closest(subject, known_scenarios(ctx, index))))
    return GateDecision(False, subject, (
        f"no scenario {subject} is known (no recorded run, baseline or case), so it may not be "
        f"(re)run; {tail}. Check the Scenario_ID, or give it a baseline first (`chatops baseline set "
        f"--scenario {subject} --credits N --reason … --as NAME`, O3)",), known=False)


def rerun_gate(ctx: Context, scenario_id: str, index: FindsRuns) -> GateDecision:
    """May `scenario_id` be (re)run? Unknown scenarios are blocked."""
    if scenario_id not in known_scenarios(ctx, index):
        return unknown_scenario(scenario_id, ctx, index)
    return scenario_gate(ctx, scenario_id)


def scenario_gate(ctx: Context, scenario_id: str) -> GateDecision:
    """The rerun gate of a scenario known to exist: blocked while any of its cases holds it."""
    db = ctx.state.snapshot()
    reasons = [why for case in case_records.open_cases(db) if case.scenario_id == scenario_id
               for why in [case_blocks_rerun(ctx, case)] if why]
    return GateDecision(allowed=not reasons, subject=scenario_id, reasons=tuple(reasons))


def run_gate(ctx: Context, run_id: str, index: FindsRuns) -> GateDecision:
    """May downstream work of `run_id` be dispatched? Unknown, quarantined and held runs are blocked."""
    db = ctx.state.snapshot()
    held = quarantine_store.get(db, run_id)
    if held is not None and held.get("released_at") is None:
        case = f" ({held['case']})" if held.get("case") else ""
        return GateDecision(False, run_id, (
            f"run {run_id} is quarantined{case} in {held['path']}: downstream dispatch is blocked until an O3 "
            f"releases it (`chatops quarantine release {run_id} --finding … --reason …`)",))
    if index.get(run_id) is None:
        return unknown_run(run_id, ctx, index)
    entry = index.entry(run_id) if held is None else None
    if entry is not None and entry.get("dispatch_blocked") is True:
        return _held(db, run_id, entry)
    return GateDecision(True, run_id)


def _held(db: TinyDB, run_id: str, entry: dict[str, Any]) -> GateDecision:
    """A run recorded with `dispatch_blocked` and no quarantine record: blocked until its case is resolved.

    Either a risk-flagged run of a scenario with no baseline (held for an O3's decision), or a SEV0 run
    whose quarantine record a crash kept out of the state (start-up reconciliation restores it).
    """
    case = case_records.case_for_run(db, run_id)
    if case is not None and not case.is_open:
        return GateDecision(True, run_id)
    until = (f"an O3 resolves {case.case_id} (`chatops case resolve {case.case_id} --summary …`)" if case
             else "its case is restored and resolved (start the daemon: start-up reconciliation restores it)")
    why = ("its scenario has no baseline and the run carries risk flags" if entry.get("Baseline_Credits") is None
           else f"it was recorded {entry.get('Severity')} with downstream dispatch blocked")
    return GateDecision(False, run_id, (f"run {run_id} is held: {why}; downstream dispatch waits until {until}",))


def dispatch_gate(ctx: Context, subject: str, index: FindsRuns) -> GateDecision:
    """The single-id form (`GET /gate/<id>`): a recorded run, or a known scenario, never a guess.

    An id that is both is blocked as ambiguous (ask the explicit gate); one that is neither is blocked.
    """
    is_run = index.get(subject) is not None or quarantine_store.get(ctx.state.snapshot(), subject) is not None
    is_scenario = subject in known_scenarios(ctx, index)
    if is_run and is_scenario:
        return GateDecision(False, subject, (
            f"{subject} is both a recorded Run_ID and a Scenario_ID: ask `GET /gate/dispatch/{subject}` "
            f"(downstream dispatch of the run) or `GET /gate/rerun/{subject}` (a rerun of the scenario)",))
    if is_run:
        return run_gate(ctx, subject, index)
    if is_scenario:
        return scenario_gate(ctx, subject)
    return GateDecision(False, subject, (
        f"{subject} is neither a recorded run nor a known scenario, so nothing may be dispatched or run; "
        + _hint(closest(subject, itertools.chain(known_scenarios(ctx, index), _recent_runs(index))))
        + ". Check the id, or record the run first (`chatops runs record FILE`)",), known=False)
