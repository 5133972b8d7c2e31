"""Socket Mode end to end: the real Bolt app and Socket Mode client against the stand-in's WebSocket, the
real commands on a real case (opened by recording a real run), and the tests' own area for slow work."""
from __future__ import annotations

import json
import threading
import time

import pytest

from chatops.render.blocks import button_value
from chatops.slack.mode import Mode
from chatops.slack.runtime import start_slack
from jobs import approvals
from jobs.actors import DAEMON, Permission
from jobs.notices import Notice
from store.outbox import Outbox
from tests.slack import area
from tests.slack.conftest import open_case, poll
from tests.standins.slack import APP_TOKEN, BOT_TOKEN, SlackStandIn

ENV = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}
ANA, BEN, CLEO, STRANGER = "U0ANA00001", "U0BEN00002", "U0CLEO0003", "U0STRANGER"


@pytest.fixture
def running(iface):
    runtime = start_slack(iface, Mode.SOCKET, ENV)
    yield runtime
    runtime.stop()


@pytest.fixture
def alert(iface, standin, running):
    """The SEV1 alert of a real case (CASE-1) posted by the worker; returns (channel id, thread parent ts)."""
    assert open_case(iface.ctx) == "CASE-1"
    post = standin.wait_for(lambda s: [c for c in s.calls_to("chat.postMessage") if "CASE-1" in c.params["text"]])[0]
    sent = poll(lambda: [m for m in Outbox(iface.ctx.data_dir).messages()
                         if m.final and m.item["notice"]["subject"] == "CASE-1"], what="alert marked sent")
    assert post.params["channel"] == "#ops-alerts"
    return sent[0].final["channel"], sent[0].final["ts"]


def credit_ledger(ctx) -> list[dict]:
    path = ctx.data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


ACKED = "ACK recorded: ben investigating CASE-1 (Status: Investigating)"


def slash(standin: SlackStandIn, user: str, text: str) -> tuple[str, str]:
    url = standin.response_url()
    envelope = standin.deliver("slash_commands", {
        "token": "x", "team_id": "T0STANDIN", "api_app_id": "A0STANDIN", "channel_id": "C0OPS", "user_id": user,
        "command": "/ops", "text": text, "response_url": url, "trigger_id": "1.2.3"})
    return envelope, url.rsplit("/", 1)[1]


def response(standin: SlackStandIn, n: str) -> dict:
    return standin.wait_for(lambda s: [r for r in s.responses if r["n"] == n])[0]


def thread_reply(standin: SlackStandIn, channel: str, parent: str, user: str, text: str, ts: str,
                 **extra: str) -> str:
    return standin.deliver("events_api", {
        "token": "x", "team_id": "T0STANDIN", "api_app_id": "A0STANDIN", "type": "event_callback",
        "event_id": f"Ev{ts}", "event_time": 1700000000,
        "event": {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
                  "thread_ts": parent, "channel_type": "channel", **extra}})


def answers(standin: SlackStandIn, parent: str) -> list[str]:
    return [c.params["text"] for c in standin.calls_to("chat.postMessage")
            if c.params.get("thread_ts") == parent]


def wait_answer(standin: SlackStandIn, parent: str, count: int) -> list[str]:
    return standin.wait_for(lambda s: len(answers(s, parent)) >= count and answers(s, parent))


def ledger(ctx) -> list[dict]:
    path = ctx.data_dir / "operations" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_slash_help_is_acked_and_answered_for_the_caller(standin, running):
    envelope, n = slash(standin, CLEO, "help")
    assert standin.wait_ack(envelope).seconds < 3
    text = response(standin, n)["text"]
    assert "/ops commands you may run:" in text and "rerun approve" in text.split("needs another role:")[1]
    assert "[needs O3]" in text


def test_unknown_slack_user_may_read_help_and_nothing_else(iface, standin, running):
    envelope, n = slash(standin, STRANGER, "help")
    standin.wait_ack(envelope)
    assert "not in chatops's [people] configuration" in response(standin, n)["text"]
    envelope, n = slash(standin, STRANGER, "case ack CASE-1")
    standin.wait_ack(envelope)
    assert response(standin, n)["text"] == "refused: case ack needs role O2; you have no role"
    refused = [e for e in credit_ledger(iface.ctx) if e["kind"] == "command.refused"]
    assert (refused[-1]["actor"], refused[-1]["data"]["subject"]) == (STRANGER, "CASE-1")


def test_ack_comes_before_slow_work_finishes(standin, running):
    gate = area.SLOW_GATES["socket"] = threading.Event()
    envelope, n = slash(standin, CLEO, "slow socket")
    ack = standin.wait_ack(envelope)
    assert ack.seconds < 3 and not [r for r in standin.responses if r["n"] == n]
    gate.set()
    assert response(standin, n)["text"] == "slow socket done"


