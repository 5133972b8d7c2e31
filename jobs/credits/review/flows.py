"""The runbook's "Weekly Review Procedure" and the SEV2 batch review (seed 001), step by step.

* Step 1 — generate the report (`weekly_report`): `runs/CREDIT_REVIEWS/weekly_<Monday>.json` with its
  `.sha256`, the chart beside it, recorded in the credit ledger; the summary goes to `#ops-review`.
* Steps 2–5 — the sections a person reads with the runbook's `jq` lines (`weekly.sections`).
* SEV2 Response "During Weekly Review": each SEV2 without a case is decided — a case is opened
  (`open_case`) or it is noted as isolated (`isolated`); the decision is recorded and appended to the
  week's notes (`runs/CREDIT_REVIEWS/weekly_<Monday>.notes.md`), as is any note (`note`).
* Step 6 — a baseline candidate's update starts as a proposal another O3 approves (`propose`,
  `jobs.credits.baselines.proposals`).

An empty week is a report too: its sections are empty arrays and `no_data` says why that may be (the
runbook's "Weekly report shows no data": no ledger file, or no run in the period) with the runbook's
checks for that week.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from jobs.actors import Actor, Permission, Subject, authorize
from jobs.context import Context
from jobs.credits.audit import CREDIT, ledger, run_subject, scenario_subject, who
from jobs.credits.baselines import proposals
from jobs.credits.cases import service as cases
from jobs.credits.records import Case, CaseNote, CaseStatus, Severity
from jobs.credits.review import aggregates, audit_reports, chart, service, weekly
from jobs.credits.review.records import (Period, PeriodKind, Sev2Decision, WrittenReport, last_complete,
                                         parse_month, parse_quarter, parse_week, week_of)
from jobs.errors import Conflict, Invalid, NotFound
from store import cases as case_store
from store import reviews as review_store
from store.run_lookup import open_runs

KIND = "weekly_review"
#: The subject a refusal names when no period was given (the registry names it "all" the same way).
LAST = "all"


def subject(label: str) -> Subject:
    return Subject(KIND, label, CREDIT)


def choose_week(ctx: Context, label: str | None, now: datetime | None = None) -> Period:
    """`--week` as given, else the last complete week; a week that has not begun is refused."""
    now = now or ctx.now()
    zone = ctx.settings.timezone
    period = parse_week(label, zone) if label else last_complete(PeriodKind.WEEKLY, now, zone)
    if period.start > now:
        raise Invalid(f"--week {period.label} has not begun yet (it starts {period.start:%Y-%m-%d}); "
                      f"the last complete week is {last_complete(PeriodKind.WEEKLY, now, zone).label}")
    return period


# ---- Step 1: generate --------------------------------------------------------------------------------


def weekly_report(ctx: Context, actor: Actor, label: str | None = None, now: datetime | None = None) -> WrittenReport:
    """Write the week's report, its chart and their sidecars; record them in the credit ledger."""
    authorize(ctx, actor, Permission.REVIEW_WEEKLY, "report weekly", subject(label or LAST))
    period = choose_week(ctx, label, now)
    path = service.ledger_path(ctx)
    runs = aggregates.read_week(path, period)
    given = weekly.ReviewInputs(
        now=ctx.now(), rules=ctx.settings.review, cases=service.all_cases(ctx), approvals=service.all_approvals(ctx),
        baseline_of=service.baseline_lookup(ctx), decisions=service.decisions(ctx, period),
        pending_proposals=service.pending_proposals(ctx, sorted(runs.scenarios)))
    body = weekly.sections(runs, given)
    report_file = service.report_path(ctx, period)
    chart_file = service.chart_path(ctx, period)
    report: dict[str, Any] = {
        "report": "weekly",
        "week": period.label,
        "period": period.to_json(),
        "complete": period.end <= ctx.now(),
        "generated_at": ctx.now().isoformat(),
        "generated_by": actor.name,
        "ledger": {"path": str(service.CREDIT_LEDGER), "found": runs.ledger_found},
        **body,
        "no_data": no_data(ctx, runs) if runs.runs == 0 else None,
        "notes_file": service.relative(ctx, service.notes_path(ctx, period)),
        "chart": chart_file.name,
    }
    chart_sha = service.write_with_sidecar(chart_file, chart.render(runs, body["top_scenarios_by_total"]))
    sha = service.write_with_sidecar(report_file, service.report_bytes(report))
    written = WrittenReport(period, service.relative(ctx, report_file), sha, service.relative(ctx, chart_file),
                            chart_sha, report)
    service.record_written(ctx, actor, Permission.REVIEW_WEEKLY, written)
    return written


