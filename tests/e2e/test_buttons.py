"""The alert's buttons on real cases: Approve rerun opens a modal for the mitigation; an empty one is
refused in the modal; a valid one records the same ledger entry as the `APPROVED for rerun` thread reply."""
from __future__ import annotations

import json

from chatops.slack.mode import Mode
from jobs.credits import gates
from jobs.credits.cases.service import all_cases
from jobs.credits.intake.recorder import Recorder
from jobs.credits.records import RerunDecision
from jobs.credits.intake.schema import validate_run
from store.runs_index import RunsIndex
from tests.credits.conftest import raw_run, set_baseline
from tests.e2e.conftest import ANA, BEN, credit_entries, delivered, next_answer
from tests.slack.test_socket_mode import _click, response, slash, thread_reply
from tests.standins.slack import SlackStandIn


def alert_buttons(standin: SlackStandIn, case_id: str) -> dict[str, dict]:
    """The buttons of the alert that opened `case_id`, by label, as Slack would send them back."""
    alert = next(c for c in standin.calls_to("chat.postMessage")
                 if c.params["channel"] == "#ops-alerts" and c.params["text"].startswith(f"SEV1 {case_id}:"))
    return {e["text"]["text"]: json.loads(e["value"]) for b in alert.params["blocks"] if b["type"] == "actions"
            for e in b["elements"]}


def submit(standin: SlackStandIn, user: str, view: dict, value: str) -> str:
    return standin.deliver("interactive", {
        "type": "view_submission", "team": {"id": "T0STANDIN"}, "api_app_id": "A0STANDIN", "user": {"id": user},
        "view": {"id": "V1", "type": "modal", "callback_id": view["callback_id"],
                 "private_metadata": view["private_metadata"],
                 "state": {"values": {"input": {"text": {"type": "plain_text_input", "value": value}}}}}})


def test_approve_button_modal_records_the_same_approval_as_the_thread_reply(deployment, standin):
    ctx = deployment.ctx
    for scenario in ("scn-a", "scn-b"):
        set_baseline(ctx, scenario, 100.0)
    deployment.start(Mode.SOCKET)
    Recorder(ctx).record([validate_run(raw_run(run_id="run_a", scenario="scn-a", credits=700.0)),
                          validate_run(raw_run(run_id="run_b", scenario="scn-b", credits=700.0))])
    threads = {}
    for case_id in ("CASE-1", "CASE-2"):
        sent = delivered(ctx, case_id, "#ops-alerts")
        threads[case_id] = (sent["channel"], sent["ts"])
        buttons = alert_buttons(standin, case_id)
        standin.wait_ack(_click(standin, BEN, *threads[case_id], buttons["ACK"]))
        envelope, n = slash(standin, ANA, f"case root-cause {case_id} Misconfig")
        standin.wait_ack(envelope)
        assert response(standin, n)["text"] == f"{case_id}: Root_Cause = Misconfig (Status: Investigating)"
    channel, parent = threads["CASE-1"]
    assert next_answer(standin, parent, 0) == f"<@{BEN}> recorded: ACK recorded: ben investigating CASE-1 (Status: Investigating)"

    # -- Approve rerun opens the modal ------------------------------------------------------------
    approve = alert_buttons(standin, "CASE-1")["Approve rerun"]
    assert approve == {"command": "rerun approve", "target": "CASE-1", "needs": "mitigation"}
    assert standin.wait_ack(_click(standin, ANA, channel, parent, approve)).seconds < 3
    opened = standin.wait_for(lambda s: s.calls_to("views.open"))[0]
    view = opened.params["view"]
    assert opened.params["trigger_id"] and view["type"] == "modal"
    assert "`/ops rerun approve CASE-1`" in json.dumps(view) and "Mitigation" in json.dumps(view)

    # -- an empty mitigation: the field error, nothing recorded -----------------------------------
    empty = standin.wait_ack(submit(standin, ANA, view, "   "))
    assert empty.payload == {"response_action": "errors", "errors": {"input": "the mitigation is required"}}
    assert "rerun.approved" not in [e["kind"] for e in credit_entries(ctx)]
    assert not gates.dispatch_gate(ctx, "scn-a", RunsIndex.open(ctx.data_dir)).allowed

    # -- a valid one: recorded, answered in the thread, the gate opens ----------------------------
    standin.wait_ack(submit(standin, ANA, view, "max_items now 1000"))
    assert next_answer(standin, parent, 1).startswith(
        f"<@{ANA}> recorded: APPROVED for rerun - max_items now 1000 (CASE-1, O3-ana-")
    assert gates.dispatch_gate(ctx, "scn-a", RunsIndex.open(ctx.data_dir)).allowed

    # -- the same approval by thread reply on the other case: the same ledger entry ---------------
    thread_reply(standin, *threads["CASE-2"], ANA, "approved for rerun - max_items now 1000", "1700000300.000001")
    next_answer(standin, threads["CASE-2"][1], 1)
    by_modal, by_reply = [e for e in credit_entries(ctx) if e["kind"] == "rerun.approved"]
    assert (by_modal["actor"], by_modal["role"], by_modal["data"]["case"]) == (ANA, "O3", "CASE-1")
    assert (by_reply["actor"], by_reply["role"], by_reply["data"]["case"]) == (ANA, "O3", "CASE-2")
    assert by_modal["data"].keys() == by_reply["data"].keys()
    assert by_modal["data"]["mitigation"] == by_reply["data"]["mitigation"] == "max_items now 1000"
    assert [c.rerun_decision for c in all_cases(ctx)] == [RerunDecision.APPROVED, RerunDecision.APPROVED]
