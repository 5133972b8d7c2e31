"""A hand-computed week (2026-W47, Mon 16 – Sun 22 November 2026, Los Angeles) written through the real
credit ledger, cases store, approvals and baselines, with time frozen at the Monday 10:00 review after it.

What each scenario is there to prove (the baseline candidates' four criteria each at its edge):

| scenario          | baseline | runs in W47                         | expected                                  |
|-------------------|---------:|-------------------------------------|-------------------------------------------|
| edge-variance-in  |      100 | 10 × 119                            | candidate (1.19 < 1.2, CV 0)              |
| edge-variance-out |      100 | 10 × 120                            | not: variance 1.2 is not < 1.2            |
| edge-runs-out     |      100 | 9 × 100                             | not: 9 runs                               |
| edge-runs-in      |      100 | 10 × 100                            | candidate (exactly 10 runs)               |
| edge-cv-out       |      100 | 145 55 145 55 + 6 × 100             | not: CV = 30/100 = 0.3 exactly            |
| edge-cv-in        |      100 | 144 56 144 56 + 6 × 100             | candidate (CV = sqrt(7744/9)/100 ≈ 0.2933) |
| edge-sev1-out     |      100 | 10 × 100, one of them SEV1          | not: a SEV1                               |
| no-baseline       |     none | 10 × 100 UNBASELINED                | not: no current baseline                  |
| big-spender       |     1000 | 5 × 2500 SEV2 (Mon–Fri), prev. 2    | top 1, notable 2.5×, drift, +3 runs       |
| pii-scn           |      100 | 1 × 1500 SEV0 with CASE-1           | CASE-1 lacks Root_Cause                   |
| loop-scn          |      100 | 1 × 600 SEV1, no case               | violation: SEV1 without a case            |
| sys-a, sys-b      |      100 | 1 × 250 SEV2 each on Wed 18th       | systemic day with big-spender             |
| lone-scn          |      100 | 1 × 300 SEV2 on Fri 20th            | transient                                 |

Cases: CASE-1 (SEV0 pii-scn, acked Tue, open, no Root_Cause); CASE-2 (SEV1 of an older run, opened
1 November, never acknowledged: unacknowledged and stale); CASE-3 (SEV1, resolved on Thursday with a
Root_Cause: no finding). Approvals: a rerun approval decided on Thursday by an O3 whose recorded role is
missing (approval_role_missing) and whose rationale is empty.
"""
from __future__ import annotations

import textwrap
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from chatops.config import parse_settings
from jobs import approvals
from jobs.actors import Permission
from jobs.approvals import Decision
from jobs.compose import build_context
from jobs.context import Context
from jobs.credits.baselines import flows as baselines
from jobs.credits.cases import service as cases
from jobs.credits.records import Case, CaseNote, CaseStatus, RootCause, Severity
from store import approvals as approval_store
from store import cases as case_store
from tests.conftest import PEOPLE_TOML

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)       # Monday 23 November, 10:00 in Los Angeles
WEEK = "2026-W47"
MONDAY = datetime(2026, 11, 16, 9, 0, tzinfo=LA)


def make_context(data_dir: Path, extra_toml: str = "") -> Context:
    raw = tomllib.loads('timezone = "America/Los_Angeles"\n' + PEOPLE_TOML + textwrap.dedent(extra_toml))
    return build_context(parse_settings(raw), data_dir)


def run(ctx: Context, run_id: str, scenario: str, credits: float, at: datetime, severity: str = "NORMAL",
        baseline: float | None = 100.0, case: str | None = None, likelihood: str = "Low", entries=None) -> None:
    """A `run.recorded` entry as the recorder writes it (the fields the review reads), through the ledger
    (or the open commit `entries`)."""
    fields = {"Run_ID": run_id, "Scenario_ID": scenario, "Job_Type": "batch", "Credits_Total": credits,
              "Severity": severity, "Variance": round(credits / baseline, 4) if baseline else None,
              "Baseline_Credits": baseline, "Misconfig_Likelihood": likelihood, "Exposure": severity == "SEV0",
              "is_backfill": False, "Risk_Flags": [], "retry_count": 0, "has_max_items_config": True,
              "Started_At": at.isoformat(), "Ended_At": (at + timedelta(minutes=5)).isoformat()}
    if case:
        fields["Case_ID"] = case
    (entries or ctx.ledgers.credit).append("run.recorded", "daemon", None, fields)


def day(n: int, hour: int = 9) -> datetime:
    """Day n of the week (0 = Monday) at `hour` in Los Angeles."""
    return MONDAY.replace(hour=hour) + timedelta(days=n)


