"""Operator actions: the runbook's procedures end to end, every action × every role, refusals recorded."""
from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
from freezegun import freeze_time

from jobs.actors import Actor, PermissionDenied
from jobs.credits import gates
from jobs.credits.cases import flows
from jobs.credits.audit import CreditsRefused
from jobs.credits.cases.service import all_cases
from jobs.credits.intake.recorder import Recorder
from jobs.credits.records import CaseStatus, ReleaseFinding, RerunDecision, RootCause
from jobs.credits.intake.schema import validate_run
from store import artifacts
from jobs.audit import verify_ledgers
from tests.credits.conftest import START, entries, kinds, raw_run, set_baseline


def person(ctx, name: str) -> Actor:
    return ctx.people.by_name(name)


@pytest.fixture
def sev0(ctx, recorder):
    with freeze_time(START):
        set_baseline(ctx, "scn-invoice", 100.0)
        recorder.record([validate_run(raw_run(run_id="run_q", credits=1500.0, Risk_Flags=["pii_exposure",
                                                                                          "unbounded_iterator"]))])
    return "CASE-1"


@pytest.fixture
def sev1(ctx, recorder):
    with freeze_time(START):
        set_baseline(ctx, "scn-invoice", 100.0)
        recorder.record([validate_run(raw_run(run_id="run_s", credits=700.0, Risk_Flags=["retry_loop"]))])
    return "CASE-1"


def last_refusal(ctx) -> dict:
    return [e for e in entries(ctx) if e["kind"] == "command.refused"][-1]


@freeze_time(START + timedelta(minutes=5))
def test_sev0_procedure_ack_root_cause_resolve_then_quarantine_release_unblocks_dispatch(ctx, recorder, sev0):
    ana, ben = person(ctx, "ana"), person(ctx, "ben")
    assert flows.ack(ctx, ben, sev0).status is CaseStatus.INVESTIGATING
    flows.note(ctx, ben, sev0, "pii flag: only ids read, no PII content accessed",
                 slack_thread_url="https://example.slack.com/archives/C1/p1")
    proposed = flows.root_cause(ctx, ben, sev0, RootCause.MISCONFIG, "unbounded iterator")
    assert proposed.root_cause is None and proposed.proposed_root_cause is RootCause.MISCONFIG
    with pytest.raises(CreditsRefused, match="Root_Cause is not set"):
        flows.resolve(ctx, ana, sev0, "max_items added")
    flows.root_cause(ctx, ana, sev0, RootCause.MISCONFIG)
    with pytest.raises(CreditsRefused, match="resolve it first"):
        flows.release_quarantine(ctx, ana, "run_q", ReleaseFinding.FALSE_POSITIVE, "ids only")
    resolved = flows.resolve(ctx, ana, sev0, "max_items=1000 added; false positive PII flag")
    assert resolved.status is CaseStatus.RESOLVED and resolved.resolved_at is not None
    assert resolved.slack_thread_url == "https://example.slack.com/archives/C1/p1"

    path = flows.release_quarantine(ctx, ana, "run_q", ReleaseFinding.FALSE_POSITIVE, "ids only, no PII")
    assert path == "runs/CREDIT_MONITORING/2026-11-22/run_q.json"
    released = ctx.data_dir / path
    assert subprocess.run(["sha256sum", "-c", "run_q.json.sha256"], cwd=released.parent).returncode == 0
    assert not (ctx.data_dir / "runs" / "QUARANTINE" / "run_q" / "run_q.json").exists()
    entry = [e for e in entries(ctx) if e["kind"] == "quarantine.released"][0]
    assert entry["data"]["old_path"] == "runs/QUARANTINE/run_q/run_q.json" and entry["data"]["new_path"] == path
    assert gates.dispatch_gate(ctx, "run_q", recorder.index).allowed
    assert "Quarantine released on 2026-11-22 by O3 ana" in all_cases(ctx)[0].notes[-1].text
    assert all_cases(ctx)[0].quarantined_run_ids == ()
    with pytest.raises(CreditsRefused, match="already released"):
        flows.release_quarantine(ctx, ana, "run_q", ReleaseFinding.FALSE_POSITIVE, "again")


