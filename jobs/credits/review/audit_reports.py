"""The runbook's "Audit and Compliance" monthly and quarterly checks (O3), as reports.

Monthly (`monthly_<YYYY-MM>.json`):
* `approval_trail` — every approval decided in the month (approval requests: reruns, baseline
  proposals, …; and every baseline version, manual or calculated) with approver, role, approval id and
  rationale. One lacking any of them is a finding in `findings` ("all approvals documented?").
* `baseline_changes` — every baseline version of the month with old → new value and its rationale; one
  without a rationale is a finding ("verify baseline update rationale for all changes").
* `pii_false_positives` — SEV0 quarantines of the month, how many were released as false positives,
  and the rate (released as false positive ÷ quarantined); no quarantine gives no rate, said so.
* `policy_configuration_changes` — scenario settings and backfill windows (credit ledger) and the kill
  switch (operations ledger) changed in the month. config.toml itself is not recorded by chatops, so a
  change made by editing it is not seen here; the report says so.

Quarterly (`quarterly_<YYYY-Qn>.json`), the data for reviewing thresholds and weights:
* `variance_by_severity` — the distribution (count, min, quartiles, p90, max) of the variance
  multiplier of the quarter's runs per severity;
* `sev1_closed_as_legit_load` — SEV1 cases resolved in the quarter, and how many with Root_Cause
  "Legit Load";
* `misconfig_likelihood_vs_root_cause` — a confusion table of the Misconfig_Likelihood the policy gave
  each resolved case's run against the Root_Cause the case recorded.
"""
from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

from jobs.approvals import ApprovalRequest, Decision
from jobs.credits.records import Case, RootCause
from jobs.credits.review.aggregates import STARTED, entries_with, seen_run
from jobs.credits.review.records import Period
from store.baselines import Baseline

POLICY_KINDS = {"credit": ("scenario.set", "backfill.set"), "operations": ("killswitch.on", "killswitch.off")}
LIKELIHOODS = ("High", "Medium", "Low")


def monthly(period: Period, approvals: tuple[ApprovalRequest, ...], history: list[Baseline],
            quarantines: list[dict[str, Any]], policy_changes: list[dict[str, Any]]) -> dict[str, Any]:
    trail, findings = approval_trail(period, approvals, history)
    changes = baseline_changes(period, history)
    findings += [{"rule": "baseline_change_without_rationale", "subject": f"{c['scenario_id']} v{c['version']}",
                  "detail": f"baseline {c['scenario_id']} version {c['version']} has no rationale"}
                 for c in changes if not c["rationale"]]
    return {"approval_trail": trail, "baseline_changes": changes,
            "pii_false_positives": false_positive_rate(period, quarantines),
            "policy_configuration_changes": {
                "changes": policy_changes,
                "not_covered": "edits of config.toml are not recorded by chatops; compare it with version control"},
            "findings": findings}


