"""The weekly report's sections, under the runbook's names, from a week's runs and the store's cases.

Pure functions over records (the week's aggregates, cases, approvals, baselines, SEV2 decisions) and
the review settings, so hand-computed data sets pin every section down. The runbook's names are the
report's keys, so its `jq '.top_scenarios_by_total'`, `.top_spike_runs`, `.policy_violations` and
`.baseline_candidates` work as written.

Measures (the runbook names them, we define them):
* a scenario's *variance from baseline* is the median credits of its runs in the week ÷ its current
  baseline: the median, as the baselines themselves are medians, so one retry loop does not move it;
* the *coefficient of variation* is the sample standard deviation ÷ mean of those credits
  (`baselines.stats`, as `baseline calculate` measures it);
* a *spike* is a SEV0, SEV1 or SEV2 run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable, Mapping

from jobs.approvals import ApprovalRequest, Decision
from jobs.credits.baselines.stats import coefficient_of_variation, median
from jobs.credits.records import Case
from jobs.credits.review.aggregates import WeekRuns
from jobs.credits.review.records import SEVERE, SeenRun
from jobs.settings import ReviewSettings
from store.baselines import Baseline

SEVERITY_ORDER = ("SEV0", "SEV1", "SEV2", "NORMAL", "UNBASELINED")
VIOLATION_RULES = ("sev0_sev1_without_case", "unacknowledged_alert", "stale_case", "root_cause_not_documented",
                   "approval_role_missing")


@dataclass(frozen=True)
class ReviewInputs:
    """Everything besides the runs that the sections read, as of `now`."""

    now: datetime
    rules: ReviewSettings
    cases: tuple[Case, ...]
    approvals: tuple[ApprovalRequest, ...]
    baseline_of: Callable[[str], Baseline | None]
    decisions: Mapping[str, Mapping[str, Any]]          # Run_ID → the SEV2 review decision recorded
    pending_proposals: Mapping[str, str]                # scenario → pending baseline proposal id


def sections(week: WeekRuns, given: ReviewInputs) -> dict[str, Any]:
    """Every section of the weekly report, keyed by the runbook's names."""
    case_of = _case_index(given.cases)
    spikes = sorted(week.spikes, key=_spike_order)
    patterns = find_patterns(week, given.rules)
    pattern_of = _pattern_index(patterns)
    sev2_open = [r for r in spikes if r.severity == "SEV2" and _case(r, case_of) is None]
    violations = policy_violations(week, given, case_of)
    candidates = baseline_candidates(week, given)
    listed = spikes[:given.rules.spike_runs_limit]
    return {
        "summary": {
            "runs": week.runs,
            "credits_total": round(sum(s.total for s in week.scenarios.values()), 2),
            "scenarios": len(week.scenarios),
            "by_severity": _by_severity(week),
            "previous_week_runs": sum(week.previous_runs.values()),
            "spike_runs": len(spikes),
            "spike_runs_listed": len(listed),
            "sev2_without_case": len(sev2_open),
            "policy_violations": len(violations),
            "baseline_candidates": len(candidates),
        },
        "top_scenarios_by_total": top_scenarios(week, given),
        "top_spike_runs": [_spike(r, case_of, given.decisions, pattern_of) for r in listed],
        "policy_violations": violations,
        "baseline_candidates": candidates,
        "patterns": patterns,
        "sev2_review": [_sev2(r, given.decisions, pattern_of) for r in sev2_open],
    }


# ---- Step 2: top scenarios ---------------------------------------------------------------------------


def top_scenarios(week: WeekRuns, given: ReviewInputs) -> list[dict[str, Any]]:
    ranked = sorted(week.scenarios.items(), key=lambda item: (-item[1].total, item[0]))
    rows = []
    for scenario, runs in ranked[:given.rules.top_scenarios]:
        previous = week.previous_runs.get(scenario, 0)
        baseline = _baseline_credits(scenario, runs.last_baseline, given)
        mid = median(runs.credits)
        variance = _ratio(mid, baseline)
        rows.append({
            "scenario_id": scenario,
            "total_credits": round(runs.total, 2),
            "run_count": runs.runs,
            "previous_run_count": previous,
            "run_count_change": runs.runs - previous,
            "run_count_change_pct": round((runs.runs - previous) / previous * 100, 1) if previous else None,
            "run_count_jump": previous > 0 and runs.runs >= 2 * previous,
            "median_credits": round(mid, 2),
            "baseline_credits": baseline,
            "variance_from_baseline": variance,
            "notable": variance is not None and variance > given.rules.notable_variance,
            "spikes": sum(runs.severities[s] for s in ("SEV0", "SEV1", "SEV2")),
        })
    return rows