@freeze_time(START + timedelta(minutes=5))
def test_after_a_release_verify_artifacts_follows_the_file_back_and_the_empty_quarantine_folder_is_gone(
        ctx, sev0):
    ana = person(ctx, "ana")
    flows.ack(ctx, ana, sev0)
    flows.root_cause(ctx, ana, sev0, RootCause.MISCONFIG)
    flows.resolve(ctx, ana, sev0, "max_items=1000 added")
    assert verify_artifacts(ctx).ok
    path = flows.release_quarantine(ctx, ana, "run_q", ReleaseFinding.FALSE_POSITIVE, "ids only, no PII")
    assert not (ctx.data_dir / "runs" / "QUARANTINE" / "run_q").exists()
    assert (ctx.data_dir / "runs" / "QUARANTINE").is_dir()
    released = verify_artifacts(ctx)
    assert released.ok, released.text()
    assert "1 run files from the last 30 days: file = .sha256 sidecar = ledger entry" in released.text()
    (ctx.data_dir / path).unlink()                              # a file lost after its release is still missed
    lost = verify_artifacts(ctx)
    released_by = [e["seq"] for e in entries(ctx) if e["kind"] == "quarantine.released"][0]
    assert not lost.ok
    assert f"{path}: missing (ledger seq " in lost.text()
    assert f"last moved by seq {released_by:,} quarantine.released)" in lost.text()


def verify_artifacts(ctx):
    """`chatops ledger verify --ledger credit --artifacts 30`, as of a day after the runs."""
    [report] = verify_ledgers(ctx.settings, ctx.data_dir, "credit", artifacts_days=30, now=START + timedelta(days=1))
    return report


def test_a_quarantine_folder_that_is_not_empty_is_kept(tmp_path):
    folder = tmp_path / "runs" / "QUARANTINE" / "run_q"
    folder.mkdir(parents=True)
    (folder / "note.txt").write_text("kept by an operator")
    assert not artifacts.remove_if_empty(tmp_path, folder.relative_to(tmp_path))
    assert (folder / "note.txt").read_text() == "kept by an operator"
    (folder / "note.txt").unlink()
    assert artifacts.remove_if_empty(tmp_path, folder.relative_to(tmp_path)) and not folder.exists()


@freeze_time(START + timedelta(minutes=5))
def test_quarantine_release_refuses_an_artifact_changed_after_it_was_recorded(ctx, sev0):
    ana = person(ctx, "ana")
    flows.ack(ctx, ana, sev0)
    flows.root_cause(ctx, ana, sev0, RootCause.LEGIT_LOAD)
    flows.resolve(ctx, ana, sev0, "backfill processed more records")
    quarantined = ctx.data_dir / "runs" / "QUARANTINE" / "run_q" / "run_q.json"
    quarantined.write_bytes(quarantined.read_bytes().replace(b"1500", b"15"))
    with pytest.raises(CreditsRefused, match="changed after it was recorded"):
        flows.release_quarantine(ctx, ana, "run_q", ReleaseFinding.MITIGATED, "redacted")
    assert quarantined.exists() and "changed after it was recorded" in last_refusal(ctx)["data"]["reason"]


@freeze_time(START + timedelta(minutes=10))
def test_sev1_rerun_gate_opens_only_after_ack_root_cause_and_o3_approval(ctx, recorder, sev1):
    ana, ben = person(ctx, "ana"), person(ctx, "ben")
    with pytest.raises(CreditsRefused, match="not acknowledged yet"):
        flows.decide_rerun(ctx, ana, sev1, RerunDecision.APPROVED, "max_items now 1000")
    assert (last_refusal(ctx)["data"]["command"], last_refusal(ctx)["data"]["subject"]) == ("rerun approve", "CASE-1")
    flows.ack(ctx, ben, sev1)
    flows.root_cause(ctx, ben, sev1, RootCause.MISCONFIG)
    blocked = gates.dispatch_gate(ctx, "scn-invoice", recorder.index)
    assert not blocked.allowed and "needs an O3 `APPROVED for rerun" in blocked.describe()
    approved = flows.decide_rerun(ctx, ana, sev1, RerunDecision.APPROVED, "misconfig fixed, max_items now 1000")
    assert approved.approval_id.startswith("O3-ana-")
    assert gates.dispatch_gate(ctx, "scn-invoice", recorder.index).allowed
    entry = [e for e in entries(ctx) if e["kind"] == "rerun.approved"][0]
    assert entry["data"]["mitigation"] == "misconfig fixed, max_items now 1000" and len(entry["data"]["digest"]) == 64
    with pytest.raises(CreditsRefused, match="first approval stands"):
        flows.decide_rerun(ctx, person(ctx, "dev"), sev1, RerunDecision.DENIED, "too early")
    assert ctx.notifier.sent[-1].text.startswith("CASE-1: APPROVED for rerun - misconfig fixed")


@freeze_time(START + timedelta(minutes=10))
def test_denied_rerun_keeps_the_gate_closed_until_a_later_approval(ctx, recorder, sev1):
    ana, ben = person(ctx, "ana"), person(ctx, "ben")
    flows.ack(ctx, ben, sev1)
    denied = flows.decide_rerun(ctx, ana, sev1, RerunDecision.DENIED, "root cause not yet identified")
    assert denied.rerun_decision is RerunDecision.DENIED
    gate = gates.dispatch_gate(ctx, "scn-invoice", recorder.index)
    assert not gate.allowed and "DENIED by ana - root cause not yet identified" in gate.describe()
    with pytest.raises(CreditsRefused, match="DENIED needs a reason"):
        flows.decide_rerun(ctx, ana, sev1, RerunDecision.DENIED, "  ")
    flows.root_cause(ctx, ana, sev1, RootCause.MISCONFIG)
    flows.decide_rerun(ctx, ana, sev1, RerunDecision.APPROVED, "retry_loop fixed")
    assert gates.dispatch_gate(ctx, "scn-invoice", recorder.index).allowed


