"""The 08:30 sweep over a scripted week (freezegun), on real stores: the export's days, the compliance
incidents and calendar, the credit cases, the signed ledgers, the outbox (what would reach Slack).

The week is Mon 2026-12-14 … Sun 2026-12-20, Pacific (PST, UTC-8): 05:00 is 13:00Z, 08:30 is 16:30Z."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from freezegun import freeze_time

from jobs.actors import DAEMON
from jobs.compliance import flows as compliance
from jobs.compliance.calendar import add_item
from jobs.compliance.service import all_incidents
from jobs.credits.cases import flows as cases
from jobs.credits.intake.recorder import Recorder
from jobs.credits.intake.schema import validate_run
from jobs.export import flows as export
from jobs.sweep.flows import run_sweep
from tests.conftest import run_cli
from tests.credits.conftest import raw_run, set_baseline
from tests.export.conftest import Home
from tests.export.helpers import notices, ops_entries
from tests.export.transcripts import session

PROJECT = "-home-dev-shop"


def utc(day: int, hh: int, mm: int = 0) -> datetime:
    """A moment of December 2026 given in Pacific wall time (PST all month)."""
    return datetime(2026, 12, day, hh + 8, mm, tzinfo=timezone.utc) if hh + 8 < 24 else \
        datetime(2026, 12, day + 1, hh + 8 - 24, mm, tzinfo=timezone.utc)


def exported(home: Home, day: int) -> None:
    """The 05:00 export of 2026-12-<day>, in process, as the daemon runs it."""
    with freeze_time(utc(day, 5)):
        ctx = home.context()
        export.run_export(ctx, DAEMON, f"2026-12-{day:02d}")


def sweep(home: Home, day: int, hh: int = 8, mm: int = 30):
    with freeze_time(utc(day, hh, mm)):
        return run_sweep(home.context(), DAEMON)


def findings(data, kind: str = "sweep.finding") -> list[dict]:
    return [{"to": i["to"], **i["notice"]} for i in notices(data) if i["notice"]["kind"] == kind]


def keys(result) -> set[str]:
    return {f.key for f in result.findings}


def test_a_missed_export_day_files_one_sev3_owned_by_code_platform_and_is_posted_and_recorded(home: Home):
    session(home.projects / PROJECT / "s1.jsonl", "Ran the test suite: 12 passed.")
    exported(home, 14)
    monday = sweep(home, 14)
    assert not [k for k in keys(monday) if k.startswith("export.")]       # Monday's PR exists: nothing to say

    tuesday = sweep(home, 15)                                             # no run on Tuesday
    assert "export.missed:2026-12-15" in tuesday.new
    assert not [k for k in keys(tuesday) if k.startswith("export.gap")]   # one missed run: no gap to offer
    [incident] = all_incidents(home.context())
    assert (incident.sev.value, incident.trigger.value, incident.owner) == ("SEV3", "workflow-failure", "lee")
    assert incident.links == ("export-day-2026-12-15",)
    [posted] = [f for f in findings(home.data) if f["subject"] == "SWEEP-export.missed:2026-12-15"]
    assert posted["to"] == "#ops-review"
    assert posted["text"] == ("Morning sweep: No export PR for 2026-12-15 by 06:00: SEV3 incident INC-1 (workflow "
                              "failure); code.platform diagnoses and restores it within the business day.")
    recorded = [e["data"] for e in ops_entries(home.data) if e["kind"] == "sweep.finding"]
    assert [d["key"] for d in recorded] == ["export.missed:2026-12-15"]

    again = sweep(home, 15, 9)                                            # a second sweep the same morning
    assert again.new == () and len(all_incidents(home.context())) == 1    # the same incident, not a second


def test_two_consecutive_missed_days_tell_the_coo_and_offer_each_gap_day(home: Home):
    session(home.projects / PROJECT / "s1.jsonl", "Ran the test suite: 12 passed.")
    exported(home, 14)
    sweep(home, 15)
    wednesday = sweep(home, 16)
    [gap] = [f for f in wednesday.findings if f.key.startswith("export.gap")]
    assert gap.key == "export.gap:2026-12-15" and gap.dm_to == ("ana",)          # ana is the COO
    assert [(a.command, a.target) for a in gap.actions] == [("export run", "2026-12-15"), ("export run", "2026-12-16")]
    [posted] = [f for f in findings(home.data) if f["subject"] == "SWEEP-export.gap:2026-12-15"
                and f["to"] == "#ops-review"]
    assert "`chatops export run --date 2026-12-15 --as NAME`; `chatops export run --date 2026-12-16 --as NAME`" \
        in posted["text"]
    assert {i["to"] for i in notices(home.data) if i["notice"]["subject"] == "SWEEP-export.gap:2026-12-15"} == {
        "#ops-review", "@ana"}
    assert [a["target"] for a in posted["fields"]["actions"]] == ["2026-12-15", "2026-12-16"]

    for day in (15, 16):                                                  # the gap days run by hand
        with freeze_time(utc(16, 10)):
            export.run_export(home.context(), home.context().people.by_name("ben"), f"2026-12-{day}")
    thursday_ok = (exported(home, 17), sweep(home, 17))[1]
    assert not [k for k in keys(thursday_ok) if k.startswith("export.")]
    assert {"export.gap:2026-12-15", "export.missed:2026-12-16"} <= set(thursday_ok.cleared)


def test_a_weekend_without_sessions_is_not_a_missed_run_and_the_weekly_checks_wait_for_monday(home: Home):
    session(home.projects / PROJECT / "s1.jsonl", "Ran the test suite: 12 passed.")
    for day in (18, 19, 20, 21):                 # Fri … Mon: only Friday has anything to export
        exported(home, day)
    saturday, sunday = sweep(home, 19), sweep(home, 20)
    assert not [k for k in keys(saturday) | keys(sunday) if k.startswith("export.")]
    ops = [e["data"] for e in ops_entries(home.data) if e["kind"] == "sweep.ran"]
    assert [d["date"] for d in ops] == ["2026-12-19", "2026-12-20"]
    # the Monday review reads the scrub audit log's week: one MEDIUM line is not yet a pattern, two are
    log = home.data / "operations" / "logs" / "credential-scrub-audit.md"
    log.write_text(log.read_text() + "".join(
        f"2026-12-{d} | Confidence: MEDIUM | Sessions exported: 1 | Flags: 2 | PR: #9{d} | Merged: manual\n"
        for d in (16, 17)))
    sunday_again = sweep(home, 20, 10)
    assert not [k for k in keys(sunday_again) if k.startswith("scrub.")]  # not Monday: no weekly review
    monday = sweep(home, 21)
    [medium] = [f for f in monday.findings if f.key.startswith("scrub.repeated_medium")]
    assert medium.key == "scrub.repeated_medium:2026-W52"
    assert "MEDIUM confidence on 2 days last week (2026-12-16, 2026-12-17)" in medium.text


def _sev1_case(home: Home) -> None:
    with freeze_time(utc(14, 9)):
        ctx = home.context()
        set_baseline(ctx, "scn-a", 100.0)
        Recorder(ctx).record([validate_run(raw_run(run_id="run_a", scenario="scn-a", credits=700.0))])


def test_a_late_ack_is_critical_until_acknowledged_then_cleared(home: Home):
    _sev1_case(home)
    late = sweep(home, 15)
    [unacked] = [f for f in late.findings if f.key == "credit.unacked:CASE-1"]
    assert (unacked.level.value, unacked.channel) == ("critical", "#ops-alerts")
    assert unacked.text.startswith("CASE-1 (SEV1, scn-a) is not acknowledged; its ACK was due 2026-12-14 ")
    with freeze_time(utc(15, 9)):
        ctx = home.context()
        cases.ack(ctx, ctx.people.by_name("ben"), "CASE-1")
    after = sweep(home, 16)
    assert "credit.unacked:CASE-1" in after.cleared and "credit.unacked:CASE-1" not in keys(after)
    assert {"key": "credit.unacked:CASE-1"} in [e["data"] for e in ops_entries(home.data) if e["kind"] == "sweep.cleared"]


def test_a_stale_case_unchanged_for_three_days_is_reported_once_and_then_by_its_age(home: Home):
    _sev1_case(home)
    with freeze_time(utc(14, 9, 5)):
        ctx = home.context()
        cases.ack(ctx, ctx.people.by_name("ben"), "CASE-1")
    assert "credit.stale_case:CASE-1" not in keys(sweep(home, 17))        # 2 d 23 h quiet: under [sweep] 3
    for day in (18, 19, 20):
        result = sweep(home, day)
    stale = [f for f in findings(home.data) if f["subject"] == "SWEEP-credit.stale_case:CASE-1"]
    assert len(stale) == 1 and stale[0]["to"] == "#ops-alerts"            # posted once, on the 18th
    assert stale[0]["text"] == ("Morning sweep: CASE-1 (SEV1, Investigating) has had no activity since 2026-12-14 "
                                "(3 days, over 3): its owner adds a note or resolves it.")
    [finding] = [f for f in result.findings if f.key == "credit.stale_case:CASE-1"]
    assert finding.first_seen == "2026-12-18" and finding.age_text(date(2026, 12, 20)) == "open 2 days (since 2026-12-18)"
    with freeze_time(utc(20, 10)):
        shown = run_cli("sweep", "show", config=home.config)
    assert shown.returncode == 0, shown.stderr
    assert ("- [action] CASE-1 (SEV1, Investigating) has had no activity since 2026-12-14 (5 days, over 3): its "
            "owner adds a note or resolves it. (open 2 days (since 2026-12-18); credit.stale_case:CASE-1)") in shown.stdout
    recorded = [e["data"]["key"] for e in ops_entries(home.data) if e["kind"] == "sweep.finding"]
    assert recorded.count("credit.stale_case:CASE-1") == 1


def test_a_compliance_deadline_due_today_and_one_missed_name_ids_and_times_only(home: Home):
    with freeze_time(utc(15, 10)):
        ctx = home.context()
        incident = compliance.file_incident(ctx, ctx.people.by_name("lee"), "data-exposure", "SEV2",
                                            what="customer list in a shared folder", contained="link revoked",
                                            at_risk="the customers' emails")
    result = sweep(home, 16)
    due = sorted(f.text for f in result.findings if f.key.startswith(f"compliance.due:{incident.id}"))
    assert due == [f"{incident.id} (SEV2) remediation-plan due today 2026-12-16 10:00 PST (owner lee): "
                   f"`chatops incident show {incident.id}`.",
                   f"{incident.id} (SEV2) response missed: was due 2026-12-15 14:00 PST (owner lee): "
                   f"`chatops incident show {incident.id}`."]
    posted = [f for f in findings(home.data) if f["subject"].startswith(f"SWEEP-compliance.due:{incident.id}")]
    assert {p["to"] for p in posted} == {"#security-incidents"} and len(posted) == 2
    assert not [p for p in posted if "customer" in p["text"] or "emails" in p["text"]]   # seed 002 §1


def test_calendar_items_at_30_days_are_found_and_at_31_days_are_not(home: Home):
    with freeze_time(utc(14, 8)):
        ctx = home.context()
        lee = ctx.people.by_name("lee")
        add_item(ctx, lee, "SOC 2 renewal: vendor A", "soc2-renewal", "2027-01-13", "security.ops")   # 30 days
        add_item(ctx, lee, "GDPR annual review", "privacy-review", "2027-01-14", "security.ops")    # 31 days
    result = sweep(home, 14)
    calendar = [f.text for f in result.findings if f.key.startswith("compliance.calendar")]
    assert calendar == ["CAL-1 SOC 2 renewal: vendor A (soc2-renewal) due 2027-01-13 (in 30 days), owner security.ops."]
    assert "CAL-2" in {f.key.split(":")[1] for f in sweep(home, 15).findings if f.key.startswith("compliance.calendar")}


def test_a_tampered_ledger_is_posted_at_once_to_ops_critical(home: Home):
    sweep(home, 14)                                   # verifies and keeps today's checkpoints
    path = home.data / "operations" / "ledger.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"kind":', '"kind" :', 1)
    path.write_text("".join(lines))
    result = sweep(home, 15)
    [failed] = [f for f in result.findings if f.key == "credit.ledger:operations"]
    assert failed.level.value == "critical" and failed.text.startswith("Ledger operations/ledger.jsonl failed "
                                                                       "verification: ")
    [posted] = [f for f in findings(home.data) if f["subject"] == "SWEEP-credit.ledger:operations"]
    assert posted["to"] == "#ops-critical" and posted["suppressible"] is False


def test_mondays_archive_resolved_cases_older_than_30_days_still_readable_out_of_active_lists(home: Home):
    from jobs.credits.records import RootCause

    with freeze_time(utc(1, 9)):
        ctx = home.context()
        set_baseline(ctx, "scn-a", 100.0)
        set_baseline(ctx, "scn-b", 100.0)
        Recorder(ctx).record([validate_run(raw_run(run_id="run_a", scenario="scn-a", credits=700.0)),
                              validate_run(raw_run(run_id="run_b", scenario="scn-b", credits=700.0))])
        ana = ctx.people.by_name("ana")
        for case_id in ("CASE-1", "CASE-2"):
            cases.ack(ctx, ana, case_id)
            cases.root_cause(ctx, ana, case_id, RootCause.MISCONFIG)
        cases.resolve(ctx, ana, "CASE-1", "max_items 1000 added")
    with freeze_time(utc(20, 9)):
        ctx = home.context()
        cases.resolve(ctx, ctx.people.by_name("ana"), "CASE-2", "retry limit set")
    assert not [k for k in keys(sweep(home, 13)) if k.startswith("credit.archived")]   # Sunday: not yet
    monday = sweep(home, 14)                            # CASE-1 resolved 13 days ago only: nothing to archive
    assert not [k for k in keys(monday) if k.startswith("credit.archived")]
    later = sweep(home, 21)                             # Monday 2026-12-21: CASE-1 resolved 20 days ago
    assert not [k for k in keys(later) if k.startswith("credit.archived")]
    with freeze_time(utc(28, 8, 30) + timedelta(days=7)):      # Monday 2027-01-04: 34 days after Dec 1
        result = run_sweep(home.context(), DAEMON)
    [archived] = [f for f in result.findings if f.key.startswith("credit.archived")]
    assert archived.text.startswith("Archived 1 case(s) resolved over 30 days ago: CASE-1 ")
    listed = run_cli("case", "list", "--all", config=home.config)
    assert "CASE-2" in listed.stdout and "CASE-1" not in listed.stdout
    assert "CASE-1" in run_cli("case", "list", "--all", "--archived", config=home.config).stdout
    shown = run_cli("case", "show", "CASE-1", config=home.config)
    assert shown.returncode == 0 and "CASE-1" in shown.stdout
    credit = [json.loads(line) for line in
              (home.data / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl").read_text().splitlines()]
    assert [e["data"]["case"] for e in credit if e["kind"] == "case.archived"] == ["CASE-1"]


def test_a_medium_pr_in_its_merge_window_and_a_failed_pr_held_name_who_must_act(home: Home):
    from tests.export.transcripts import MEDIUM_TEXT, age

    session(home.projects / PROJECT / "s1.jsonl", MEDIUM_TEXT)
    exported(home, 14)
    torn = home.projects / PROJECT / "torn.jsonl"
    torn.write_bytes(b"\x00\x00 torn")
    age(torn, 60)
    exported(home, 15)
    result = sweep(home, 15)
    texts = {f.key: f.text for f in result.findings}
    assert texts["export.review:1"] == (
        "Export PR #1 (2026-12-14, MEDIUM) waits for chief.staff's review; its merge window closed 2026-12-15 05:00 "
        "PST: `chatops export merge 1 --as NAME` or `export hold 1 --reason …`.")
    assert texts["export.held:2"].startswith("Export PR #2 (2026-12-15, FAIL): held: not merged until a "
                                             "re-scrub grades it HIGH or MEDIUM (`chatops export rescrub 2 --as NAME`)")
    assert "SEV3 incident INC-1 (workflow failure): code.platform diagnoses" in texts["export.held:2"]
    [review] = [f for f in result.findings if f.key == "export.review:1"]
    assert review.dm_to == ("ben",)                                        # chief.staff
