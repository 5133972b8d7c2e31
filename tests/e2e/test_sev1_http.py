"""SEV1 end to end in HTTP mode: `chatops runs record` → alert in #ops-alerts → the runbook's thread
replies, each signed as Slack signs it, role-checked in the domain, answered in the thread, in the ledger."""
from __future__ import annotations

import json

from chatops.slack.mode import Mode
from jobs.credits import gates
from jobs.credits.cases.service import all_cases
from jobs.credits.records import CaseStatus, RerunDecision
from store.runs_index import RunsIndex
from tests.conftest import run_cli
from tests.credits.conftest import raw_run, set_baseline
from tests.e2e.conftest import (ANA, BEN, CLEO, DEV, credit_entries, delivered, next_answer,
                                signed_slash, signed_thread_reply)
from tests.standins.slack import BOT_TOKEN


def test_sev1_alert_and_thread_replies_are_role_checked_answered_and_recorded(deployment, standin, tmp_path):
    ctx = deployment.ctx
    set_baseline(ctx, "scn-invoice", 100.0)                      # the runbook's manual baseline (O3)
    deployment.start(Mode.HTTP)
    run_file = tmp_path / "run.json"
    run_file.write_text(json.dumps(raw_run(run_id="run_s1", credits=560.0, Risk_Flags=["retry_loop"],
                                           has_max_items_config=False)))
    recorded = run_cli("runs", "record", str(run_file), "--as", "ana", config=deployment.config,
                       env={"SLACK_BOT_TOKEN": BOT_TOKEN})
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "SEV1" in recorded.stdout and "CASE-1" in recorded.stdout

    # -- the alert, as the operator sees it in #ops-alerts --------------------------------------------
    sent = delivered(ctx, "CASE-1", "#ops-alerts")
    channel, parent = sent["channel"], sent["ts"]
    [alert] = [c for c in standin.calls_to("chat.postMessage") if c.params["channel"] == "#ops-alerts"]
    text = alert.params["text"]
    assert text.startswith("SEV1 CASE-1: run run_s1 of scn-invoice")
    assert "560.00 credits vs baseline 100.00 (5.6×)" in text
    assert "Risk flags: retry_loop" in text and "misconfig likelihood High" in text
    blocks = json.dumps(alert.params["blocks"], ensure_ascii=False)
    for shown in ("*Severity:* SEV1", "*Run:* `run_s1`", "*Case:* CASE-1", "*Credits:* 560.0 vs baseline 100.0 (5.6×)",
                  "*Risk flags:* `retry_loop`", "*Done automatically:*", "CASE-1 opened", "*Required:*",
                  "ACK by an O2 or O3 within 60 min", "APPROVED for rerun - <mitigation>"):
        assert shown in blocks, shown
    buttons = [e for b in alert.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == ["ACK", "Approve rerun", "Deny rerun"]
    index = RunsIndex.open(ctx.data_dir)
    assert not gates.dispatch_gate(ctx, "scn-invoice", index).allowed

    # -- ACK from an O1: refused in the thread, recorded -------------------------------------------
    assert signed_thread_reply(deployment.port, channel, parent, CLEO, "ACK", "1700000100.000001") == 200
    assert next_answer(standin, parent, 0) == f"<@{CLEO}> refused: ACK needs role O2; you have O1"
    refused = [e for e in credit_entries(ctx) if e["kind"] == "command.refused"]
    assert [(e["actor"], e["data"]["command"]) for e in refused] == [(CLEO, "case ack")]
    assert all_cases(ctx)[0].awaiting_ack

    # -- ack from an O2, lowercase with odd spacing: recorded, the original message edited ---------
    signed_thread_reply(deployment.port, channel, parent, BEN, "   ack  ", "1700000100.000002")
    assert next_answer(standin, parent, 1) == (
        f"<@{BEN}> recorded: ACK recorded: ben investigating CASE-1 (Status: Investigating)")
    [case] = all_cases(ctx)
    assert case.status is CaseStatus.INVESTIGATING and case.acked_by == "ben"
    acked = [e for e in credit_entries(ctx) if e["kind"] == "alert.acked"]
    assert [(e["actor"], e["role"], e["data"]["case"]) for e in acked] == [(BEN, "O2", "CASE-1")]
    update = standin.wait_for(lambda s: s.calls_to("chat.update"))[0]
    assert (update.params["channel"], update.params["ts"]) == (channel, parent)
    assert update.params["text"] == "ACK recorded: ben (O2) is investigating CASE-1"

    # -- an approval without its mitigation: refused with the expected form -----------------------
    signed_thread_reply(deployment.port, channel, parent, ANA, "APPROVED for rerun", "1700000100.000003")
    assert next_answer(standin, parent, 2) == (
        f"<@{ANA}> refused: an approval needs the mitigation: reply `APPROVED for rerun - <mitigation>`")

    # -- DENIED from an O2: needs O3 ---------------------------------------------------------------
    signed_thread_reply(deployment.port, channel, parent, BEN, "DENIED - root cause not yet identified",
                        "1700000100.000004")
    assert next_answer(standin, parent, 3) == f"<@{BEN}> refused: DENIED needs role O3; you have O2, chief.staff"

    # -- the root cause, set by an O3 with /ops; then APPROVED (en dash) ---------------------------
    answer = signed_slash(deployment.port, standin, ANA, 'case root-cause CASE-1 Misconfig --note "retry loop"')
    assert answer == "CASE-1: Root_Cause = Misconfig (Status: Investigating)"
    assert not gates.dispatch_gate(ctx, "scn-invoice", index).allowed
    signed_thread_reply(deployment.port, channel, parent, ANA, "APPROVED for rerun – max_items now 1000",
                        "1700000100.000005")
    approved_answer = next_answer(standin, parent, 4)
    assert approved_answer.startswith(f"<@{ANA}> recorded: APPROVED for rerun - max_items now 1000 (CASE-1, O3-ana-")
    [case] = all_cases(ctx)
    assert case.rerun_decision is RerunDecision.APPROVED and case.rerun_decision_text == "max_items now 1000"
    gate = gates.dispatch_gate(ctx, "scn-invoice", index)
    assert gate.allowed, gate.describe()
    cli_gate = run_cli("gate", "rerun", "scn-invoice", config=deployment.config)
    assert cli_gate.returncode == 0 and cli_gate.stdout.startswith("allowed: scn-invoice")

    # -- a later DENIED from another O3: the first decision wins; refused and recorded ------------
    signed_thread_reply(deployment.port, channel, parent, DEV, "DENIED - not convinced", "1700000100.000006")
    assert next_answer(standin, parent, 5) == (
        f"<@{DEV}> refused: rerun deny CASE-1 refused: CASE-1 was already APPROVED for rerun by ana "
        f"({case.approval_id}); the first approval stands until a rerun spikes again")
    ledger = credit_entries(ctx)
    assert [(e["actor"], e["data"]["mitigation"]) for e in ledger if e["kind"] == "rerun.approved"] == [
        (ANA, "max_items now 1000")]
    refusals = [(e["actor"], e["data"]["command"]) for e in ledger if e["kind"] == "command.refused"]
    assert refusals[-1] == (DEV, "rerun deny")    # the late decision, after the role refusals
    assert "rerun.denied" not in [e["kind"] for e in ledger]
    assert all_cases(ctx)[0].rerun_decision is RerunDecision.APPROVED
    assert gates.dispatch_gate(ctx, "scn-invoice", index).allowed
