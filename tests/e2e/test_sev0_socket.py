"""SEV0 end to end in Socket Mode: quarantine, blocked gate, #ops-critical, and the 15-minute ACK timer
with time moved by freezegun: re-notification and DMs to the O3s at each interval until an O2 clicks ACK."""
from __future__ import annotations

import hashlib
import subprocess
from datetime import timedelta

from freezegun import freeze_time

from chatops.slack.mode import Mode
from jobs.credits import gates
from jobs.credits.cases.service import all_cases
from jobs.credits.intake.recorder import Recorder
from jobs.credits.records import CaseStatus, Severity
from jobs.credits.intake.schema import validate_run
from jobs.credits.cases.timers import check_ack_deadlines
from store.outbox import Outbox
from store.runs_index import RunsIndex
from tests.credits.conftest import START, raw_run, set_baseline
from tests.e2e.conftest import BEN, credit_entries, delivered, next_answer
from tests.slack.test_socket_mode import _click

#: What keeps real time while the domain's clock is frozen: the Slack clients, the stand-in and the
#: tests' own bounded waits (asyncio loops see real monotonic time through `real_asyncio`).
REAL_TIME = ["slack_sdk", "slack_bolt", "aiohttp", "tests.standins", "tests.slack", "tests.e2e.conftest"]
O3_DMS = {"ana": "DU0ANA00001", "dev": "DU0DEV00004"}   # the stand-in's conversations.open answers


def dms(standin) -> dict[str, list[str]]:
    posts = standin.calls_to("chat.postMessage")
    return {name: [c.params["text"] for c in posts if c.params["channel"] == channel] for name, channel in O3_DMS.items()}


def reminders_in_thread(standin, parent: str) -> list[str]:
    return [c.params["text"] for c in standin.calls_to("chat.postMessage")
            if c.params.get("thread_ts") == parent and "is still not acknowledged" in c.params["text"]]


def test_sev0_is_quarantined_alerted_and_renotified_until_an_o2_clicks_ack(deployment, standin):
    ctx = deployment.ctx
    with freeze_time(START, real_asyncio=True, ignore=REAL_TIME) as clock:
        deployment.start(Mode.SOCKET)
        set_baseline(ctx, "scn-invoice", 100.0)
        [outcome] = Recorder(ctx).record([validate_run(raw_run(
            run_id="run_pii", credits=1500.0, Risk_Flags=["pii_exposure", "unbounded_iterator"],
            pii_data_source=True))])
        assert (outcome.severity, outcome.case_id) == ("SEV0", "CASE-1")

        # -- automatic actions: quarantine with the hash kept, dispatch blocked -----------------------
        held = ctx.data_dir / "runs" / "QUARANTINE" / "run_pii" / "run_pii.json"
        assert held.is_file() and not (ctx.data_dir / "runs" / "CREDIT_MONITORING" / "2026-11-22" / "run_pii.json").exists()
        check = subprocess.run(["sha256sum", "-c", "run_pii.json.sha256"], cwd=held.parent, capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        moved = next(e for e in credit_entries(ctx) if e["kind"] == "quarantine.moved")
        assert moved["data"]["sha256"] == hashlib.sha256(held.read_bytes()).hexdigest()
        index = RunsIndex.open(ctx.data_dir)
        assert "quarantined" in gates.dispatch_gate(ctx, "run_pii", index).describe()
        assert not gates.dispatch_gate(ctx, "scn-invoice", index).allowed

        # -- the alert in #ops-critical ------------------------------------------------------------
        sent = delivered(ctx, "CASE-1", "#ops-critical")
        channel, parent = sent["channel"], sent["ts"]
        alert = next(c for c in standin.calls_to("chat.postMessage") if c.params["channel"] == "#ops-critical")
        assert alert.params["text"].startswith("SEV0 CASE-1: run run_pii of scn-invoice")
        assert "1,500.00 credits vs baseline 100.00 (15.0×)" in alert.params["text"]
        assert "artifacts quarantined to runs/QUARANTINE/run_pii/" in alert.params["text"]

        # -- no ACK within 15 minutes: re-notified in the thread, DMs to every O3 -------------------
        for minute, expected in ((14, 0), (15, 1), (16, 1), (29, 1), (30, 2)):
            clock.move_to(START + timedelta(minutes=minute))
            check_ack_deadlines(ctx)
            standin.wait_for(lambda s: len(reminders_in_thread(s, parent)) == expected
                             and all(len(texts) == expected for texts in dms(s).values()))
        assert {c.params["users"] for c in standin.calls_to("conversations.open")} == {"U0ANA00001", "U0DEV00004"}
        for texts in dms(standin).values():
            assert "ACK was due 0 min ago" in texts[0] and "ACK was due 15 min ago" in texts[1]
        edits = [c for c in standin.calls_to("chat.update") if c.params["ts"] == parent]
        assert len(edits) == 2 and "still not acknowledged" in edits[-1].params["text"]
        buttons = [e for b in edits[-1].params["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert [b["text"]["text"] for b in buttons] == ["ACK", "Approve rerun", "Deny rerun"]   # still one click away

        # -- an O2 clicks ACK (Socket Mode); the reminders stop -----------------------------------
        clock.move_to(START + timedelta(minutes=31))
        ack = standin.wait_ack(_click(standin, BEN, channel, parent, {"command": "case ack", "target": "CASE-1"}))
        assert ack.seconds < 3
        assert next_answer(standin, parent, 0) == (
            f"<@{BEN}> recorded: ACK recorded: ben investigating CASE-1 (Status: Investigating)")
        [case] = all_cases(ctx)
        assert case.status is CaseStatus.INVESTIGATING and case.severity is Severity.SEV0 and case.reminders_sent == 2
        acked = next(e for e in credit_entries(ctx) if e["kind"] == "alert.acked")
        assert acked["actor"] == BEN and acked["data"]["late"] is True
        queued_after_ack = len(Outbox(ctx.data_dir).messages())
        for minute in (45, 60, 120, 600):
            clock.move_to(START + timedelta(minutes=minute))
            assert check_ack_deadlines(ctx) == []
        assert len(Outbox(ctx.data_dir).messages()) == queued_after_ack      # nothing more was even queued
        assert len(reminders_in_thread(standin, parent)) == 2 and all(len(t) == 2 for t in dms(standin).values())
        assert not gates.dispatch_gate(ctx, "run_pii", index).allowed     # ACK does not release quarantine