# ---- Step 4: policy violations -----------------------------------------------------------------------


def policy_violations(week: WeekRuns, given: ReviewInputs, case_of: Mapping[str, Case]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    now, stale_after = given.now, timedelta(days=given.rules.stale_case_days)
    for run in sorted(week.spikes, key=lambda r: r.run_id):
        if run.severity in SEVERE and _case(run, case_of) is None:
            found.append(_violation("sev0_sev1_without_case", run.run_id,
                                    f"{run.severity} run {run.run_id} of {run.scenario_id} has no case"))
    for case in sorted(given.cases, key=lambda c: c.number):
        if case.awaiting_ack and case.ack_due_at is not None and case.ack_due_at < now:
            found.append(_violation("unacknowledged_alert", case.case_id,
                                    f"{case.case_id} ({case.severity.value}) alert not acknowledged; due "
                                    f"{case.ack_due_at.isoformat()}"))
        if case.is_open and now - last_activity(case) > stale_after:
            found.append(_violation("stale_case", case.case_id,
                                    f"{case.case_id} is {case.status.value} with no activity since "
                                    f"{last_activity(case).isoformat()} (over {given.rules.stale_case_days} days)"))
    week_runs = {r.run_id for r in week.spikes if r.severity in SEVERE}
    for case in sorted(given.cases, key=lambda c: c.number):
        resolved_in_week = case.resolved_at is not None and week.period.contains(case.resolved_at)
        of_week = bool(week_runs & ({case.run_id} | set(case.related_run_ids)))
        if case.root_cause is None and (resolved_in_week or of_week):
            found.append(_violation("root_cause_not_documented", case.case_id,
                                    f"{case.case_id} ({case.severity.value}, {case.status.value}) has no Root_Cause"))
    for request in sorted(given.approvals, key=lambda r: r.id):
        allowed_roles = {role.value for need in request.needs for role in need.roles}
        for decision in request.decisions:
            if decision.refused or decision.decision != Decision.APPROVED:
                continue
            at = datetime.fromisoformat(decision.at)
            if week.period.contains(at) and decision.role not in allowed_roles:
                found.append(_violation("approval_role_missing", request.id,
                                        f"{request.id} ({request.kind} {request.subject}) approved by {decision.by} "
                                        f"with role {decision.role or 'none'}; it needs "
                                        f"{' or '.join(sorted(allowed_roles))}"))
    order = {rule: i for i, rule in enumerate(VIOLATION_RULES)}
    return sorted(found, key=lambda v: order[v["rule"]])


def last_activity(case: Case) -> datetime:
    moments = [case.opened_at] + [n.at for n in case.notes]
    moments += [m for m in (case.acked_at, case.resolved_at) if m is not None]
    return max(moments)


# ---- Step 5: baseline candidates ---------------------------------------------------------------------


def baseline_candidates(week: WeekRuns, given: ReviewInputs) -> list[dict[str, Any]]:
    """The runbook's four criteria, each strict as written: variance < 1.2×, ≥ 10 runs, no SEV0/SEV1,
    CV < 0.3. A scenario without a current baseline has no variance and is never a candidate."""
    rules = given.rules
    rows = []
    for scenario in sorted(week.scenarios):
        runs = week.scenarios[scenario]
        current = given.baseline_of(scenario)
        if current is None or runs.runs < rules.candidate_min_runs:
            continue
        if any(runs.severities[s] for s in SEVERE):
            continue
        cv = coefficient_of_variation(runs.credits)
        mid = median(runs.credits)
        exact = mid / current.median_credits if current.median_credits > 0 else None
        if cv is None or cv >= rules.candidate_max_cv or exact is None or exact >= rules.candidate_max_variance:
            continue
        variance = _ratio(mid, current.median_credits)
        rows.append({"scenario_id": scenario, "run_count": runs.runs, "median_credits": round(mid, 2),
                     "baseline_credits": current.median_credits, "variance_from_baseline": variance,
                     "coefficient_of_variation": round(cv, 4), "sev0_sev1": 0,
                     "pending_proposal": given.pending_proposals.get(scenario)})
    return rows


# ---- patterns (SEV2 Response: "Look for patterns") ---------------------------------------------------


def find_patterns(week: WeekRuns, rules: ReviewSettings) -> list[dict[str, Any]]:
    """Same scenario spiking repeatedly → baseline drift; many scenarios spiking on one day → systemic;
    every other spike → transient (isolated)."""
    by_scenario: dict[str, list[SeenRun]] = {}
    by_day: dict[date, set[str]] = {}
    for run in week.spikes:
        by_scenario.setdefault(run.scenario_id, []).append(run)
        by_day.setdefault(run.started_at.date(), set()).add(run.scenario_id)
    found: list[dict[str, Any]] = []
    drifting = {s for s, runs in by_scenario.items() if len(runs) >= rules.drift_min_spikes}
    for scenario in sorted(drifting):
        runs = sorted(by_scenario[scenario], key=lambda r: (r.started_at, r.run_id))
        found.append({"pattern": "baseline_drift", "scenario_id": scenario, "spikes": len(runs),
                      "Run_IDs": [r.run_id for r in runs],
                      "meaning": "same scenario spiking repeatedly: the baseline may have drifted"})
    systemic_days = {d for d, scenarios in by_day.items() if len(scenarios) >= rules.systemic_min_scenarios}
    for day in sorted(systemic_days):
        found.append({"pattern": "systemic", "date": day.isoformat(), "scenario_ids": sorted(by_day[day]),
                      "meaning": "several scenarios spiking together: look for a shared cause"})
    for run in sorted(week.spikes, key=lambda r: (r.started_at, r.run_id)):
        if run.scenario_id not in drifting and run.started_at.date() not in systemic_days:
            found.append({"pattern": "transient", "Run_ID": run.run_id, "scenario_id": run.scenario_id,
                          "date": run.started_at.date().isoformat(),
                          "meaning": "isolated spike: transient load unless the review decides otherwise"})
    return found


# ---- internals -------------------------------------------------------------------------------------


def _case_index(cases: Iterable[Case]) -> dict[str, Case]:
    index: dict[str, Case] = {}
    for case in sorted(cases, key=lambda c: c.number):
        for run_id in (case.run_id, *case.related_run_ids):
            index.setdefault(run_id, case)
    return index


def _case(run: SeenRun, case_of: Mapping[str, Case]) -> Case | None:
    return case_of.get(run.run_id)


def _pattern_index(patterns: list[dict[str, Any]]) -> dict[str, str]:
    index: dict[str, str] = {}
    for found in patterns:
        for run_id in found.get("Run_IDs", [found.get("Run_ID")]):
            if run_id:
                index[run_id] = found["pattern"]
    return index


def _spike_order(run: SeenRun) -> tuple:
    return (-(run.variance if run.variance is not None else 0.0), -run.credits, run.run_id)


def _spike(run: SeenRun, case_of: Mapping[str, Case], decisions: Mapping[str, Mapping[str, Any]],
           pattern_of: Mapping[str, str]) -> dict[str, Any]:
    case = _case(run, case_of)
    return {"Run_ID": run.run_id, "Scenario_ID": run.scenario_id, "Severity": run.severity,
            "Credits_Total": run.credits, "Variance": run.variance, "Started_At": run.started_at.isoformat(),
            "has_case": case is not None, "Case_ID": case.case_id if case else None,
            "case_status": case.status.value if case else None,
            "pattern": pattern_of.get(run.run_id, "systemic"),
            "review_decision": dict(decisions[run.run_id]) if run.run_id in decisions else None}


def _sev2(run: SeenRun, decisions: Mapping[str, Mapping[str, Any]], pattern_of: Mapping[str, str]) -> dict[str, Any]:
    return {"Run_ID": run.run_id, "Scenario_ID": run.scenario_id, "Credits_Total": run.credits,
            "Variance": run.variance, "Started_At": run.started_at.isoformat(),
            "pattern": pattern_of.get(run.run_id, "systemic"),
            "decision": dict(decisions[run.run_id]) if run.run_id in decisions else None}


def _by_severity(week: WeekRuns) -> dict[str, int]:
    counts: dict[str, int] = {}
    for runs in week.scenarios.values():
        for severity, n in runs.severities.items():
            counts[severity] = counts.get(severity, 0) + n
    ordered = {s: counts.pop(s) for s in SEVERITY_ORDER if s in counts}
    return {**ordered, **dict(sorted(counts.items()))}


def _baseline_credits(scenario: str, classified_against: float | None, given: ReviewInputs) -> float | None:
    current = given.baseline_of(scenario)
    return current.median_credits if current is not None else classified_against


def _ratio(value: float, baseline: float | None) -> float | None:
    if baseline is None or baseline <= 0:
        return None
    return round(value / baseline, 4)


def _violation(rule: str, subject: str, detail: str) -> dict[str, str]:
    return {"rule": rule, "subject": subject, "detail": detail}