def test_slow_work_in_progress_holds_back_neither_acks_nor_other_answers(standin, running):
    """The work runs after the ack, off the app's loop, several at a time: two commands still working do
    not delay a third person's ack or answer."""
    gates = [area.SLOW_GATES.setdefault(key, threading.Event()) for key in ("held-1", "held-2")]
    slow = [slash(standin, CLEO, f"slow held-{n}") for n in (1, 2)]
    for envelope, _ in slow:
        standin.wait_ack(envelope)
    envelope, n = slash(standin, CLEO, "help")
    assert standin.wait_ack(envelope).seconds < 3
    assert "/ops" in response(standin, n)["text"]
    assert not [r for r in standin.responses if r["n"] in {m for _, m in slow}]   # both still working
    for gate in gates:
        gate.set()
    assert [response(standin, m)["text"] for _, m in slow] == ["slow held-1 done", "slow held-2 done"]


def test_slash_answers_that_bypass_the_outbox_are_masked_too(standin, running):
    envelope, n = slash(standin, CLEO, "slow xoxb-2847561093-5918273640-Qw7ErT9yUi3OpA5sDf8GhJk2")   # fails naming it
    standin.wait_ack(envelope)
    text = response(standin, n)["text"]
    assert text.startswith("refused: slow failed:") and "[REDACTED:slack-bot-token:" in text and "xoxb-2847" not in text


def mine(standin: SlackStandIn, parent: str) -> list[str]:
    """The answers to people in the thread (the case's own updates are posted there too)."""
    return [text for text in answers(standin, parent) if text.startswith("<@")]


def wait_mine(standin: SlackStandIn, parent: str, count: int) -> list[str]:
    return standin.wait_for(lambda s: len(mine(s, parent)) >= count and mine(s, parent))


def test_thread_replies_run_the_runbook_commands_and_answer_in_the_thread(iface, standin, running, alert):
    channel, parent = alert
    thread_reply(standin, channel, parent, BEN, "ACK - O2 ben investigating CASE-1", "1700000100.000001")
    assert wait_mine(standin, parent, 1)[-1] == f"<@{BEN}> recorded: {ACKED}"
    thread_reply(standin, channel, parent, BEN, "DENIED - not yet", "1700000100.000002")
    assert wait_mine(standin, parent, 2)[-1] == f"<@{BEN}> refused: DENIED needs role O3; you have O2, chief.staff"
    thread_reply(standin, channel, parent, ANA, "approved for rerun", "1700000100.000003")
    assert "APPROVED for rerun - <mitigation>" in wait_mine(standin, parent, 3)[-1]
    thread_reply(standin, channel, parent, ANA, "DENIED - --force was wrong, root cause unknown", "1700000100.000004")
    assert wait_mine(standin, parent, 4)[-1].startswith(
        f"<@{ANA}> recorded: DENIED - --force was wrong, root cause unknown (CASE-1, O3-ana-")
    thread_reply(standin, channel, parent, ANA, "ACK - O3 ana investigating CASE-13", "1700000100.000005")
    assert "this thread is about CASE-1, but your ACK names CASE-13" in wait_mine(standin, parent, 5)[-1]
    entries = credit_ledger(iface.ctx)
    kinds = [(e["kind"], e["actor"]) for e in entries]
    assert ("alert.acked", BEN) in kinds and ("rerun.denied", ANA) in kinds
    [refused] = [e for e in entries if e["kind"] == "command.refused"]
    assert (refused["actor"], refused["data"]["command"], refused["data"]["subject"]) == (BEN, "rerun deny", "CASE-1")
    [denied] = [e for e in entries if e["kind"] == "rerun.denied"]
    assert denied["data"]["reason"] == "--force was wrong, root cause unknown"


def test_conversation_in_the_thread_is_not_answered(standin, running, alert):
    channel, parent = alert
    thread_reply(standin, channel, parent, BEN, "looking at it now", "1700000200.000001")
    thread_reply(standin, channel, parent, BEN, "ACK", "1700000200.000002")
    assert wait_mine(standin, parent, 1) == [f"<@{BEN}> recorded: {ACKED}"]


def test_a_reply_also_sent_to_the_channel_counts_and_an_edit_does_not(iface, standin, running, alert):
    channel, parent = alert
    thread_reply(standin, channel, parent, BEN, "ACK", "1700000250.000001", subtype="thread_broadcast")
    assert wait_mine(standin, parent, 1)[-1] == f"<@{BEN}> recorded: {ACKED}"
    thread_reply(standin, channel, parent, CLEO, "ACK", "1700000250.000002", subtype="message_changed")
    thread_reply(standin, channel, parent, BEN, "ACK", "1700000250.000003", subtype="file_share")
    assert wait_mine(standin, parent, 2)[1].startswith(f"<@{BEN}> refused: case ack CASE-1 refused: CASE-1 was already "
                                                       "acknowledged by ben")   # the file share counted; the edit did not
    assert [e["actor"] for e in credit_ledger(iface.ctx) if e["kind"] in ("alert.acked", "command.refused")] == [BEN] * 2


