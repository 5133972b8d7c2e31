"""A proposal's life: renewed proposals are superseded, and approval and change happen together or not at all."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from freezegun import freeze_time

from jobs import approvals
from jobs.approvals import ApprovalRefused, Decision, Status
from jobs.audit import verify_ledgers
from jobs.credits.baselines import flows as baselines, proposals as baseline_proposals
from jobs.credits.baselines.apply import ProposalApproval
from store import baselines as store
from tests.baselines.conftest import NOW, daily_runs, ledger_entries, record_run
from tests.conftest import REPO

STABLE = [200 + (i % 3) for i in range(35)]


def person(ctx, name):
    return ctx.people.by_name(name)


def credit_kinds(ctx) -> list[str]:
    path = ctx.data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    return [json.loads(line)["kind"] for line in path.read_text().splitlines()]


def test_a_proposal_renewed_after_its_runs_changed_is_superseded_and_waits_for_nobody(ctx):
    with freeze_time(NOW):
        daily_runs(ctx, "SCN", STABLE)
        first = baseline_proposals.propose(ctx, person(ctx, "ben"), "SCN", "stable").request
        assert [r.id for r in approvals.pending_for(ctx, person(ctx, "ana"))] == [first.id]
    with freeze_time(NOW + timedelta(hours=2)):
        record_run(ctx, "late", "SCN", 260, NOW + timedelta(hours=1))
        with pytest.raises(baseline_proposals.ProposalSuperseded) as exc:
            baseline_proposals.approve(ctx, person(ctx, "ana"), first.id)
    renewed = exc.value.renewed
    closed = approvals.get(ctx, first.id)
    assert (closed.status, closed.superseded_by, closed.final) == (Status.SUPERSEDED, renewed.id, None)
    for o3 in ("ana", "dev"):
        assert [r.id for r in approvals.pending_for(ctx, person(ctx, o3))] == [renewed.id]
    [superseded] = ledger_entries(ctx, "approval.superseded")
    assert (superseded["actor"], superseded["data"]["request"], superseded["data"]["superseded_by"],
            superseded["data"]["reason"]) == (person(ctx, "ana").ledger_id, first.id, renewed.id, "the runs changed")
    replaced = f"^{first.id} was replaced by {renewed.id} .*approve {renewed.id} instead$"
    with freeze_time(NOW + timedelta(hours=2)), pytest.raises(baselines.BaselineError, match=replaced):
        baseline_proposals.approve(ctx, person(ctx, "dev"), first.id)
    assert approvals.get(ctx, first.id).status is Status.SUPERSEDED and baselines.current_baseline(ctx, "SCN") is None


@freeze_time(NOW)
def test_a_new_proposal_for_a_scenario_supersedes_its_pending_one(ctx):
    daily_runs(ctx, "SCN", STABLE)
    first = baseline_proposals.propose(ctx, person(ctx, "ben"), "SCN", "stable").request
    second = baseline_proposals.propose(ctx, person(ctx, "dev"), "SCN", "stable, checked again").request
    assert approvals.get(ctx, first.id).superseded_by == second.id
    assert baseline_proposals.pending(ctx, "SCN").id == second.id
    assert [r.id for r in approvals.pending_for(ctx, person(ctx, "ana"))] == [second.id]
    assert [e["data"]["replaces"] for e in ledger_entries(ctx, "baseline.proposed")] == [None, first.id]
    outbox = (ctx.data_dir / "outbox.jsonl").read_text()
    assert f"Baseline proposal {second.id} (replaces {first.id}: proposed again by dev) by dev" in outbox


def test_a_failed_ledger_write_leaves_the_proposal_pending_undecided_and_nothing_applied(ctx):
    """The ledger file may not grow (RLIMIT_FSIZE in the approving process): the real write fails."""
    with freeze_time(NOW):
        baselines.set_baseline(ctx, person(ctx, "ana"), "SCN", 190, "first guess")
        daily_runs(ctx, "SCN", STABLE)
        proposal = baseline_proposals.propose(ctx, person(ctx, "ben"), "SCN", "stable").request
    export = ctx.data_dir / "config" / "credit-baselines.json"
    export_before, kinds_before = export.read_bytes(), credit_kinds(ctx)
    ledger_size = (ctx.data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl").stat().st_size
    script = textwrap.dedent("""
        import resource, signal, sys
        from pathlib import Path
        from freezegun import freeze_time
        from jobs.credits.baselines import proposals as baseline_proposals
        from tests.baselines.conftest import NOW, make_context

        ctx = make_context(Path(sys.argv[1]))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
        with freeze_time(NOW):
            try:
                baseline_proposals.approve(ctx, ctx.people.by_name("ana"), sys.argv[2])
            except Exception as exc:
                print(type(exc).__name__, exc)
                sys.exit(3)
    """)
    done = subprocess.run([sys.executable, "-c", script, str(ctx.data_dir), proposal.id, str(ledger_size + 64)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.startswith("LedgerWriteError could not write 2 entries to runs/CREDIT_MONITORING/audit/ledger.jsonl")

    after = approvals.get(ctx, proposal.id)
    assert (after.status, after.decisions) == (Status.PENDING, ())
    assert credit_kinds(ctx) == kinds_before
    assert [b.version for b in store.history(ctx.state, "SCN")] == [1]
    assert export.read_bytes() == export_before
    assert not list(ctx.data_dir.glob("runs/BASELINE_UPDATES/update_*.md"))
    assert all(report.ok for report in verify_ledgers(ctx.settings, ctx.data_dir))
    assert [r.id for r in approvals.pending_for(ctx, person(ctx, "ana"))] == [proposal.id]

    with freeze_time(NOW):
        applied = baseline_proposals.approve(ctx, person(ctx, "ana"), proposal.id)
    decided = approvals.get(ctx, proposal.id)
    assert decided.status is Status.APPROVED and decided.final.approval_id == applied.baseline.approval_id
    assert credit_kinds(ctx)[-2:] == ["approval.decided", "baseline.updated"]


@freeze_time(NOW)
def test_a_decision_taken_first_by_another_o3_is_refused_in_the_change_and_nothing_is_applied(ctx):
    daily_runs(ctx, "SCN", STABLE)
    proposal = baseline_proposals.propose(ctx, person(ctx, "ben"), "SCN", "stable").request
    approvals.decide(ctx, proposal.id, person(ctx, "ana"), Decision.DENIED, proposal.what, note="wait a week")
    with pytest.raises(ApprovalRefused, match="already denied by ana"):
        baselines.update(ctx, person(ctx, "dev"), "SCN", "stable", proposer=person(ctx, "ben"),
                         approval=ProposalApproval(proposal.id, proposal.what),
                         expected_digest=proposal.what["data_digest"])
    assert baselines.current_baseline(ctx, "SCN") is None
    assert not (ctx.data_dir / "config" / "credit-baselines.json").exists()
    assert not list(ctx.data_dir.glob("runs/BASELINE_UPDATES/update_*.md"))
    final = approvals.get(ctx, proposal.id)
    assert final.status is Status.DENIED
    assert (final.decisions[-1].by, bool(final.decisions[-1].refused)) == ("dev", True)
    assert credit_kinds(ctx)[-2:] == ["approval.decided", "command.refused"]
    assert ledger_entries(ctx, "baseline.updated") == []
