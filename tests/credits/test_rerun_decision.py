"""A rerun decision and its effect are one commit: request, decision and `rerun.approved` together or not at all."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta

from freezegun import freeze_time

from jobs import approvals
from jobs.audit import verify_ledgers
from jobs.credits import gates
from jobs.credits.cases import flows
from jobs.credits.cases.service import all_cases
from jobs.credits.gates import RERUN_APPROVAL_KIND
from jobs.credits.records import RerunDecision, RootCause
from jobs.credits.intake.schema import validate_run
from tests.conftest import REPO
from tests.credits.conftest import START, entries, raw_run, set_baseline

DECIDED_AT = START + timedelta(minutes=10)

APPROVE_WITH_A_LEDGER_THAT_CANNOT_GROW = textwrap.dedent("""
    import resource, signal, sys
    from pathlib import Path
    from freezegun import freeze_time
    from chatops.config import load_config
    from jobs.compose import build_context
    from jobs.credits.cases import flows
    from jobs.credits.records import RerunDecision

    loaded = load_config(Path(sys.argv[1]))
    ctx = build_context(loaded.settings, loaded.data_dir)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
    with freeze_time(sys.argv[3]):
        try:
            flows.decide_rerun(ctx, ctx.people.by_name("ana"), "CASE-1", RerunDecision.APPROVED,
                                 "max_items now 1000")
        except Exception as exc:
            print(type(exc).__name__, exc)
            sys.exit(3)
""")


def test_a_failed_ledger_write_leaves_no_request_no_decision_and_the_rerun_gate_closed(ctx, recorder, config_file):
    with freeze_time(START):
        set_baseline(ctx, "scn-invoice", 100.0)
        recorder.record([validate_run(raw_run(run_id="run_s", credits=700.0, Risk_Flags=["retry_loop"]))])
    with freeze_time(START + timedelta(minutes=5)):
        flows.ack(ctx, ctx.people.by_name("ben"), "CASE-1")
        flows.root_cause(ctx, ctx.people.by_name("ana"), "CASE-1", RootCause.MISCONFIG)
    credit = ctx.data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    operations = ctx.data_dir / "operations" / "ledger.jsonl"
    credit_before = credit.read_bytes()
    operations_before = operations.read_bytes() if operations.exists() else b""

    done = subprocess.run([sys.executable, "-c", APPROVE_WITH_A_LEDGER_THAT_CANNOT_GROW, str(config_file),
                           str(len(credit_before) + 64), DECIDED_AT.isoformat()],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.startswith("LedgerWriteError could not write 3 entries to "
                                  "runs/CREDIT_MONITORING/audit/ledger.jsonl")

    assert credit.read_bytes() == credit_before
    assert (operations.read_bytes() if operations.exists() else b"") == operations_before
    assert approvals.latest(ctx, RERUN_APPROVAL_KIND, "CASE-1") is None
    [case] = all_cases(ctx)
    assert (case.rerun_decision, case.approval_id, case.rerun_decided_by) == (None, "", "")
    gate = gates.dispatch_gate(ctx, "scn-invoice", recorder.index)
    assert not gate.allowed and "needs an O3 `APPROVED for rerun" in gate.describe()
    assert all(report.ok for report in verify_ledgers(ctx.settings, ctx.data_dir))

    with freeze_time(DECIDED_AT):
        approved = flows.decide_rerun(ctx, ctx.people.by_name("ana"), "CASE-1", RerunDecision.APPROVED,
                                        "max_items now 1000")
    requested, decided, effect = entries(ctx)[-3:]
    assert [e["kind"] for e in (requested, decided, effect)] == ["approval.requested", "approval.decided",
                                                                  "rerun.approved"]
    request = approvals.latest(ctx, RERUN_APPROVAL_KIND, "CASE-1")
    assert request.ledger == "credit" and request.final.approval_id == approved.approval_id
    assert requested["data"]["request"] == decided["data"]["request"] == request.id
    assert effect["data"]["approval_request"] == request.id
    assert decided["data"]["approval_id"] == effect["data"]["approval_id"] == approved.approval_id
    assert (operations.read_bytes() if operations.exists() else b"") == operations_before
    assert gates.dispatch_gate(ctx, "scn-invoice", recorder.index).allowed