def no_data(ctx: Context, runs: aggregates.WeekRuns) -> dict[str, Any]:
    """Why a week has no runs, answered in the report (the runbook's "Weekly report shows no data")."""
    period = runs.period
    days = "|".join(d.isoformat() for d in period.days)
    checks = ["ls -la runs/CREDIT_MONITORING/ledger.jsonl",
              f'grep -E "{days}" runs/CREDIT_MONITORING/ledger.jsonl | wc -l',
              f"ls -la runs/CREDIT_MONITORING/{period.first_day:%Y-%m-%d}/"]
    if not runs.ledger_found:
        return {"reason": f"the credit ledger {service.CREDIT_LEDGER} does not exist: no run has ever been recorded "
                          "in this data directory (or data_dir points elsewhere)",
                "runs_in_ledger": 0, "first_run_started": None, "last_run_started": None, "checks": checks}
    extent = aggregates.ledger_extent(service.ledger_path(ctx))
    if extent.runs == 0:
        reason = ("the credit ledger exists but holds no run: check that runs are being logged (the intake, "
                  "`chatops runs record`, recent run artifacts)")
    else:
        reason = (f"no run started in {period.label} ({period.first_day} – {period.days[-1]}, {period.zone}); the "
                  f"ledger holds {extent.runs} run(s) started {extent.first} – {extent.last}")
    return {"reason": reason, "runs_in_ledger": extent.runs, "first_run_started": extent.first,
            "last_run_started": extent.last, "checks": checks}


# ---- notes and the SEV2 batch review -------------------------------------------------------------------


def note(ctx: Context, actor: Actor, label: str, text: str) -> str:
    """Append a note to the week's notes file and record it."""
    authorize(ctx, actor, Permission.REVIEW_WEEKLY, "report weekly note", subject(label))
    period = parse_week(label, ctx.settings.timezone)
    text = " ".join(text.split())
    if not text:
        raise Invalid("the note is empty: say what was decided, e.g. "
                      f"chatops report weekly note --week {period.label} \"baseline of scn-x updated: 1250 → 1425\"")
    line = _note_line(ctx, actor, text)
    ledger_actor, role = who(actor, Permission.REVIEW_WEEKLY)
    ledger(ctx).append("review.noted", ledger_actor, role, {"data": {"week": period.label, "note": text}})
    path = service.append_note(ctx, period, line)
    return service.relative(ctx, path)


def open_case(ctx: Context, actor: Actor, run_id: str, text: str = "") -> tuple[Case, str]:
    """A SEV2 without a case warrants one ("If Pattern Detected: Create case"): open it and note it."""
    return _decide(ctx, actor, run_id, Sev2Decision.CASE_OPENED, text, "report weekly open-case")


def isolated(ctx: Context, actor: Actor, run_id: str, text: str) -> tuple[None, str]:
    """A SEV2 without a case is isolated ("Document in weekly review notes; no further action")."""
    if not " ".join((text or "").split()):
        authorize(ctx, actor, Permission.REVIEW_WEEKLY, "report weekly isolated", run_subject(run_id))
        raise Invalid(f"an isolated SEV2 needs a note saying why: chatops report weekly isolated {run_id} "
                      "--note \"one-off backfill of 3 days\"")
    return _decide(ctx, actor, run_id, Sev2Decision.ISOLATED, text, "report weekly isolated")


