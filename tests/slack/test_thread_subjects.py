"""Threads route by subject: a thread bound to a subject of any kind takes the replies its area declares.

The `drill` kind is the tests' own area (tests/slack/area.py), standing for the incidents and export PRs
to come: the Slack layer finds the thread's subject through its binding, asks the drill area what a
reply means, and runs that command through the one gate with the text as typed. Real Socket Mode,
real delivery, real ledger.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from chatops.slack.mode import Mode
from chatops.slack.runtime import start_slack
from jobs.notices import Notice
from store import slack_threads
from store.outbox import Outbox
from tests.slack.conftest import poll
from tests.slack.test_socket_mode import ENV, ledger, thread_reply, wait_mine

BEN, CLEO = "U0BEN00002", "U0CLEO0003"


@pytest.fixture
def drill_thread(iface, standin):
    """A notice about DRILL-7 bound to the `drill` kind, posted; returns (channel id, parent ts)."""
    runtime = start_slack(iface, Mode.SOCKET, ENV)
    iface.ctx.notifier.send(Notice(kind="drill.started", subject="DRILL-7", subject_kind="drill",
                                   channel="#ops-alerts", text="Drill DRILL-7 started: restore from backup"))
    sent = poll(lambda: [m for m in Outbox(iface.ctx.data_dir).messages() if m.final], what="drill notice sent")[0]
    yield sent.final["channel"], sent.final["ts"]
    runtime.stop()


def test_a_thread_is_bound_to_its_subjects_kind_and_id(iface, drill_thread):
    channel, parent = drill_thread
    thread = slack_threads.by_parent(iface.ctx.state, channel, parent)
    assert (thread.subject_kind, thread.subject) == ("drill", "DRILL-7")


def test_replies_in_a_non_case_thread_are_read_by_its_area_and_pass_the_gate(iface, standin, drill_thread):
    channel, parent = drill_thread
    thread_reply(standin, channel, parent, BEN, "ACK", "1700000400.000001")        # a case's reply: conversation here
    thread_reply(standin, channel, parent, BEN, "DONE", "1700000400.000002")
    assert wait_mine(standin, parent, 1) == [f"<@{BEN}> refused: a drill is closed with a note: reply `DONE - <note>`"]
    thread_reply(standin, channel, parent, CLEO, "DONE - restored", "1700000400.000003")
    assert wait_mine(standin, parent, 2)[-1] == f"<@{CLEO}> refused: DONE needs role O2; you have O1"
    thread_reply(standin, channel, parent, BEN, "done - --dry-run first, then restored in 4 min", "1700000400.000004")
    assert wait_mine(standin, parent, 3)[-1] == (
        f"<@{BEN}> recorded: DRILL-7 done by ben: --dry-run first, then restored in 4 min")
    entries = ledger(iface.ctx)
    [refused] = [e for e in entries if e["kind"] == "command.refused"]
    assert (refused["actor"], refused["data"]["command"], refused["data"]["subject_kind"],
            refused["data"]["subject"]) == (CLEO, "drill done", "drill", "DRILL-7")
    [done] = [e for e in entries if e["kind"] == "drill.done"]
    assert done["data"] == {"drill": "DRILL-7", "note": "--dry-run first, then restored in 4 min"}


def test_a_thread_whose_notice_named_no_kind_takes_no_replies(iface, standin):
    runtime = start_slack(iface, Mode.SOCKET, ENV)
    try:
        iface.ctx.notifier.send(Notice(kind="note", subject="BASELINE-x", channel="#ops-alerts", text="fyi"))
        sent = poll(lambda: [m for m in Outbox(iface.ctx.data_dir).messages() if m.final], what="sent")[0]
        assert iface.thread_reply(sent.final["channel"], sent.final["ts"], BEN, "DONE - x") is None
        assert iface.thread_reply(sent.final["channel"], sent.final["ts"], BEN, "ACK") is None
    finally:
        runtime.stop()
    assert not [e for e in ledger(iface.ctx) if e["kind"] in ("drill.done", "command.refused")]


def test_a_legacy_binding_that_named_its_case_is_read_as_a_case_subject(iface):
    with iface.ctx.state.transaction() as db:
        db.table(slack_threads.TABLE).insert({"subject": "CASE-3", "channel": "#ops-alerts", "channel_id": "C1",
                                              "ts": "1.2", "case": "CASE-3"})
    thread = slack_threads.by_parent(iface.ctx.state, "C1", "1.2")
    assert (thread.subject_kind, thread.subject) == ("case", "CASE-3")


def test_the_generic_slack_layer_names_no_area():
    """What a subject accepts is its area's business: no case ids, case fields or area imports here."""
    root = Path(__file__).resolve().parents[2] / "chatops"
    for path in [*sorted((root / "slack").glob("*.py")), root / "notify.py"]:
        source = path.read_text()
        for mark in ("CASE-", '"case"', "jobs.credits", "chatops.commands"):
            assert mark not in source, f"{path.name} names {mark}"
