"""The 08:30 enforcement sweep: one function per check group, each reading the area that owns the thing.

* export (seed 000 §5): no PR for today by `[schedule] pr_deadline` → a SEV3 workflow-failure incident
  owned by code.platform; more than one consecutive missed run → the COO told and a manual export offered
  for each gap day; MEDIUM PRs waiting in their merge window; LOW/FAIL PRs held and who must act.
* credit (runbook "Daily Checks (O2)"): SEV0/SEV1 alerts past their ACK deadline; the ledgers verified
  since yesterday's checkpoint and the last 7 days' artifacts against their hashes; open cases without
  activity for `[sweep] stale_case_days`; quarantined runs awaiting release; the Notion mirror's lag.
* compliance (seed 002 §4, §6, §7): clocks due today or missed; post-mortems due; calendar items due
  within 30 days.
* Mondays (seed 000 §6): the scrub audit log's week (repeated MEDIUM) and open scrub ruleset gaps.

A check that cannot run is itself a finding (the sweep never reports "nothing found" for a check it did
not make). New findings are posted where they belong and recorded in the operations ledger; a finding
still open the next day is not posted again, the sweep's report shows how long it has been open.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Callable

from jobs.actors import Actor, Permission, Role, Subject, authorize
from jobs.context import Context
from jobs.sweep import messages, service
from jobs.sweep.records import Action, Check, Finding, Level, Sweep

log = logging.getLogger("chatops.sweep")

SUBJECT = Subject("sweep", "daily")
#: How far back a run of missed export days is looked for (the gap days offered).
GAP_LOOKBACK_DAYS = 14
ARTIFACT_DAYS = 7
#: Runbook "Weekly Checks": "Archive resolved cases older than 30 days".
ARCHIVE_AFTER = timedelta(days=30)
REPEATED_MEDIUM = 2


def run_sweep(ctx: Context, actor: Actor, now: datetime | None = None) -> Sweep:
    """Run every check for the local day of `now`, remember what was found, post what is new."""
    authorize(ctx, actor, Permission.SWEEP_RUN, "sweep run", SUBJECT)
    now = now or ctx.now()
    today = ctx.local(now).date()
    found: list[Finding] = []
    groups: list[tuple[str, Callable[[Context, date, datetime], list[Finding]]]] = [
        ("ledgers", ledger_checks), ("export", export_checks), ("credit", credit_checks),
        ("compliance", compliance_checks)]
    if today.weekday() == 0:
        groups += [("weekly", monday_checks),
                   ("archive", lambda c, _today, moment: archive_resolved(c, actor, moment))]
    for name, check in groups:
        try:
            found += check(ctx, today, now)
        except Exception as exc:   # one broken check must not hide the others; it is a finding itself
            log.exception("the sweep's %s checks failed", name)
            found.append(Finding(f"{Check.SWEEP_FAILED}:{name}", Check.SWEEP_FAILED, Level.CRITICAL,
                                 f"The sweep's {name} checks could not run ({type(exc).__name__}: {exc}); nothing is known about them today: run `chatops sweep run --as NAME` "
                                 "again once fixed (the daemon log has the details).",
                                 ctx.settings.slack.channels.ops_critical))
    sweep = service.remember(ctx, today.isoformat(), found, now.isoformat())
    for finding in sorted(sweep.findings, key=lambda f: f.level != Level.CRITICAL):
        if finding.key in sweep.new:      # posted before it is recorded: a damaged ledger must not silence it
            ctx.notifier.send(messages.finding_notice(finding))
            _record(ctx, actor, "sweep.finding", {"key": finding.key, "check": finding.check.value,
                                                  "level": finding.level.value, "channel": finding.channel,
                                                  "text": finding.text})
    for key in sweep.cleared:
        _record(ctx, actor, "sweep.cleared", {"key": key})
    _record(ctx, actor, "sweep.ran", {"date": sweep.date, "findings": len(sweep.findings), "new": len(sweep.new),
                                      "cleared": len(sweep.cleared)})
    ctx.notifier.send(messages.report_notice(ctx, sweep))
    return sweep


def _record(ctx: Context, actor: Actor, kind: str, data: dict[str, object]) -> None:
    """The operations ledger entry of a finding; a ledger that refuses (damaged: the sweep's own finding,
    already alerted by the ledger layer) is logged, the findings stay in the state store and the report."""
    from jobs.errors import ChatopsError

    try:
        ctx.ledgers.operations.append(kind, actor.ledger_id, None, {"data": data})
    except ChatopsError as exc:
        log.error("could not record %s %s in the operations ledger: %s", kind, data.get("key", ""), exc)


# ---- export (seed 000 §3, §5) -----------------------------------------------------------------------


def _exported(ctx: Context, day: str) -> bool:
    """A day counts as run when its export finished (with a PR, or with nothing to export)."""
    from jobs.export import service as export_service
    from jobs.export.records import Step

    record = export_service.load_day(ctx, day)
    return record is not None and record.step is Step.FINISHED


def _export_started(ctx: Context) -> date | None:
    """The first day the export could have run: its first recorded day, or the day it was first scheduled."""
    from jobs.export import service as export_service
    from store import job_runs

    candidates = [date.fromisoformat(d.date) for d in export_service.all_days(ctx)]
    started = job_runs.get_setting(ctx.state, "schedule.started_at.export")
    if started:
        candidates.append(ctx.local(datetime.fromisoformat(started)).date())
    return min(candidates) if candidates else None


def export_checks(ctx: Context, today: date, now: datetime) -> list[Finding]:
    from jobs.export import service as export_service
    from jobs.export.incidents import open_incident
    from jobs.export.messages import required
    from jobs.export.records import Disposition

    channel = ctx.settings.export.review_channel
    found: list[Finding] = []
    deadline = datetime.combine(today, ctx.settings.schedule.pr_deadline, tzinfo=ctx.settings.timezone)
    if now >= deadline and not _exported(ctx, today.isoformat()):
        incident = open_incident(ctx, False, f"export-day-{today.isoformat()}",
                                 f"no export PR for {today.isoformat()} by {ctx.settings.schedule.pr_deadline:%H:%M} "
                                 "(seed 000 §5 pipeline failure)")
        found.append(Finding(
            f"{Check.EXPORT_MISSED}:{today.isoformat()}", Check.EXPORT_MISSED, Level.ACTION,
            f"No export PR for {today.isoformat()} by {ctx.settings.schedule.pr_deadline:%H:%M}: SEV3 incident "
            f"{incident} (workflow failure); code.platform diagnoses and restores it within the business day.",
            channel))
        gaps = _gap_days(ctx, today)
        if len(gaps) > 1:
            coo = tuple(a.name for a in ctx.people.with_role(Role.COO))
            days = ", ".join(gaps)
            found.append(Finding(
                f"{Check.EXPORT_GAP}:{gaps[0]}", Check.EXPORT_GAP, Level.ACTION,
                f"The export missed {len(gaps)} consecutive runs ({days}): COO notified; run the gap days by "
                "hand: " + "; ".join(f"`chatops export run --date {d} --as NAME`" for d in gaps) + ".",
                channel, dm_to=coo, actions=tuple(Action(f"Run export {d}", "export run", d) for d in gaps)))
    for day in export_service.all_days(ctx):
        grade = day.grading.grade
        if day.disposition is Disposition.REVIEW and grade == "MEDIUM":
            closes = datetime.combine(date.fromisoformat(day.date) + timedelta(days=1), ctx.settings.schedule.export,
                                      tzinfo=ctx.settings.timezone)
            when = (f"its merge window closed {closes:%Y-%m-%d %H:%M %Z}" if closes <= now else
                    f"its merge window closes {closes:%Y-%m-%d %H:%M %Z}")
            chief = tuple(a.name for a in ctx.people.with_role(Role.CHIEF_STAFF))
            found.append(Finding(
                f"{Check.EXPORT_REVIEW}:{day.pr}", Check.EXPORT_REVIEW, Level.ACTION,
                f"Export PR #{day.pr} ({day.date}, MEDIUM) waits for chief.staff's review; {when}: "
                f"`chatops export merge {day.pr} --as NAME` or `export hold {day.pr} --reason …`.", channel,
                dm_to=chief))
        elif day.disposition is Disposition.HELD and grade in ("LOW", "FAIL"):
            found.append(Finding(
                f"{Check.EXPORT_HELD}:{day.pr}", Check.EXPORT_HELD, Level.ACTION,
                f"Export PR #{day.pr} ({day.date}, {grade}): " + "; ".join(required(day)) + ".", channel))
    return found


def _gap_days(ctx: Context, today: date) -> list[str]:
    """Today and the days before it without a finished export, back to the last one that ran (oldest first)."""
    start = _export_started(ctx) or today
    gaps = []
    day = today
    while day >= start and len(gaps) < GAP_LOOKBACK_DAYS and not _exported(ctx, day.isoformat()):
        gaps.append(day.isoformat())
        day -= timedelta(days=1)
    return sorted(gaps)


# ---- credit monitoring (runbook "Daily Checks (O2)", "Weekly Checks") ---------------------------------


def ledger_checks(ctx: Context, today: date, now: datetime) -> list[Finding]:
    """Each ledger verified from the checkpoint the last good sweep kept, artifacts of 7 days checked; a
    failure is critical (#ops-critical), and the checkpoint kept moves on only when the ledger verifies."""
    from jobs.audit import SPECS, verify_ledgers
    from store.ledger.verify import SinceCheckpoint

    found = []
    critical = ctx.settings.slack.channels.ops_critical
    for spec in SPECS:
        kept = service.checkpoint(ctx, spec.name)
        since = SinceCheckpoint("the last sweep's checkpoint", kept) if kept else None
        reports = verify_ledgers(ctx.settings, ctx.data_dir, spec.name, since=since,
                                 artifacts_days=ARTIFACT_DAYS, now=now)
        for report in reports:
            failures = [f.message for f in report.findings if f.severity.value == "failure"]
            if failures:
                found.append(Finding(
                    f"{Check.LEDGER}:{spec.name}", Check.LEDGER, Level.CRITICAL,
                    f"Ledger {report.ledger} failed verification: {failures[0]}"
                    + (f" (+{len(failures) - 1} more)" if len(failures) > 1 else "")
                    + "; check with `chatops ledger verify`, an O3 decides the repair.", critical))
                continue
            path = ctx.ledgers.files(spec).checkpoint
            if path.exists():
                service.keep_checkpoint(ctx, spec.name, path.read_text(encoding="utf-8"))
    return found


def _last_activity(case) -> datetime:
    moments = [case.opened_at] + [n.at for n in case.notes] + [m for m in (case.acked_at,) if m]
    return max(moments)


def credit_checks(ctx: Context, today: date, now: datetime) -> list[Finding]:
    from jobs.credits.cases.service import open_cases
    from jobs.credits.records import Severity
    from jobs.notion.flows import lag_report

    channels = ctx.settings.slack.channels
    found = []
    stale_after = timedelta(days=ctx.settings.sweep.stale_case_days)
    for case in sorted(open_cases(ctx.state.snapshot()), key=lambda c: c.number):
        if case.awaiting_ack and case.severity in (Severity.SEV0, Severity.SEV1) and case.ack_due_at \
                and case.ack_due_at <= now:
            channel = channels.ops_critical if case.severity is Severity.SEV0 else channels.ops_alerts
            found.append(Finding(
                f"{Check.UNACKED}:{case.case_id}", Check.UNACKED, Level.CRITICAL,
                f"{case.case_id} ({case.severity.value}, {case.scenario_id}) is not acknowledged; its ACK was due "
                f"{ctx.local(case.ack_due_at):%Y-%m-%d %H:%M %Z}: an O2 replies `ACK` in its thread or runs "
                f"`chatops case ack {case.case_id} --as NAME`.", channel))
        last = _last_activity(case)
        if now - last >= stale_after:
            found.append(Finding(
                f"{Check.STALE_CASE}:{case.case_id}", Check.STALE_CASE, Level.ACTION,
                f"{case.case_id} ({case.severity.value}, {case.status.value}) has had no activity since "
                f"{ctx.local(last):%Y-%m-%d} ({(now - last).days} days, over {stale_after.days}): its owner "
                "adds a note or resolves it.", channels.ops_alerts))
        for run_id in case.quarantined_run_ids:
            found.append(Finding(
                f"{Check.QUARANTINE}:{run_id}", Check.QUARANTINE, Level.ACTION,
                f"Run `{run_id}` ({case.case_id}) is quarantined, awaiting release by an O3 "
                f"(`chatops quarantine release {run_id} …`).", channels.ops_alerts))
    lag = lag_report(ctx)
    if lag:
        found.append(Finding(str(Check.NOTION_LAG), Check.NOTION_LAG, Level.INFO, lag, channels.ops_review))
    return found


# ---- compliance (seed 002 §4, §6, §7) -----------------------------------------------------------------


def compliance_checks(ctx: Context, today: date, now: datetime) -> list[Finding]:
    """Ids, steps and dates only: seed 002 §1 keeps every incident's content on this machine."""
    from jobs.compliance import calendar, service as incidents
    from jobs.compliance.clocks import clocks
    from jobs.compliance.postmortem import postmortems_due

    channel = ctx.settings.slack.channels.security_incidents
    found = []
    for incident in incidents.all_incidents(ctx):
        if not incident.open:
            continue
        for clock in clocks(incident, ctx.settings):
            if clock.done_at is not None or ctx.local(clock.due).date() > today:
                continue
            state = "missed: was due" if clock.due <= now else "due today"
            found.append(Finding(
                f"{Check.COMPLIANCE_DUE}:{incident.id}:{clock.name}", Check.COMPLIANCE_DUE, Level.ACTION,
                f"{incident.id} ({incident.sev.value}) {clock.name} {state} {ctx.local(clock.due):%Y-%m-%d %H:%M %Z} "
                f"(owner {incident.owner}): `chatops incident show {incident.id}`.", channel))
    for review in postmortems_due(ctx, today):
        state = "overdue since" if review.due < today else "due"
        found.append(Finding(
            f"{Check.POSTMORTEM}:{review.incident_id}", Check.POSTMORTEM, Level.ACTION,
            f"{review.incident_id}'s post-incident review is {state} {review.due.isoformat()}: {review.path}.",
            channel))
    for item in calendar.items_due_within(ctx):
        days = (item.due - today).days
        when = f"overdue since {item.due.isoformat()}" if days < 0 else f"due {item.due.isoformat()} (in {days} days)"
        found.append(Finding(
            f"{Check.CALENDAR}:{item.item_id}", Check.CALENDAR, Level.INFO,
            f"{item.item_id} {item.item} ({item.category.value}) {when}, owner {item.owner}.", channel))
    return found


# ---- Mondays (seed 000 §6) --------------------------------------------------------------------------


def monday_checks(ctx: Context, today: date, now: datetime) -> list[Finding]:
    """The scrub audit log's last 7 days and the open ruleset gaps: findings for the CEO summary."""
    from jobs.export.audit_log import AUDIT_LOG
    from jobs.export.scrub.gaps import list_gaps

    channel = ctx.settings.export.review_channel
    found = []
    week = {(today - timedelta(days=n)).isoformat() for n in range(1, 8)}
    path = ctx.data_dir / AUDIT_LOG
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    medium = sorted({ln.split(" | ")[0] for ln in lines if ln[:10] in week and "| Confidence: MEDIUM |" in ln})
    if len(medium) >= REPEATED_MEDIUM:
        year, number, _ = today.isocalendar()
        found.append(Finding(
            f"{Check.SCRUB_MEDIUM}:{year}-W{number:02d}", Check.SCRUB_MEDIUM, Level.INFO,
            f"Scrub audit log: MEDIUM confidence on {len(medium)} days last week ({', '.join(medium)}); "
            "code.platform reviews the ruleset for the cause.", channel))
    for gap in list_gaps(ctx):
        found.append(Finding(
            f"{Check.SCRUB_GAP}:{gap.gap_id}", Check.SCRUB_GAP, Level.INFO,
            f"Scrub ruleset gap {gap.gap_id} open since {gap.filed_at[:10]} (ruleset {gap.ruleset}): "
            "code.platform patches it.", channel))
    return found


def archive_resolved(ctx: Context, actor: Actor, now: datetime) -> list[Finding]:
    """Resolved cases older than 30 days leave the active lists (`case list --all` without `--archived`);
    `case show` still reads them. Each is recorded in the credit ledger as `case.archived`."""
    from jobs.credits.cases import service as case_records

    archived = []
    with ctx.state.transaction() as db:
        for case in case_records.all_cases(ctx):
            if case.resolved_at is None or case.archived_at is not None or now - case.resolved_at < ARCHIVE_AFTER:
                continue
            done = replace(case, archived_at=now)
            ctx.ledgers.credit.append("case.archived", actor.ledger_id, None, {"Run_ID": case.run_id, "data": {
                "case": case.case_id, "resolved_at": case.resolved_at.isoformat()}})
            case_records.save(db, done)
            archived.append(case.case_id)
    if not archived:
        return []
    year, number, _ = ctx.local(now).isocalendar()
    return [Finding(f"{Check.ARCHIVED}:{year}-W{number:02d}", Check.ARCHIVED, Level.INFO,
                    f"Archived {len(archived)} case(s) resolved over {ARCHIVE_AFTER.days} days ago: "
                    f"{', '.join(archived)} (`chatops case show` still reads them; `case list --all --archived`).",
                    ctx.settings.slack.channels.ops_review)]