@freeze_time(START + timedelta(minutes=10))
def test_case_status_moves_only_along_the_transition_table(ctx, sev1):
    ana = person(ctx, "ana")
    flows.ack(ctx, ana, sev1)
    flows.root_cause(ctx, ana, sev1, RootCause.UNKNOWN)
    flows.resolve(ctx, ana, sev1, "transient")
    with pytest.raises(CreditsRefused, match="already resolved"):
        flows.resolve(ctx, ana, sev1, "again")
    with pytest.raises(CreditsRefused, match="already resolved"):
        flows.ack(ctx, ana, sev1)
    assert CaseStatus.OPEN not in flows.TRANSITIONS[CaseStatus.RESOLVED]
    assert kinds(ctx).count("case.resolved") == 1


# ---- every action × every role ------------------------------------------------------------------

ACTIONS = {
    "ack": (lambda ctx, who: flows.ack(ctx, who, "CASE-1"), {"ana", "ben", "dev"}, "alert.acked"),
    "note": (lambda ctx, who: flows.note(ctx, who, "CASE-1", "looked at it"), {"ana", "ben", "dev"}, "case.noted"),
    "root-cause": (lambda ctx, who: flows.root_cause(ctx, who, "CASE-1", RootCause.MISCONFIG),
                   {"ana", "ben", "dev"}, "case.root_cause"),
    "resolve": (lambda ctx, who: flows.resolve(ctx, who, "CASE-1", "done"), {"ana", "dev"}, "case.resolved"),
    "approve": (lambda ctx, who: flows.decide_rerun(ctx, who, "CASE-1", RerunDecision.APPROVED, "fixed"),
                {"ana", "dev"}, "rerun.approved"),
    "deny": (lambda ctx, who: flows.decide_rerun(ctx, who, "CASE-1", RerunDecision.DENIED, "no"),
             {"ana", "dev"}, "rerun.denied"),
    "release": (lambda ctx, who: flows.release_quarantine(ctx, who, "run_s", ReleaseFinding.MITIGATED, "x"),
                {"ana", "dev"}, "command.refused"),      # allowed roles reach the criteria: not quarantined
    "backfill": (lambda ctx, who: flows.set_backfill(ctx, who, "scn-invoice", True, None,
                                                       START + timedelta(days=1), "reprocess"),
                 {"ana", "dev"}, "backfill.set"),
    "scenario": (lambda ctx, who: flows.set_scenario(ctx, who, "scn-invoice", "max_items", "1000"),
                 {"ana", "dev"}, "scenario.set"),
    "record": (lambda ctx, who: Recorder(ctx).record([validate_run(raw_run(run_id="run_new"))], who),
               {"ana", "dev"}, "run.recorded"),
}
PEOPLE = ("ana", "ben", "cleo", "dev", "lee", "unknown")


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.parametrize("name", sorted(ACTIONS))
@freeze_time(START + timedelta(minutes=10))
def test_every_action_for_every_role_is_allowed_or_refused_and_recorded(ctx, sev1, name, who):
    run, allowed_people, kind = ACTIONS[name]
    actor = ctx.people.by_slack_id("U0NOBODY01") if who == "unknown" else person(ctx, who)
    if name in ("resolve", "approve") and who in allowed_people:
        flows.ack(ctx, person(ctx, "ben"), "CASE-1")
        flows.root_cause(ctx, person(ctx, "ana"), "CASE-1", RootCause.MISCONFIG)
    before = len(entries(ctx))
    if who not in allowed_people:
        with pytest.raises(PermissionDenied):
            run(ctx, actor)
        refusal = entries(ctx)[before]
        assert refusal["kind"] == "command.refused" and refusal["actor"] == actor.ledger_id
    elif kind == "command.refused":
        with pytest.raises(CreditsRefused):
            run(ctx, actor)
        assert entries(ctx)[before]["kind"] == "command.refused"
    else:
        run(ctx, actor)
        entry = entries(ctx)[-1]
        assert entry["kind"] == kind and entry["actor"] == actor.ledger_id
        assert entry["role"] == ("O3" if who in ("ana", "dev") else "O2")
    # A rerun decision's commit also holds the approval request and the decision on it.
    decided = name in ("approve", "deny") and who in allowed_people
    decision = ["approval.requested", "approval.decided"] if decided else []
    assert kinds(ctx)[before:-1] == decision