def propose(ctx: Context, actor: Actor, scenario_id: str, label: str | None = None) -> proposals.Proposal:
    """Step 6 for a candidate: a baseline proposal for another O3's approval; noted in the week's notes."""
    authorize(ctx, actor, Permission.REVIEW_PROPOSE, "report weekly propose", scenario_subject(scenario_id))
    period = choose_week(ctx, label)
    rules = ctx.settings.review
    named = f" {label}" if label else ""
    reason = (f"weekly review{named}: baseline candidate (variance < {rules.candidate_max_variance:g}x, "
              f">= {rules.candidate_min_runs} runs, no SEV0/SEV1, CV < {rules.candidate_max_cv:g})")
    proposal = proposals.propose(ctx, actor, scenario_id, reason)
    service.append_note(ctx, period, _note_line(
        ctx, actor, f"baseline proposal {proposal.request.id} for {scenario_id}: "
                    f"{proposal.calculation.median_credits:.2f} credits (awaiting another O3's approval)"))
    return proposal


# ---- Audit and Compliance: monthly and quarterly checks (O3) ---------------------------------------------


def choose_period(ctx: Context, kind: PeriodKind, label: str | None) -> Period:
    zone, now = ctx.settings.timezone, ctx.now()
    parse = parse_month if kind is PeriodKind.MONTHLY else parse_quarter
    period = parse(label, zone) if label else last_complete(kind, now, zone)
    if period.start > now:
        option = "--month" if kind is PeriodKind.MONTHLY else "--quarter"
        raise Invalid(f"{option} {period.label} has not begun yet (it starts {period.start:%Y-%m-%d}); the last "
                      f"complete one is {last_complete(kind, now, zone).label}")
    return period


def monthly_report(ctx: Context, actor: Actor, label: str | None = None) -> WrittenReport:
    """The monthly audit: approval trail, baseline changes, PII false-positive rate, policy changes."""
    authorize(ctx, actor, Permission.REVIEW_AUDIT, "report monthly", Subject("audit_report", label or LAST, CREDIT))
    period = choose_period(ctx, PeriodKind.MONTHLY, label)
    service.ledger_path(ctx)   # refuses a damaged credit ledger
    changes = audit_reports.policy_changes({"credit": ctx.data_dir / service.CREDIT_LEDGER,
                                            "operations": ctx.data_dir / service.OPERATIONS_LEDGER}, period)
    body = audit_reports.monthly(period, service.all_approvals(ctx), service.baseline_history(ctx),
                                 service.quarantines(ctx), changes)
    return _write_audit(ctx, actor, period, body)


def quarterly_report(ctx: Context, actor: Actor, label: str | None = None) -> WrittenReport:
    """The quarterly review data: variance per SEV, SEV1s closed as legit load, likelihood vs root cause."""
    authorize(ctx, actor, Permission.REVIEW_AUDIT, "report quarterly", Subject("audit_report", label or LAST, CREDIT))
    period = choose_period(ctx, PeriodKind.QUARTERLY, label)
    body = audit_reports.quarterly(period, service.ledger_path(ctx), service.all_cases(ctx))
    return _write_audit(ctx, actor, period, body)


def _write_audit(ctx: Context, actor: Actor, period: Period, body: dict[str, Any]) -> WrittenReport:
    report = {"report": period.kind.value, "period": period.to_json(), "complete": period.end <= ctx.now(),
              "generated_at": ctx.now().isoformat(), "generated_by": actor.name, **body}
    path = service.report_path(ctx, period)
    sha = service.write_with_sidecar(path, service.report_bytes(report))
    written = WrittenReport(period, service.relative(ctx, path), sha, report=report)
    service.record_written(ctx, actor, Permission.REVIEW_AUDIT, written)
    return written


