"""Reruns are linked to their original's case and escalate it when they spike; backfill mode per scenario."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from freezegun import freeze_time

from jobs.credits import gates

from jobs.credits.cases import flows
from jobs.errors import Conflict, Invalid
from jobs.credits.cases.service import all_cases
from jobs.credits.records import CaseStatus, RerunDecision, RootCause, Severity
from jobs.credits.intake.schema import validate_run
from tests.credits.conftest import START, entries, kinds, raw_run, set_baseline


@pytest.fixture
def approved_case(ctx, recorder):
    """A SEV1 case, ACKed, root cause set, rerun APPROVED."""
    with freeze_time(START):
        set_baseline(ctx, "scn-invoice", 100.0)
        recorder.record([validate_run(raw_run(run_id="run_orig", credits=700.0, Risk_Flags=["retry_loop"]))])
        ana = ctx.people.by_name("ana")
        flows.ack(ctx, ana, "CASE-1")
        flows.root_cause(ctx, ana, "CASE-1", RootCause.MISCONFIG)
        flows.decide_rerun(ctx, ana, "CASE-1", RerunDecision.APPROVED, "retry cap 3")
    ctx.notifier.sent.clear()
    return "CASE-1"


@freeze_time(START + timedelta(hours=1))
def test_a_rerun_within_range_is_linked_to_the_original_case(ctx, recorder, approved_case):
    [outcome] = recorder.record([validate_run(raw_run(run_id="run_rerun", credits=110.0, rerun_of="run_orig"))])
    assert outcome.case_id == "CASE-1"
    [case] = all_cases(ctx)
    assert case.related_run_ids == ("run_orig", "run_rerun") and case.escalations == 0
    assert "case.noted" in kinds(ctx) and ctx.notifier.sent == []
    assert gates.dispatch_gate(ctx, "scn-invoice", recorder.index).allowed


@freeze_time(START + timedelta(hours=1))
def test_a_rerun_that_spikes_again_escalates_the_case_and_closes_the_gate(ctx, recorder, approved_case):
    [outcome] = recorder.record([validate_run(raw_run(run_id="run_rerun", credits=650.0, rerun_of="run_orig"))])
    assert outcome.severity == "SEV1" and outcome.case_id == "CASE-1"
    [case] = all_cases(ctx)                                  # no second case for the rerun
    assert case.escalations == 1 and case.status is CaseStatus.INVESTIGATING
    assert case.rerun_decision is None and case.awaiting_ack                # new ACK, new approval
    assert "spiked again (6.5× baseline)" in case.notes[-1].text
    escalated = [n for n in ctx.notifier.sent if n.kind == "credits.escalated"]
    assert escalated and escalated[0].dm_to == ("ana", "dev") and "CASE-1 escalated" in escalated[0].text
    assert [e["data"]["escalations"] for e in entries(ctx) if e["kind"] == "case.escalated"] == [1]
    assert not gates.dispatch_gate(ctx, "scn-invoice", recorder.index).allowed


@freeze_time(START + timedelta(hours=1))
def test_a_rerun_of_a_resolved_case_that_spikes_reopens_it(ctx, recorder, approved_case):
    flows.resolve(ctx, ctx.people.by_name("ana"), approved_case, "retry cap deployed")
    recorder.record([validate_run(raw_run(run_id="run_rerun", credits=1500.0, rerun_of="run_orig",
                                          Risk_Flags=["pii_exposure"]))])
    [case] = all_cases(ctx)
    assert case.status is CaseStatus.INVESTIGATING and case.resolved_at is None
    assert case.severity is Severity.SEV0 and case.quarantined_run_ids == ("run_rerun",)
    assert (ctx.data_dir / "runs" / "QUARANTINE" / "run_rerun" / "run_rerun.json").exists()


@freeze_time(START)
def test_a_rerun_without_approval_escalates_the_case(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    recorder.record([validate_run(raw_run(run_id="run_orig", credits=700.0))])
    recorder.record([validate_run(raw_run(run_id="run_again", credits=100.0, rerun_of="run_orig"))])
    [case] = all_cases(ctx)
    assert case.escalations == 1 and "ran without an O3 `APPROVED for rerun`" in case.notes[-1].text


@freeze_time(START)
def test_backfill_mode_per_scenario_relaxes_sev1_between_start_and_end(ctx, recorder):
    ana = ctx.people.by_name("ana")
    set_baseline(ctx, "scn-invoice", 100.0)
    settings = flows.set_backfill(ctx, ana, "scn-invoice", True, START - timedelta(hours=1),
                                    START + timedelta(hours=6), "reprocess October after the fix")
    assert settings.backfill is not None
    export = json.loads((ctx.data_dir / "config" / "scenarios" / "scn-invoice.json").read_text())
    assert export["is_backfill"] is True and export["backfill_end"] == (START + timedelta(hours=6)).isoformat()
    inside, = recorder.record([validate_run(raw_run(run_id="run_in", credits=600.0))])
    later = (START + timedelta(hours=7)).isoformat()
    outside, = recorder.record([validate_run(raw_run(run_id="run_out", credits=600.0, Started_At=later))])
    assert inside.severity == "SEV2" and outside.severity == "SEV1"
    run_in = next(e for e in entries(ctx) if e.get("Run_ID") == "run_in" and e["kind"] == "run.recorded")
    assert run_in["is_backfill"] is True
    flows.set_backfill(ctx, ana, "scn-invoice", False, reason="done")
    after, = recorder.record([validate_run(raw_run(run_id="run_after", credits=600.0))])
    assert after.severity == "SEV1"
    sets = [e["data"] for e in entries(ctx) if e["kind"] == "backfill.set"]
    assert sets[0]["on"] is True and sets[0]["start"] and sets[1]["on"] is False and sets[1]["ended_at"]


@freeze_time(START)
def test_backfill_needs_an_end_in_the_future_and_a_reason(ctx):
    ana = ctx.people.by_name("ana")
    with pytest.raises(Invalid, match="already past"):
        flows.set_backfill(ctx, ana, "scn-invoice", True, START - timedelta(days=2),
                             START - timedelta(days=1), "old")
    with pytest.raises(Invalid, match="--reason is required"):
        flows.set_backfill(ctx, ana, "scn-invoice", True, None, START + timedelta(days=1), "")
    with pytest.raises(Conflict, match="not on"):
        flows.set_backfill(ctx, ana, "scn-invoice", False)
    assert kinds(ctx).count("command.refused") == 3


@freeze_time(START)
def test_scenario_max_items_is_set_recorded_and_exported(ctx):
    ana = ctx.people.by_name("ana")
    flows.set_scenario(ctx, ana, "scn-invoice", "max_items", "1000")
    flows.set_scenario(ctx, ana, "scn-invoice", "max_items", "500")
    export = json.loads((ctx.data_dir / "config" / "scenarios" / "scn-invoice.json").read_text())
    assert export["max_items"] == 500
    [first, second] = [e["data"] for e in entries(ctx) if e["kind"] == "scenario.set"]
    assert (first["old"], first["new"], second["old"], second["new"]) == (None, 1000, 1000, 500)
    for bad in ("-5", "0", "²", "99999999999999999999"):     # never an internal error or a ledger complaint
        with pytest.raises(Invalid, match="expected a whole number from 1 to 2,147,483,647"):
            flows.set_scenario(ctx, ana, "scn-invoice", "max_items", bad)
    with pytest.raises(Invalid, match="unknown setting 'max_item'"):
        flows.set_scenario(ctx, ana, "scn-invoice", "max_item", "5")