def approval_trail(period: Period, approvals: tuple[ApprovalRequest, ...],
                   history: list[Baseline]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    trail: list[dict[str, Any]] = []
    for request in approvals:
        for decision in request.decisions:
            if decision.refused or decision.decision != Decision.APPROVED:
                continue
            if not period.contains(datetime.fromisoformat(decision.at)):
                continue
            rationale = decision.note or str(request.what.get("reason") or request.what.get("mitigation") or "")
            trail.append({"source": "approval", "request": request.id, "kind": request.kind,
                          "subject": request.subject, "at": decision.at, "approver": decision.by,
                          "role": decision.role or None, "approval_id": decision.approval_id or None,
                          "rationale": rationale or None})
    for version in history:
        if not period.contains(version.last_updated):
            continue
        trail.append({"source": "baseline", "request": None, "kind": f"baseline.{version.source.value}",
                      "subject": version.scenario_id, "at": version.last_updated.isoformat(),
                      "approver": version.approver or None, "role": "O3" if version.approver else None,
                      "approval_id": version.approval_id or None, "rationale": version.reason or None})
    trail.sort(key=lambda t: (t["at"], t["subject"]))
    findings = []
    for item in trail:
        missing = [name for name in ("approver", "role", "approval_id", "rationale") if not item[name]]
        if missing:
            findings.append({"rule": "approval_undocumented", "subject": item["request"] or item["subject"],
                             "detail": f"{item['kind']} of {item['subject']} at {item['at']} lacks "
                                       f"{', '.join(missing)}"})
    return trail, findings


def baseline_changes(period: Period, history: list[Baseline]) -> list[dict[str, Any]]:
    rows = []
    for version in sorted(history, key=lambda b: (b.last_updated, b.scenario_id)):
        if not period.contains(version.last_updated):
            continue
        old = version.previous_credits
        rows.append({"scenario_id": version.scenario_id, "version": version.version,
                     "at": version.last_updated.isoformat(), "source": version.source.value,
                     "old_credits": old, "new_credits": version.median_credits,
                     "change_pct": round((version.median_credits - old) / old * 100, 1) if old else None,
                     "approver": version.approver or None, "approval_id": version.approval_id or None,
                     "rationale": version.reason or None})
    return rows


def false_positive_rate(period: Period, quarantines: list[dict[str, Any]]) -> dict[str, Any]:
    held = [q for q in quarantines if q.get("moved_at") and period.contains(datetime.fromisoformat(q["moved_at"]))]
    false_positives = [q for q in held if q.get("released_at") and q.get("finding") == "false-positive"]
    rate = round(len(false_positives) / len(held), 4) if held else None
    return {"sev0_quarantines": len(held), "released_as_false_positive": len(false_positives), "rate": rate,
            "Run_IDs_false_positive": sorted(q["run_id"] for q in false_positives),
            "note": None if held else "no SEV0 quarantine in the period, so no rate"}


def policy_changes(ledgers: dict[str, Path], period: Period) -> list[dict[str, Any]]:
    found = []
    for name, path in ledgers.items():
        for entry in _entries_of_kinds(path, POLICY_KINDS[name]):
            at = datetime.fromisoformat(str(entry.get("ts", "")).replace("Z", "+00:00"))
            if period.contains(at):
                found.append({"ledger": name, "seq": entry.get("seq"), "kind": entry["kind"], "at": entry["ts"],
                              "actor": entry.get("actor"), "role": entry.get("role"), "data": entry.get("data")})
    return sorted(found, key=lambda e: (e["at"], e["ledger"]))


# ---- quarterly -------------------------------------------------------------------------------------


def quarterly(period: Period, ledger: Path, cases: tuple[Case, ...]) -> dict[str, Any]:
    resolved = [c for c in cases if c.resolved_at is not None and period.contains(c.resolved_at)]
    wanted = {c.run_id for c in resolved}
    variances: dict[str, list[float]] = {}
    likelihood_of: dict[str, str] = {}
    for entry in _run_entries(ledger, period):
        run = seen_run(entry, period.zone)
        if run is None:
            continue
        if run.run_id in wanted:
            likelihood_of[run.run_id] = run.likelihood
        if period.contains(run.started_at) and run.variance is not None:
            variances.setdefault(run.severity, []).append(run.variance)
    missing = wanted - likelihood_of.keys()
    if missing:      # a case resolved this quarter about a run of an earlier one
        for entry in _entries_of_kinds(ledger, ("run.recorded",)):
            if entry.get("Run_ID") in missing:
                likelihood_of[entry["Run_ID"]] = str(entry.get("Misconfig_Likelihood") or "")
    sev1 = [c for c in resolved if c.severity.value == "SEV1"]
    legit = [c for c in sev1 if c.root_cause is RootCause.LEGIT_LOAD]
    return {"variance_by_severity": {s: distribution(v) for s, v in sorted(variances.items())},
            "sev1_closed_as_legit_load": {"sev1_resolved": len(sev1), "legit_load": len(legit),
                                          "share": round(len(legit) / len(sev1), 4) if sev1 else None,
                                          "cases": sorted(c.case_id for c in legit)},
            "misconfig_likelihood_vs_root_cause": confusion(resolved, likelihood_of)}


def distribution(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    if len(ordered) == 1:
        q1 = mid = q3 = p90 = ordered[0]
    else:
        q1, mid, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
        p90 = statistics.quantiles(ordered, n=10, method="inclusive")[8]
    return {"count": len(ordered), "min": ordered[0], "p25": round(q1, 4), "median": round(mid, 4),
            "p75": round(q3, 4), "p90": round(p90, 4), "max": ordered[-1]}


def confusion(resolved: list[Case], likelihood_of: dict[str, str]) -> dict[str, Any]:
    causes = [c.value for c in RootCause] + ["not recorded"]
    table = {likelihood: {cause: 0 for cause in causes} for likelihood in (*LIKELIHOODS, "unknown")}
    for case in resolved:
        likelihood = likelihood_of.get(case.run_id) or "unknown"
        likelihood = likelihood if likelihood in LIKELIHOODS else "unknown"
        table[likelihood][case.root_cause.value if case.root_cause else "not recorded"] += 1
    misconfig_high = table["High"][RootCause.MISCONFIG.value]
    high_total = sum(table["High"].values())
    return {"rows": "Misconfig_Likelihood of the case's run", "columns": "Root_Cause recorded on the case",
            "table": table, "cases": len(resolved),
            "high_was_misconfig": round(misconfig_high / high_total, 4) if high_total else None}


# ---- reading the ledgers ---------------------------------------------------------------------------


def _entries_of_kinds(path: Path, kinds: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    needles = [f'"kind":"{k}"'.encode() for k in kinds]
    return (e for e in entries_with(path, needles) if e.get("kind") in kinds)


def _run_entries(path: Path, period: Period) -> Iterator[dict[str, Any]]:
    """Runs started in the period's months, and the months of the day before and after (offsets)."""
    days = [period.first_day - timedelta(days=1), *period.days, period.end_day]
    needles = [STARTED + m.encode() for m in sorted({f"{d:%Y-%m}-" for d in days})]
    return (e for e in entries_with(path, needles) if e.get("kind") == "run.recorded")