def _click(standin: SlackStandIn, user: str, channel: str, parent: str, action: dict) -> str:
    return standin.deliver("interactive", {
        "type": "block_actions", "team": {"id": "T0STANDIN"}, "api_app_id": "A0STANDIN", "user": {"id": user},
        "channel": {"id": channel}, "container": {"type": "message", "message_ts": parent, "channel_id": channel},
        "message": {"ts": parent, "text": "alert"}, "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "response_url": standin.response_url(),
        "actions": [{"type": "button", "action_id": "ops_action_0", "block_id": "ops_actions",
                     "value": button_value(action, "CASE-1"), "action_ts": "1700000300.1"}]})


def test_button_runs_the_command_as_the_clicker(iface, standin, running, alert):
    channel, parent = alert
    standin.wait_ack(_click(standin, BEN, channel, parent, {"command": "case ack"}))
    assert wait_mine(standin, parent, 1)[-1] == f"<@{BEN}> recorded: {ACKED}"
    standin.wait_ack(_click(standin, CLEO, channel, parent, {"command": "case ack"}))
    assert wait_mine(standin, parent, 2)[-1] == f"<@{CLEO}> refused: case ack needs role O2; you have O1"


def test_button_that_needs_a_mitigation_opens_a_modal_and_the_submission_approves(iface, standin, running, alert):
    channel, parent = alert
    iface.run_text(ANA, "case ack CASE-1")
    iface.run_text(ANA, 'case root-cause CASE-1 Misconfig --note "max_items missing"')
    standin.wait_ack(_click(standin, ANA, channel, parent, {"command": "rerun approve", "needs": "mitigation"}))
    view = standin.wait_for(lambda s: s.calls_to("views.open"))[0].params["view"]
    assert view["callback_id"] == "ops_modal"

    def submit(value: str) -> str:
        return standin.deliver("interactive", {
            "type": "view_submission", "team": {"id": "T0STANDIN"}, "api_app_id": "A0STANDIN", "user": {"id": ANA},
            "view": {"id": "V1", "type": "modal", "callback_id": "ops_modal", "private_metadata": view["private_metadata"],
                     "state": {"values": {"input": {"text": {"type": "plain_text_input", "value": value}}}}}})

    empty = standin.wait_ack(submit("  "))
    assert empty.payload == {"response_action": "errors", "errors": {"input": "the mitigation is required"}}
    standin.wait_ack(submit("--max-items 1000 set, retry loop fixed"))
    assert wait_mine(standin, parent, 1)[-1].startswith(
        f"<@{ANA}> recorded: APPROVED for rerun - --max-items 1000 set, retry loop fixed (CASE-1, O3-ana-")


def test_button_needing_a_role_the_clicker_lacks_is_refused_without_a_modal(iface, standin, running, alert):
    channel, parent = alert
    standin.wait_ack(_click(standin, BEN, channel, parent, {"command": "rerun deny", "needs": "reason"}))
    refusal = standin.wait_for(lambda s: s.responses)[0]
    assert refusal["text"] == "refused: rerun deny needs role O3; you have O2, chief.staff"
    assert not standin.calls_to("views.open")
    refused = [e for e in credit_ledger(iface.ctx) if e["kind"] == "command.refused"][-1]
    assert (refused["actor"], refused["data"]["subject"]) == (BEN, "CASE-1")


def test_app_home_shows_what_needs_the_viewer(iface, standin, running):
    approvals.request(iface.ctx, "rerun", "CASE-40", {"case": "CASE-40"}, DAEMON, Permission.RERUN_DECIDE)
    standin.deliver("events_api", {"token": "x", "team_id": "T0STANDIN", "api_app_id": "A0STANDIN",
                                   "type": "event_callback", "event_id": "EvHome", "event_time": 1700000000,
                                   "event": {"type": "app_home_opened", "user": ANA, "channel": "D1", "tab": "home"}})
    published = standin.wait_for(lambda s: s.calls_to("views.publish"))[0]
    assert published.params["user_id"] == ANA
    assert "CASE-40" in json.dumps(published.params["view"])


def test_stop_is_prompt_while_slack_holds_a_delivery_open(iface, standin):
    runtime = start_slack(iface, Mode.SOCKET, ENV)
    standin.hang(1)
    iface.ctx.notifier.send(Notice(kind="credits.alert", subject="CASE-70", channel="#ops-alerts", text="SEV1"))
    standin.wait_for(lambda s: [c for c in s.calls if c.method == "chat.postMessage" and c.status == 0])
    started = time.monotonic()
    runtime.stop()
    assert time.monotonic() - started < 4           # the daemon's whole stop must fit in 5 s
    [message] = Outbox(iface.ctx.data_dir).messages()
    assert message.pending                          # not marked sent: delivered again at the next start