def repeat(ctx: Context, scenario: str, credits: list[float], severity: str = "NORMAL",
           baseline: float | None = 100.0, entries=None) -> None:
    for i, value in enumerate(credits):
        run(ctx, f"{scenario}-{i:02d}", scenario, value, day(i % 7, 8 + i // 7), severity, baseline, entries=entries)


def build_week(ctx: Context) -> None:
    ana = ctx.people.by_name("ana")
    for scenario in ("edge-variance-in", "edge-variance-out", "edge-runs-out", "edge-runs-in", "edge-cv-out",
                     "edge-cv-in", "edge-sev1-out", "pii-scn", "loop-scn", "sys-a", "sys-b", "lone-scn"):
        baselines.set_baseline(ctx, ana, scenario, 100.0, "manual baseline for the test week")
    baselines.set_baseline(ctx, ana, "big-spender", 1000.0, "manual baseline for the test week")
    with ctx.ledgers.credit.commit() as c:     # one commit: one fsync and one signature for the week
        repeat(ctx, "edge-variance-in", [119.0] * 10, entries=c)
        repeat(ctx, "edge-variance-out", [120.0] * 10, entries=c)
        repeat(ctx, "edge-runs-out", [100.0] * 9, entries=c)
        repeat(ctx, "edge-runs-in", [100.0] * 10, entries=c)
        repeat(ctx, "edge-cv-out", [145.0, 55.0, 145.0, 55.0] + [100.0] * 6, entries=c)
        repeat(ctx, "edge-cv-in", [144.0, 56.0, 144.0, 56.0] + [100.0] * 6, entries=c)
        repeat(ctx, "edge-sev1-out", [100.0] * 9, entries=c)
        run(ctx, "edge-sev1-out-09", "edge-sev1-out", 100.0, day(6), "SEV1", case="CASE-3", entries=c)
        repeat(ctx, "no-baseline", [100.0] * 10, "UNBASELINED", baseline=None, entries=c)
        for i in range(5):
            run(ctx, f"big-{i}", "big-spender", 2500.0, day(i, 12), "SEV2", baseline=1000.0, entries=c)
        for i in range(2):      # the week before: 2 runs
            run(ctx, f"big-prev-{i}", "big-spender", 1000.0, day(i - 7), baseline=1000.0, entries=c)
        run(ctx, "run-sev0", "pii-scn", 1500.0, day(1, 11), "SEV0", case="CASE-1", likelihood="High", entries=c)
        run(ctx, "run-sev1-nocase", "loop-scn", 600.0, day(3, 15), "SEV1", likelihood="Medium", entries=c)
        run(ctx, "sys-a-1", "sys-a", 250.0, day(2, 14), "SEV2", entries=c)
        run(ctx, "sys-b-1", "sys-b", 250.0, day(2, 16), "SEV2", entries=c)
        run(ctx, "lone-1", "lone-scn", 300.0, day(4, 10), "SEV2", entries=c)
        run(ctx, "next-week-run", "edge-runs-in", 100.0, day(7), "NORMAL", entries=c)   # Monday 23rd: not W47
    build_cases(ctx)
    build_approvals(ctx)


def build_cases(ctx: Context) -> None:
    utc = timezone.utc
    one = Case(number=1, scenario_id="pii-scn", run_id="run-sev0", severity=Severity.SEV0, status=CaseStatus.INVESTIGATING,
               opened_at=day(1, 11).astimezone(utc), ack_required=True, rerun_gate=True,
               ack_due_at=day(1, 11).astimezone(utc) + timedelta(minutes=15),
               acked_at=day(1, 11).astimezone(utc) + timedelta(minutes=5), acked_by="ben",
               related_run_ids=("run-sev0",), quarantined_run_ids=("run-sev0",))
    two = Case(number=2, scenario_id="loop-scn", run_id="run-old", severity=Severity.SEV1, status=CaseStatus.OPEN,
               opened_at=datetime(2026, 11, 1, 17, 0, tzinfo=utc), ack_required=True, rerun_gate=True,
               ack_due_at=datetime(2026, 11, 1, 18, 0, tzinfo=utc), related_run_ids=("run-old",))
    three = Case(number=3, scenario_id="edge-sev1-out", run_id="edge-sev1-out-09", severity=Severity.SEV1,
                 status=CaseStatus.RESOLVED, opened_at=day(6).astimezone(utc), ack_required=True, rerun_gate=True,
                 ack_due_at=day(6).astimezone(utc) + timedelta(hours=1),
                 acked_at=day(6).astimezone(utc) + timedelta(minutes=10), acked_by="ben",
                 root_cause=RootCause.LEGIT_LOAD, resolved_at=day(6, 15).astimezone(utc),
                 related_run_ids=("edge-sev1-out-09",),
                 notes=(CaseNote(day(6, 15).astimezone(utc), "ana", "batch job, expected", "resolution"),))
    with ctx.state.transaction() as db:
        for case in (one, two, three):
            case_store.insert(db, cases.to_row(case))
            case_store.keep_number(db, case.number)


def build_approvals(ctx: Context) -> None:
    """A rerun approval on Thursday by ana whose stored decision lost its role and has no rationale."""
    ben, ana = ctx.people.by_name("ben"), ctx.people.by_name("ana")
    what = {"case": "CASE-2"}
    with freeze_time(day(3, 10)):
        request = approvals.request(ctx, kind="rerun", subject="CASE-2", what=what, requester=ben,
                                    permission=Permission.RERUN_DECIDE, ledger="credit")
        approvals.decide(ctx, request.id, ana, Decision.APPROVED, what)

    def strip_role(row):
        row = dict(row)
        row["decisions"] = [{**d, "role": ""} for d in row["decisions"]]
        return row, None

    approval_store.update(ctx.state, request.id, strip_role)


@pytest.fixture
def frozen():
    with freeze_time(NOW) as clock:
        yield clock


@pytest.fixture
def ctx(tmp_path: Path, frozen) -> Context:
    return make_context(tmp_path / "var")


@pytest.fixture
def week_ctx(ctx: Context) -> Context:
    build_week(ctx)
    return ctx

