"""Calculate, update, set and show: the runbook's Baseline Update Procedure end to end on real files."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from chatops.registry import Invocation, Registry, run
from jobs import approvals
from jobs.actors import PermissionDenied
from jobs.approvals import Status
from jobs.credits.baselines import flows as baselines, proposals as baseline_proposals
from jobs.credits.baselines.flows import BadInput, NoHealthyRuns, UnknownScenario, UpdateRefused
from store import baselines as store
from tests.baselines.conftest import (NOW, daily_runs, ledger_entries, make_context, quarantine_run,
                                      record_run)

GOLDEN = Path(__file__).parent / "golden" / "update_note.md"
REASON = ("Prompt optimization deployed on 2024-01-15; New prompt increases context window by 15%; "
          "Variance stable over last 2 weeks; No SEV0/SEV1 incidents since optimization")


def person(ctx, name):
    return ctx.people.by_name(name)


@freeze_time(NOW)
def test_healthy_runs_exclude_sev0_sev1_quarantined_backfill_unassessed_and_runs_outside_the_window(ctx):
    for i, value in enumerate([100, 200, 300]):
        record_run(ctx, f"ok{i}", "SCN", value, NOW - timedelta(days=i + 1))
    record_run(ctx, "sev2", "SCN", 400, NOW - timedelta(days=4), severity="SEV2")
    record_run(ctx, "unb", "SCN", 500, NOW - timedelta(days=5), severity="UNBASELINED", Exposure=False,
               Misconfig_Likelihood="Low")
    # recorded UNBASELINED before the fail-safe rule, never assessed: PII, a misconfig signal, no fields at all
    record_run(ctx, "unb_pii", "SCN", 4000, NOW - timedelta(days=5), severity="UNBASELINED", Exposure=True,
               Misconfig_Likelihood="Low", Risk_Flags=["pii_exposure"])
    record_run(ctx, "unb_loop", "SCN", 4000, NOW - timedelta(days=5), severity="UNBASELINED", Exposure=False,
               Misconfig_Likelihood="High", Risk_Flags=["retry_loop"])
    record_run(ctx, "unb_old", "SCN", 4000, NOW - timedelta(days=5), severity="UNBASELINED")
    record_run(ctx, "sev0", "SCN", 9000, NOW - timedelta(days=2), severity="SEV0")
    record_run(ctx, "sev1", "SCN", 8000, NOW - timedelta(days=2), severity="SEV1")
    record_run(ctx, "back", "SCN", 7000, NOW - timedelta(days=2), is_backfill=True)
    record_run(ctx, "quar", "SCN", 6000, NOW - timedelta(days=2))
    quarantine_run(ctx, "quar")
    record_run(ctx, "old", "SCN", 5000, NOW - timedelta(days=31))
    record_run(ctx, "other", "SCN2", 1, NOW - timedelta(days=1))
    calc = baselines.compute(ctx, "SCN", 30)
    assert calc.sample_size == 5                        # 100, 200, 300, 400 (SEV2), 500 (unbaselined)
    assert calc.median_credits == 300.0
    assert calc.cv == pytest.approx(158.11388300841898 / 300)
    assert [r.run_id for r in calc.severe_recent] == ["sev0", "sev1"]


@freeze_time(NOW)
def test_no_healthy_runs_in_the_window_says_what_is_missing_and_suggests_set(ctx):
    record_run(ctx, "s1", "SCN", 9000, NOW - timedelta(days=3), severity="SEV1")
    record_run(ctx, "old", "SCN", 100, NOW - timedelta(days=40))
    with pytest.raises(NoHealthyRuns) as exc:
        baselines.compute(ctx, "SCN", 30)
    text = str(exc.value)
    assert "none of the 1 runs of SCN in the last 30 days" in text and "1 SEV0/SEV1" in text
    assert "chatops baseline set --scenario SCN --credits N" in text
    with pytest.raises(NoHealthyRuns, match="no run of SCN is recorded in the last 2 days.*2 older runs exist"):
        baselines.compute(ctx, "SCN", 2)


@freeze_time(NOW)
def test_unknown_scenario_names_the_closest_known_ids(ctx):
    record_run(ctx, "a", "BINDER_EXPORT_WEEKLY", 10, NOW - timedelta(days=1))
    record_run(ctx, "b", "INVOICE_SYNC", 10, NOW - timedelta(days=1))
    with pytest.raises(UnknownScenario, match="unknown scenario 'BINDER_EXPORT_WEKLY'.*closest known: "
                                              "BINDER_EXPORT_WEEKLY"):
        baselines.compute(ctx, "BINDER_EXPORT_WEKLY")
    with pytest.raises(BadInput, match="--days 0 is not a whole number of days from 1 to 36,500"):
        baselines.compute(ctx, "INVOICE_SYNC", 0)


def _phase_one(ctx):
    """A calculated baseline of 1250.50 approved 31 days before NOW (ben proposes, dev approves)."""
    t1 = NOW - timedelta(days=31)
    with freeze_time(t1):
        daily_runs(ctx, "BINDER_EXPORT_WEEKLY", [1250.5 + 5 * k for k in range(-17, 18)], end=t1, prefix="p")
        proposal = baseline_proposals.propose(ctx, person(ctx, "ben"), "BINDER_EXPORT_WEEKLY", "initial baseline",
                                              days=40)
        baseline_proposals.approve(ctx, person(ctx, "dev"), proposal.request.id)
    assert store.current(ctx.state, "BINDER_EXPORT_WEEKLY").median_credits == 1250.5


def _phase_two_runs(ctx):
    """28 runs in the last 30 days, median 1425.75, CV 0.18: 1425.75 ± 29.6·k, k = 1…14."""
    values = sorted([1425.75 + 29.6 * k for k in range(1, 15)] + [1425.75 - 29.6 * k for k in range(1, 15)])
    for i, value in enumerate(values):
        record_run(ctx, f"q{i:02d}", "BINDER_EXPORT_WEEKLY", value, NOW - timedelta(days=29) + timedelta(days=i))


def test_update_writes_the_runbook_note_export_store_and_ledger_in_one_step(ctx):
    _phase_one(ctx)
    with freeze_time(NOW):
        _phase_two_runs(ctx)
        proposal = baseline_proposals.propose(ctx, person(ctx, "ben"), "BINDER_EXPORT_WEEKLY", REASON)
        applied = baseline_proposals.approve(ctx, person(ctx, "ana"), proposal.request.id)
    note = ctx.data_dir / "runs" / "BASELINE_UPDATES" / "update_2024-01-23.md"
    assert applied.note_path == note
    assert note.read_text() == GOLDEN.read_text()
    current = baselines.current_baseline(ctx, "BINDER_EXPORT_WEEKLY")
    assert (current.median_credits, current.sample_size, current.version) == (pytest.approx(1425.75), 28, 2)
    assert (current.proposer, current.approver, current.approval_id) == ("ben", "ana", "O3-ana-20240123T181500Z")
    exported = json.loads((ctx.data_dir / "config" / "credit-baselines.json").read_text())
    [entry] = [b for b in exported["baselines"] if b["scenario_id"] == "BINDER_EXPORT_WEEKLY"]
    assert entry["median_credits"] == pytest.approx(1425.75) and entry["sample_size"] == 28
    assert entry["last_updated"] == "2024-01-23T18:15:00+00:00" and entry["source"] == "calculated"
    [updated] = [e for e in ledger_entries(ctx, "baseline.updated") if e["data"]["version"] == 2]
    assert updated["role"] == "O3" and updated["actor"] == "U0ANA00001"
    assert updated["data"]["proposer"] == "ben" and updated["data"]["note"] == "runs/BASELINE_UPDATES/update_2024-01-23.md"
    assert store.check_export(ctx.state, ctx.data_dir).ok
    assert [b.version for b in store.history(ctx.state, "BINDER_EXPORT_WEEKLY")] == [1, 2]


@freeze_time(NOW)
def test_every_failing_prerequisite_is_named_with_its_measured_value(ctx):
    daily_runs(ctx, "SCN", [100, 300, 100, 300, 100, 300, 100, 300, 100, 300])     # 10 days, CV ~0.53
    record_run(ctx, "spike", "SCN", 5000, NOW - timedelta(days=3), severity="SEV1")
    with pytest.raises(UpdateRefused) as exc:
        baselines.compute(ctx, "SCN")
        baseline_proposals.propose(ctx, person(ctx, "ben"), "SCN", "weekly review")
    failures = exc.value.failures
    assert str(exc.value).startswith("baseline propose for SCN refused: 3 prerequisites not met\n")  # not "update"
    assert len(failures) == 3
    assert failures[0].startswith("not stable: 1 SEV0/SEV1 run in the last 2 weeks (latest spike, SEV1")
    assert failures[1].startswith("healthy runs cover 9.0 days") and "needs at least 30 days" in failures[1]
    assert failures[2] == "coefficient of variation 0.53 is not below 0.3 (not stable)"
    [refused] = ledger_entries(ctx, "command.refused")
    assert refused["data"]["failures"] == failures and refused["role"] == "O2"


@freeze_time(NOW)
def test_one_run_cannot_show_stability(tmp_path):
    ctx = make_context(tmp_path / "var", "[baselines]\nallow_self_approval = true\n")
    record_run(ctx, "only", "SCN", 100, NOW - timedelta(days=40))
    with pytest.raises(UpdateRefused, match="cannot be measured from 1 healthy run"):
        baselines.update(ctx, person(ctx, "ana"), "SCN", "first", days=60)


def test_large_change_needs_force_and_the_note_says_so(tmp_path):
    ctx = make_context(tmp_path / "var", "[baselines]\nallow_self_approval = true\n")
    with freeze_time(NOW):
        baselines.set_baseline(ctx, person(ctx, "ana"), "SCN", 100, "manual guess")
        daily_runs(ctx, "SCN", [200 + (i % 3) for i in range(35)])
        with pytest.raises(UpdateRefused, match=r"change \+101\.0% \(100\.00 → 201\.00\) is over 50%.*"
                                                "--force-large-change"):
            baselines.update(ctx, person(ctx, "ana"), "SCN", "load doubled")
        assert baselines.current_baseline(ctx, "SCN").median_credits == 100
        applied = baselines.update(ctx, person(ctx, "ana"), "SCN", "load doubled", force_large_change=True)
    text = applied.note_path.read_text()
    assert "**Old Baseline:** 100.00 credits (manual)" in text
    assert "**Large change:** over 50%, applied with --force-large-change after investigation" in text
    assert "**Self-approved:** proposed and approved by ana" in text
    assert baselines.current_baseline(ctx, "SCN").self_approved


@freeze_time(NOW)
def test_self_approval_is_refused_unless_configured(ctx):
    daily_runs(ctx, "SCN", [200 + (i % 3) for i in range(35)])
    with pytest.raises(baselines.BaselineError, match=r"^there is no pending proposal for SCN to approve, .*"
                                                      r"propose it with `chatops baseline propose --scenario SCN"):
        baselines.update(ctx, person(ctx, "ana"), "SCN", "stable")
    proposal = baseline_proposals.propose(ctx, person(ctx, "dev"), "SCN", "stable")
    with pytest.raises(baselines.BaselineError, match=f"^the pending proposal {proposal.request.id} for SCN was "
                                                      "made by dev; another O3 must approve it"):
        baselines.update(ctx, person(ctx, "dev"), "SCN", "stable")
    with pytest.raises(baselines.BaselineError, match="you requested this approval"):
        baseline_proposals.approve(ctx, person(ctx, "dev"), proposal.request.id)
    assert baselines.current_baseline(ctx, "SCN") is None
    assert len(ledger_entries(ctx, "command.refused")) == 3
    applied = baseline_proposals.approve(ctx, person(ctx, "ana"), proposal.request.id)
    assert (applied.baseline.proposer, applied.baseline.approver) == ("dev", "ana")
    assert not applied.baseline.self_approved


@pytest.mark.parametrize("words", [["baseline", "approve", "{request}"],
                                   ["baseline", "update", "--scenario", "SCN", "--approve", "--reason", "ok"]])
def test_allowed_self_approval_closes_the_proposal_and_the_note_says_so(tmp_path, words):
    ctx = make_context(tmp_path / "var", "[baselines]\nallow_self_approval = true\n")
    with freeze_time(NOW):
        daily_runs(ctx, "SCN", [200 + (i % 3) for i in range(35)])
        proposal = baseline_proposals.propose(ctx, person(ctx, "ana"), "SCN", "single operator")
        command, rest = Registry.load().match([w.format(request=proposal.request.id) for w in words])
        reply = run(Invocation(command=command, actor=person(ctx, "ana"), args=command.parser("chatops").parse_args(
            rest), surface="cli", config=lambda: None, _context=ctx))
    assert reply.exit_code == 0, reply.text
    assert "proposed by ana, approved by ana, self-approved" in reply.text
    request = approvals.get(ctx, proposal.request.id)
    assert request.status is Status.APPROVED and baseline_proposals.pending(ctx, "SCN") is None
    assert (request.final.by, request.final.note) == ("ana", "self-approved (allowed by [baselines] "
                                                             "allow_self_approval)")
    current = baselines.current_baseline(ctx, "SCN")
    assert (current.proposer, current.approver, current.self_approved) == ("ana", "ana", True)
    assert current.approval_id == request.final.approval_id == "O3-ana-20240123T181500Z"
    note = (ctx.data_dir / "runs" / "BASELINE_UPDATES" / "update_2024-01-23.md").read_text()
    assert ("**Self-approved:** proposed and approved by ana (allowed by [baselines] allow_self_approval = true)"
            in note)
    [updated] = ledger_entries(ctx, "baseline.updated")
    assert updated["data"]["self_approved"] is True and updated["data"]["approval_id"] == current.approval_id
    with freeze_time(NOW), pytest.raises(baselines.BaselineError, match="already approved by ana"):
        baseline_proposals.approve(ctx, person(ctx, "dev"), proposal.request.id)


def test_a_newer_run_voids_the_approval_and_a_new_proposal_is_shown(ctx):
    with freeze_time(NOW):
        daily_runs(ctx, "SCN", [200 + (i % 3) for i in range(35)])
        first = baseline_proposals.propose(ctx, person(ctx, "ben"), "SCN", "stable")
    with freeze_time(NOW + timedelta(hours=2)):
        record_run(ctx, "late", "SCN", 260, NOW + timedelta(hours=1))
        with pytest.raises(baseline_proposals.ProposalSuperseded) as exc:
            baseline_proposals.approve(ctx, person(ctx, "ana"), first.request.id)
        assert "approval is void" in str(exc.value)
        renewed = exc.value.renewed
        assert renewed.requested_by == "ben" and renewed.what["sample_size"] == 31
        assert baselines.current_baseline(ctx, "SCN") is None
        applied = baseline_proposals.approve(ctx, person(ctx, "ana"), renewed.id)
    assert applied.baseline.sample_size == 31
    outbox = [json.loads(line) for line in (ctx.data_dir / "outbox.jsonl").read_text().splitlines()]
    proposals = [o for o in outbox if "Baseline proposal" in json.dumps(o)]
    assert len(proposals) >= 2 and any("replaces " + first.request.id in json.dumps(o) for o in proposals)


@freeze_time(NOW)
def test_set_is_manual_exported_and_listed_as_manual(ctx):
    baseline = baselines.set_baseline(ctx, person(ctx, "ana"), "NEW_SCN", 1250.5, "insufficient data")
    assert baseline.source == "manual" and baseline.sample_size == 0
    exported = json.loads((ctx.data_dir / "config" / "credit-baselines.json").read_text())
    assert exported["baselines"] == [{
        "scenario_id": "NEW_SCN", "median_credits": 1250.5, "calculated_at": "2024-01-23T18:15:00+00:00",
        "sample_size": 0, "last_updated": "2024-01-23T18:15:00+00:00", "source": "manual",
        "coefficient_of_variation": None, "window_days": None, "approval_id": "O3-ana-20240123T181500Z",
        "approver": "ana", "version": 1}]
    [entry] = ledger_entries(ctx, "baseline.set")
    assert entry["data"]["median_credits"] == 1250.5 and entry["role"] == "O3"
    for bad in (0, -5, float("nan")):
        with pytest.raises(BadInput, match="not a positive number of credits"):
            baselines.set_baseline(ctx, person(ctx, "ana"), "NEW_SCN", bad, "x")
    with pytest.raises(PermissionDenied):
        baselines.set_baseline(ctx, person(ctx, "ben"), "NEW_SCN", 10, "x")
    assert len(ledger_entries(ctx, "command.refused")) == 4


@freeze_time(NOW)
def test_a_hand_edited_export_is_reported_never_used_and_kept_aside(ctx):
    baselines.set_baseline(ctx, person(ctx, "ana"), "SCN", 100, "manual")
    path = ctx.data_dir / "config" / "credit-baselines.json"
    document = json.loads(path.read_text())
    document["baselines"][0]["median_credits"] = 999
    document["baselines"].append({"scenario_id": "HAND", "median_credits": 5, "calculated_at": "x",
                                  "sample_size": 0, "last_updated": "x"})
    path.write_text(json.dumps(document))
    status = store.check_export(ctx.state, ctx.data_dir)
    assert status.state == "edited"
    text = status.describe()
    assert "SCN: median_credits is 999 in the file, 100.0 in the store" in text
    assert "HAND: scenario is 'present' in the file, 'absent' in the store" in text
    assert baselines.current_baseline(ctx, "SCN").median_credits == 100
    assert baselines.current_baseline(ctx, "HAND") is None
    baselines.set_baseline(ctx, person(ctx, "ana"), "SCN", 120, "manual again")
    kept = list(path.parent.glob("credit-baselines.json.edited-*"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["baselines"][0]["median_credits"] == 999
    [second] = [e for e in ledger_entries(ctx, "baseline.set") if e["data"]["version"] == 2]
    assert second["data"]["export_hand_edit"]["state"] == "edited"
    assert store.check_export(ctx.state, ctx.data_dir).ok


@freeze_time(NOW)
def test_a_failed_ledger_append_leaves_store_export_and_note_as_they_were(tmp_path):
    ctx = make_context(tmp_path / "var", "[baselines]\nallow_self_approval = true\n")
    baselines.set_baseline(ctx, person(ctx, "ana"), "SCN", 100, "manual")
    daily_runs(ctx, "SCN", [200 + (i % 3) for i in range(35)])
    export = ctx.data_dir / "config" / "credit-baselines.json"
    before = export.read_bytes()
    too_long = "x" * 70_000     # the ledger refuses a line over 64 KiB (docs/ledger.md §2), after note and export
    with pytest.raises(Exception, match="at most 65,536 bytes|64 KiB"):
        baselines.update(ctx, person(ctx, "ana"), "SCN", too_long, force_large_change=True)
    assert export.read_bytes() == before
    assert not (ctx.data_dir / "runs" / "BASELINE_UPDATES" / "update_2024-01-23.md").exists()
    assert [b.version for b in store.history(ctx.state, "SCN")] == [1]
    assert store.check_export(ctx.state, ctx.data_dir).ok
