"""The runbook's monthly and quarterly audit reports over data written through the real flows (approvals,
baselines, scenario settings, the kill switch) and the hand-computed week of conftest.py."""
from __future__ import annotations

import json
import subprocess
from datetime import timedelta

import pytest
from freezegun import freeze_time

from jobs import approvals, killswitch
from jobs.actors import Permission
from jobs.approvals import Decision
from jobs.credits.baselines import flows as baselines
from jobs.credits.cases import flows as case_flows
from jobs.credits.review import flows, service
from jobs.errors import Invalid
from store import quarantine as quarantine_store
from tests.review.conftest import day


def test_the_monthly_approval_trail_finds_an_approval_without_a_rationale(ctx):
    ana, ben, dev = (ctx.people.by_name(n) for n in ("ana", "ben", "dev"))
    with freeze_time(day(1, 10)):
        documented = approvals.request(ctx, kind="rerun", subject="CASE-7", what={"case": "CASE-7"}, requester=ben,
                                       permission=Permission.RERUN_DECIDE, ledger="credit")
        approvals.decide(ctx, documented.id, ana, Decision.APPROVED, {"case": "CASE-7"},
                         note="max_items limit added, retry_loop fixed")
    with freeze_time(day(2, 10)):
        bare = approvals.request(ctx, kind="rerun", subject="CASE-8", what={"case": "CASE-8"}, requester=ben,
                                 permission=Permission.RERUN_DECIDE, ledger="credit")
        approvals.decide(ctx, bare.id, dev, Decision.APPROVED, {"case": "CASE-8"})
    with freeze_time(day(3, 10)):
        baselines.set_baseline(ctx, ana, "scn-a", 120.0, "prompt grew by 15%")
    written = flows.monthly_report(ctx, ana, "2026-11")
    report = written.report
    assert written.path == "runs/CREDIT_REVIEWS/monthly_2026-11.json"
    trail = {(t["source"], t["subject"]): t for t in report["approval_trail"]}
    assert sorted(trail) == [("approval", "CASE-7"), ("approval", "CASE-8"), ("baseline", "scn-a")]
    assert trail[("approval", "CASE-7")]["approver"] == "ana" and trail[("approval", "CASE-7")]["role"] == "O3"
    assert trail[("approval", "CASE-7")]["approval_id"].startswith("O3-ana-")
    assert trail[("approval", "CASE-8")]["rationale"] is None
    assert report["findings"] == [{"rule": "approval_undocumented", "subject": bare.id,
                                   "detail": f"rerun of CASE-8 at {trail[('approval', 'CASE-8')]['at']} lacks rationale"}]
    [change] = report["baseline_changes"]
    assert (change["scenario_id"], change["old_credits"], change["new_credits"], change["rationale"]) == (
        "scn-a", None, 120.0, "prompt grew by 15%")


def test_the_monthly_pii_false_positive_rate_is_released_as_false_positive_over_all_sev0_quarantines(ctx):
    ana = ctx.people.by_name("ana")
    moved = [("run-a", day(0), "2026-11-20T10:00:00+00:00", "false-positive"),
             ("run-b", day(1), "2026-11-21T10:00:00+00:00", "mitigated"),
             ("run-c", day(2), None, None),
             ("run-old", day(-30), "2026-11-02T10:00:00+00:00", "false-positive")]     # quarantined in October
    with ctx.state.transaction() as db:
        for run_id, at, released, finding in moved:
            quarantine_store.put(db, {"run_id": run_id, "case": None, "path": f"runs/QUARANTINE/{run_id}/x.json",
                                      "original_path": "x", "sha256": "0" * 64, "moved_at": at.isoformat(),
                                      "released_at": released, **({"finding": finding} if finding else {})})
    report = flows.monthly_report(ctx, ana, "2026-11").report
    assert report["pii_false_positives"] == {"sev0_quarantines": 3, "released_as_false_positive": 1, "rate": 0.3333,
                                             "Run_IDs_false_positive": ["run-a"], "note": None}
    empty = flows.monthly_report(ctx, ana, "2026-09").report["pii_false_positives"]
    assert (empty["rate"], empty["note"]) == (None, "no SEV0 quarantine in the period, so no rate")


def test_the_monthly_report_lists_policy_configuration_changes_from_both_ledgers(ctx):
    ana = ctx.people.by_name("ana")
    case_flows.set_scenario(ctx, ana, "scn-a", "max_items", "1000")
    killswitch.turn_on(ctx, ana, timedelta(hours=1), "API outage")
    changes = flows.monthly_report(ctx, ana, "2026-11").report["policy_configuration_changes"]
    assert [(c["ledger"], c["kind"], c["role"]) for c in changes["changes"]] == [
        ("credit", "scenario.set", "O3"), ("operations", "killswitch.on", "O3")]
    assert "config.toml" in changes["not_covered"]


def test_audit_reports_are_written_with_sidecars_and_recorded(ctx):
    ana = ctx.people.by_name("ana")
    monthly = flows.monthly_report(ctx, ana)           # the last complete month: October
    quarterly = flows.quarterly_report(ctx, ana)       # the last complete quarter: Q3
    assert (monthly.path, quarterly.path) == ("runs/CREDIT_REVIEWS/monthly_2026-10.json",
                                              "runs/CREDIT_REVIEWS/quarterly_2026-Q3.json")
    done = subprocess.run(["sha256sum", "-c", "monthly_2026-10.json.sha256", "quarterly_2026-Q3.json.sha256"],
                          cwd=ctx.data_dir / "runs/CREDIT_REVIEWS", capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    path = ctx.data_dir / service.CREDIT_LEDGER
    written = [e["data"] for e in map(json.loads, path.read_text().splitlines()) if e["kind"] == "review.report.written"]
    assert [(w["report"], w["period"], w["sha256"]) for w in written] == [
        ("monthly", "2026-10", monthly.sha256), ("quarterly", "2026-Q3", quarterly.sha256)]
    with pytest.raises(Invalid, match="--quarter 2027-Q1 has not begun yet"):
        flows.quarterly_report(ctx, ana, "2027-Q1")
    with pytest.raises(Invalid, match="--month '2026-13' is not a month"):
        flows.monthly_report(ctx, ana, "2026-13")


def test_the_quarterly_report_gives_variance_per_severity_legit_load_share_and_the_confusion_table(week_ctx):
    ana = week_ctx.people.by_name("ana")
    report = flows.quarterly_report(week_ctx, ana, "2026-Q4").report
    variance = report["variance_by_severity"]
    assert variance["SEV2"] == {"count": 8, "min": 2.5, "p25": 2.5, "median": 2.5, "p75": 2.5, "p90": 2.65, "max": 3.0}
    assert (variance["SEV0"]["count"], variance["SEV1"]["count"], variance["NORMAL"]["count"]) == (1, 2, 71)
    assert "UNBASELINED" not in variance     # no variance without a baseline; NORMAL: 68 in W47, 2 before, 1 after
    assert report["sev1_closed_as_legit_load"] == {"sev1_resolved": 1, "legit_load": 1, "share": 1.0,
                                                   "cases": ["CASE-3"]}
    table = report["misconfig_likelihood_vs_root_cause"]
    assert table["cases"] == 1 and table["table"]["Low"]["Legit Load"] == 1
    assert sum(sum(row.values()) for row in table["table"].values()) == 1
