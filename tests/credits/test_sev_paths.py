"""Each SEV path end to end: intake → run file + sidecar, ledger entries, case, alert, gate."""
from __future__ import annotations

import hashlib
import subprocess
from datetime import timedelta

import pytest
from freezegun import freeze_time

from jobs.credits import gates
from jobs.credits.cases.service import all_cases
from jobs.credits.intake.reconcile import queue_lost_alerts
from jobs.credits.records import CaseStatus, Severity
from jobs.credits.intake.schema import validate_run
from tests.credits.conftest import START, entries, kinds, raw_run, set_baseline


def record(recorder, **kw):
    return recorder.record([validate_run(raw_run(**kw))])[0]


@freeze_time(START)
def test_sev0_run_is_quarantined_blocks_dispatch_opens_case_and_alerts_ops_critical(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    outcome = record(recorder, run_id="run_7f3a", credits=1200.0, Risk_Flags=["pii_exposure", "retry_loop"])
    assert outcome.recorded and outcome.severity == "SEV0" and outcome.case_id == "CASE-1"

    quarantined = ctx.data_dir / "runs" / "QUARANTINE" / "run_7f3a" / "run_7f3a.json"
    assert quarantined.exists()
    assert not (ctx.data_dir / "runs" / "CREDIT_MONITORING" / "2026-11-22" / "run_7f3a.json").exists()
    check = subprocess.run(["sha256sum", "-c", "run_7f3a.json.sha256"], cwd=quarantined.parent,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert b'"dispatch_blocked": true' in quarantined.read_bytes()

    ledger = entries(ctx)
    run_entry = next(e for e in ledger if e["kind"] == "run.recorded")
    assert run_entry["Severity"] == "SEV0" and run_entry["Credits_Total"] == 1200.0
    assert run_entry["artifact_sha256"] == hashlib.sha256(quarantined.read_bytes()).hexdigest()
    moved = next(e for e in ledger if e["kind"] == "quarantine.moved")
    assert moved["data"]["old_path"] == "runs/CREDIT_MONITORING/2026-11-22/run_7f3a.json"
    assert moved["data"]["new_path"] == "runs/QUARANTINE/run_7f3a/run_7f3a.json"
    assert {"dispatch.blocked", "case.opened", "alert.queued"} <= set(kinds(ctx))
    assert not any(k.startswith("notion.") for k in kinds(ctx))          # nothing asks Notion for anything

    [case] = all_cases(ctx)
    assert case.severity is Severity.SEV0 and case.status is CaseStatus.OPEN and case.awaiting_ack
    assert (case.ack_due_at - case.opened_at).total_seconds() == 15 * 60
    [alert] = ctx.notifier.sent
    assert alert.channel == "#ops-critical" and alert.subject == "CASE-1" and alert.kind == "credits.alert"
    assert alert.fields["variance"] == 12.0 and "case ack" in [a["command"] for a in alert.fields["actions"]]
    assert alert.fields["done"] == ["artifacts quarantined to runs/QUARANTINE/run_7f3a/", "downstream dispatch blocked",
                                    "CASE-1 opened"]
    assert "Notion" not in alert.text.split("Required: ")[0]
    assert any("lock the Notion RUNS_LEDGER page of run_7f3a read-only by hand" in r for r in alert.fields["required"])
    assert outcome.artifact == "runs/QUARANTINE/run_7f3a/run_7f3a.json" and outcome.quarantined
    assert outcome.dispatch_blocked and "quarantined to runs/QUARANTINE/run_7f3a/" in outcome.message

    assert not gates.dispatch_gate(ctx, "run_7f3a", recorder.index).allowed
    scenario = gates.dispatch_gate(ctx, "scn-invoice", recorder.index)
    assert not scenario.allowed and "ACK is required" in scenario.describe()


@freeze_time(START)
def test_sev1_run_opens_case_alerts_ops_alerts_and_requires_ack_before_rerun(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    outcome = record(recorder, run_id="run_s1", credits=560.0, Risk_Flags=["retry_loop"])
    assert outcome.severity == "SEV1" and outcome.case_id == "CASE-1"
    run_file = ctx.data_dir / "runs" / "CREDIT_MONITORING" / "2026-11-22" / "run_s1.json"
    sidecar = run_file.with_name("run_s1.json.sha256")
    assert sidecar.read_text() == f"{hashlib.sha256(run_file.read_bytes()).hexdigest()}  run_s1.json\n"
    assert "quarantine.moved" not in kinds(ctx) and "dispatch.blocked" not in kinds(ctx)
    [case] = all_cases(ctx)
    assert (case.ack_due_at - case.opened_at).total_seconds() == 3600 and case.rerun_gate
    [alert] = ctx.notifier.sent
    assert alert.channel == "#ops-alerts" and alert.fields["misconfig_likelihood"] == "High"
    assert alert.fields["risk_flags"] == ["retry_loop"] and alert.fields["baseline"] == 100.0
    assert any("ACK" in r for r in alert.fields["required"])
    assert gates.dispatch_gate(ctx, "run_s1", recorder.index).allowed       # its output is not quarantined
    assert not gates.dispatch_gate(ctx, "scn-invoice", recorder.index).allowed


@freeze_time(START)
def test_sev2_run_is_flagged_for_weekly_review_without_case_or_alert(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    outcome = record(recorder, credits=250.0, Risk_Flags=["batch_job"])
    assert outcome.severity == "SEV2" and not outcome.case_id
    run_entry = next(e for e in entries(ctx) if e["kind"] == "run.recorded")
    assert run_entry["weekly_review"] is True and run_entry["Variance"] == 2.5
    assert all_cases(ctx) == [] and ctx.notifier.sent == []
    assert gates.dispatch_gate(ctx, "scn-invoice", recorder.index).allowed


def test_persistent_sev2_opens_a_case_at_the_configured_count(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    for day, run_id in enumerate(["run_a", "run_b", "run_c", "run_d"]):
        with freeze_time(START + timedelta(days=2 * day)):
            record(recorder, run_id=run_id, credits=300.0, Risk_Flags=["retry_loop"],
                   Started_At=(START + timedelta(days=2 * day)).isoformat())
    [case] = all_cases(ctx)
    assert case.severity is Severity.SEV2 and case.run_id == "run_c" and not case.ack_required
    assert case.related_run_ids == ("run_c", "run_d")          # the next SEV2 joins the open case
    assert case.rerun_gate                                        # misconfig likelihood High
    [alert] = ctx.notifier.sent
    assert "Pattern: 3 SEV2 runs of scn-invoice within 7 days" in alert.text


def test_sev2_spread_beyond_the_window_opens_no_case(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    for n in range(3):
        moment = START + timedelta(days=5 * n)
        with freeze_time(moment):
            record(recorder, run_id=f"run_{n}", credits=300.0, Started_At=moment.isoformat())
    assert all_cases(ctx) == []


@freeze_time(START)
def test_normal_run_is_recorded_with_its_file_and_ledger_entry_only(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    outcome = record(recorder, credits=120.0)
    assert outcome.severity == "NORMAL" and outcome.artifact == "runs/CREDIT_MONITORING/2026-11-22/run_1.json"
    assert kinds(ctx).count("run.recorded") == 1 and ctx.notifier.sent == []


@freeze_time(START)
def test_unbaselined_scenario_gets_one_notice_saying_how_to_set_a_baseline(ctx, recorder):
    from jobs.credits.intake.recorder import Recorder

    outcomes = recorder.record([validate_run(raw_run(run_id=f"run_{n}", scenario="scn-new", credits=9e6,
                                                     Risk_Flags=["batch_job"])) for n in range(3)])
    record(Recorder(ctx), run_id="run_later", scenario="scn-new", credits=5.0)
    assert {o.severity for o in outcomes} == {"UNBASELINED"} and all_cases(ctx) == []
    [notice] = ctx.notifier.sent
    assert notice.kind == "credits.unbaselined" and notice.subject == "BASELINE-scn-new"
    assert "chatops baseline set --scenario scn-new --credits N --reason … --as NAME" in notice.text
    assert not (ctx.data_dir / "runs" / "QUARANTINE").exists()


@freeze_time(START)
def test_a_duplicate_run_id_is_recognised_and_not_recorded_twice(ctx, recorder):
    from jobs.credits.intake.recorder import Recorder

    set_baseline(ctx, "scn-invoice", 100.0)
    first, again_in_batch = recorder.record([validate_run(raw_run()), validate_run(raw_run(credits=999.0))])
    later = record(Recorder(ctx), credits=5.0)                 # another process's recorder, same data dir
    assert first.recorded and not again_in_batch.recorded and not later.recorded
    assert "already recorded" in later.message and "ledger seq" in later.message
    assert kinds(ctx).count("run.recorded") == 1


@freeze_time(START)
def test_ledger_lines_answer_the_runbook_jq_queries(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    recorder.record([validate_run(raw_run(run_id="run_x", credits=1200.0, Risk_Flags=["pii_exposure"])),
                     validate_run(raw_run(run_id="run_y", credits=150.0, Risk_Flags=["retry_loop"]))])
    ledger = ctx.data_dir / "runs" / "CREDIT_MONITORING" / "ledger.jsonl"     # the run log
    sev0 = subprocess.run(["jq", "-c", 'select(.Severity == "SEV0") | .Run_ID', str(ledger)],
                          capture_output=True, text=True, check=True).stdout.split()
    flagged = subprocess.run(["jq", "-c", 'select(.Risk_Flags[]? == "retry_loop") | .Run_ID', str(ledger)],
                             capture_output=True, text=True, check=True).stdout.split()
    assert sev0 == ['"run_x"'] and flagged == ['"run_y"']


@freeze_time(START)
def test_a_failed_ledger_commit_leaves_no_file_case_or_alert_behind(ctx, recorder):
    from store.ledger.ledger import LedgerDamaged

    set_baseline(ctx, "scn-invoice", 100.0)
    ledger = ctx.data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    with ledger.open("ab") as f:          # a torn tail: the ledger refuses to append after damage
        f.write(b'{"kind":"run.rec')
    with pytest.raises(LedgerDamaged):
        record(recorder, run_id="run_bad", credits=1200.0, Risk_Flags=["pii_exposure"])
    assert all_cases(ctx) == [] and ctx.notifier.sent == []
    assert not [p for p in (ctx.data_dir / "runs").rglob("run_bad.json*")]
    assert b"run_bad" not in ledger.read_bytes()


@freeze_time(START)
def test_a_file_left_by_a_crashed_attempt_is_replaced_when_the_run_is_recorded(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    leftover = ctx.data_dir / "runs" / "CREDIT_MONITORING" / "2026-11-22" / "run_1.json"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b'{"half": ')                    # the ledger never named it
    outcome = record(recorder, credits=120.0)
    assert outcome.recorded
    entry = next(e for e in entries(ctx) if e["kind"] == "run.recorded")
    assert entry["artifact_sha256"] == hashlib.sha256(leftover.read_bytes()).hexdigest()
    assert leftover.read_bytes().startswith(b"{\n")


class RefusingNotifier:
    """An outbox that cannot take the alert (a full disk, say) after the ledger commit."""

    def send(self, notice):
        raise OSError(28, "No space left on device")


@freeze_time(START)
def test_an_alert_the_outbox_refused_still_leaves_its_case_in_the_state_and_is_queued_at_start(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    sent = ctx.notifier
    ctx.notifier = RefusingNotifier()
    with pytest.raises(OSError, match="No space left"):
        record(recorder, run_id="run_full", credits=640.0)
    [case] = all_cases(ctx)                                 # the ledger has the case, so the state has it too
    assert (case.case_id, case.run_id, case.severity) == ("CASE-1", "run_full", Severity.SEV1)
    assert kinds(ctx).count("alert.queued") == 1
    ctx.notifier = sent
    found = queue_lost_alerts(ctx)                          # what the daemon's next start does
    assert found.alerts == ("credits.alert/CASE-1/run_full",) and found.restored == ()
    [alert] = ctx.notifier.sent
    assert alert.subject == "CASE-1" and alert.channel == "#ops-alerts"