# ---- internals -------------------------------------------------------------------------------------


def _decide(ctx: Context, actor: Actor, run_id: str, decision: Sev2Decision, text: str, action: str):
    authorize(ctx, actor, Permission.REVIEW_WEEKLY, action, run_subject(run_id))
    text = " ".join((text or "").split())
    entry = open_runs(ctx.data_dir).entry(run_id)
    if entry is None:
        raise NotFound(f"no recorded run {run_id!r}; list the week's SEV2 runs with "
                       "`chatops runs list --severity SEV2 --since 7d`")
    if entry.get("Severity") != Severity.SEV2.value:
        raise Invalid(f"{run_id} is {entry.get('Severity')}, not SEV2: only SEV2 runs without a case are decided in "
                      "the weekly review (SEV0/SEV1 runs have cases)")
    started = datetime.fromisoformat(str(entry["Started_At"]).replace("Z", "+00:00"))
    period = week_of(ctx.local(started).date(), ctx.settings.timezone)
    now = ctx.now()
    ledger_actor, role = who(actor, Permission.REVIEW_WEEKLY)
    with ctx.state.transaction() as db:
        earlier = review_store.get(db, run_id)
        if earlier is not None:
            raise Conflict(f"{run_id} was already decided in the weekly review {earlier['week']}: {earlier['decision']} "
                           f"by {earlier['by']} at {earlier['at']}")
        existing = cases.case_for_run(db, run_id)
        if existing is not None:
            raise Conflict(f"{run_id} already has a case, {existing.case_id} ({existing.status.value}); "
                           f"add to it with `chatops case note {existing.case_id} …`")
        case = _new_case(db, entry, actor, period, text, now) if decision is Sev2Decision.CASE_OPENED else None
        row = {"run_id": run_id, "week": period.label, "decision": decision.value, "by": actor.name,
               "at": now.isoformat(), "note": text, "case": case.case_id if case else None}
        with ledger(ctx).commit() as entries:
            if case is not None:
                entries.append("case.opened", ledger_actor, role, {"Run_ID": run_id, "data": {
                    "case": case.case_id, "scenario": case.scenario_id, "severity": case.severity.value,
                    "ack_due_at": None, "rerun_gate": False, "pattern": "weekly review",
                    "opened_by": actor.name}})
            entries.append("review.sev2_decided", ledger_actor, role, {"Run_ID": run_id, "data": {
                "week": period.label, "decision": decision.value, "note": text or None,
                "case": case.case_id if case else None}})
        if case is not None:
            case_store.insert(db, cases.to_row(case))
        review_store.put(db, row)
    said = f"case {case.case_id} opened" if case else "isolated"
    service.append_note(ctx, period, _note_line(ctx, actor, f"SEV2 {run_id} ({entry.get('Scenario_ID')}): {said}"
                                                            + (f": {text}" if text else "")))
    return case, service.relative(ctx, service.notes_path(ctx, period))


def _new_case(db, entry: dict[str, Any], actor: Actor, period: Period, text: str, now: datetime) -> Case:
    note_text = f"opened from the weekly review {period.label}" + (f": {text}" if text else "")
    return Case(number=case_store.next_number(db), scenario_id=str(entry["Scenario_ID"]), run_id=str(entry["Run_ID"]),
                severity=Severity.SEV2, status=CaseStatus.OPEN, opened_at=now, ack_required=False,
                rerun_gate=False, related_run_ids=(str(entry["Run_ID"]),),
                notes=(CaseNote(now, actor.name, note_text),))


def _note_line(ctx: Context, actor: Actor, text: str) -> str:
    by = "daemon" if actor.is_daemon else actor.name
    return f"- {ctx.local(ctx.now()):%Y-%m-%d %H:%M %Z} {by}: {text}"
