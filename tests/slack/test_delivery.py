"""The outbox and its delivery: written before sending, in order, nothing lost to 429s, outages or restarts."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import random

from chatops.notify import slack_delivery, web_client
from jobs.delivery import DeliveryWorker
from jobs.compose import build_context
from jobs.notices import Notice
from jobs.outbox import NoticeRefused
from store.outbox import Outbox, QueuedState
from tests.slack.conftest import poll
from tests.standins.slack import BOT_TOKEN, SlackStandIn


def _alert(n: int, subject: str = "CASE-1", **kw) -> Notice:
    return Notice(kind="credits.alert", subject=subject, text=f"alert {n}", channel="#ops-alerts", **kw)


def _delivery(ctx, waits: list[float] | None = None, on_wait=None) -> DeliveryWorker:
    """The Slack worker; with `waits`, its waits are recorded and move its own clock instead of sleeping."""
    now = [0.0]

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        now[0] += seconds
        if on_wait is not None:
            on_wait(len(waits))
        return False

    if waits is None:
        return slack_delivery(ctx, web_client(ctx, BOT_TOKEN))
    return slack_delivery(ctx, web_client(ctx, BOT_TOKEN), wait=wait, clock=lambda: now[0], rng=random.Random(7))


def _posted_texts(standin: SlackStandIn) -> list[str]:
    return [c.params["text"] for c in standin.calls_to("chat.postMessage")]


def test_message_is_in_the_outbox_fsynced_before_any_delivery(ctx, standin):
    ctx.notifier.send(_alert(1))
    [message] = Outbox(ctx.data_dir).messages()
    assert message.pending and message.item["to"] == "#ops-alerts"
    assert standin.calls == []
    _delivery(ctx).deliver_pending()
    [message] = Outbox(ctx.data_dir).messages()
    assert message.final["op"] == "sent" and message.final["ts"]


def test_first_notice_starts_a_thread_later_ones_edit_it_and_reply_under_it(ctx, standin):
    delivery = _delivery(ctx)
    ctx.notifier.send(_alert(1, fields={"severity": "SEV1", "case": "CASE-1", "actions": [
        {"label": "ACK", "command": "case ack"}]}))
    ctx.notifier.send(Notice(kind="credits.acked", subject="CASE-1", text="acknowledged by ben",
                             channel="#ops-alerts", update_original=True, suppressible=False))
    delivery.deliver_pending()
    first, reply = standin.calls_to("chat.postMessage")
    assert "thread_ts" not in first.params
    assert any(b["type"] == "actions" for b in first.params["blocks"])
    [update] = standin.calls_to("chat.update")
    assert update.params["ts"] == reply.params["thread_ts"]
    assert update.params["channel"] == SlackStandIn.channel_id("#ops-alerts")
    assert reply.params["text"] == "acknowledged by ben"


def test_dm_opens_the_conversation_with_the_persons_slack_id(ctx, standin):
    ctx.notifier.send(Notice(kind="summary", subject="SUMMARY-2026-11-22", text="daily summary", dm_to=("dev",)))
    _delivery(ctx).deliver_pending()
    [opened] = standin.calls_to("conversations.open")
    assert opened.params["users"] == "U0DEV00004"
    [post] = standin.calls_to("chat.postMessage")
    assert post.params["channel"].startswith("D")


def test_chart_is_uploaded_into_the_thread(ctx, standin, tmp_path: Path):
    chart = tmp_path / "weekly.png"
    chart.write_bytes(b"\x89PNG fake chart")
    ctx.notifier.send(Notice(kind="credits.weekly", subject="WEEKLY-2026-W47", text="weekly review",
                             channel="#ops-review", fields={"files": [{"path": str(chart), "title": "Credits"}]}))
    _delivery(ctx).deliver_pending()
    assert standin.calls_to("files.getUploadURLExternal")
    [upload] = standin.calls_to("upload")
    assert upload.params["bytes"] > 0
    [complete] = standin.calls_to("files.completeUploadExternal")
    assert complete.params["thread_ts"] == Outbox(ctx.data_dir).messages()[0].final["ts"]
    assert complete.params["channel_id"] == SlackStandIn.channel_id("#ops-review")


def test_429_storm_honours_retry_after_and_keeps_order(ctx, standin):
    waits: list[float] = []
    for n in range(20):
        ctx.notifier.send(_alert(n, subject=f"CASE-{n}"))
    standin.rate_limit(5, retry_after=7)
    _delivery(ctx, waits).deliver_pending()
    assert waits == [7.0] * 5
    assert _posted_texts(standin) == [f"alert {n}" for n in range(20)]
    assert not [m for m in Outbox(ctx.data_dir).messages() if m.pending]


def test_retry_after_is_really_waited_for(ctx, standin):
    ctx.notifier.send(_alert(1))
    standin.rate_limit(1, retry_after=1)
    _delivery(ctx).deliver_pending()
    limited, posted = standin.calls_to("chat.postMessage", ok_only=False)
    assert limited.status == 429 and posted.status == 200
    assert posted.at - limited.at >= 1.0


def test_outage_backs_off_with_bounded_jitter_and_delivers_everything_once_when_slack_is_back(ctx, standin):
    for n in range(10):
        ctx.notifier.send(_alert(n, subject=f"CASE-{n}"))
    standin.fail(2, status=503)
    standin.go_down()
    waits: list[float] = []
    _delivery(ctx, waits, on_wait=lambda count: standin.come_up() if count == 4 else None).deliver_pending()
    steps = [1.0, 2.0, 4.0, 8.0]   # the outage: the whole destination backs off, doubling, jittered in [step/2, step]
    assert all(step / 2 <= wait <= step for wait, step in zip(waits[:4], steps)), waits
    assert waits[:4] != steps      # jittered, not lock-step
    assert sorted(_posted_texts(standin)) == sorted(f"alert {n}" for n in range(10))
    assert len(_posted_texts(standin)) == 10


def test_restart_delivers_the_pending_outbox_and_never_resends_what_was_sent(ctx, standin, loaded):
    for n in range(3):
        ctx.notifier.send(_alert(n, subject=f"CASE-{n}"))
    _delivery(ctx).deliver_pending()
    for n in range(3, 6):
        ctx.notifier.send(_alert(n, subject=f"CASE-{n}"))
    # the daemon died here; a writer was killed mid-append, leaving a torn line it never acknowledged
    with open(Outbox(ctx.data_dir).path, "ab") as handle:
        handle.write(b'{"op": "queued", "id": "torn", "item": {"noti')
    fresh = build_context(loaded.settings, loaded.data_dir)
    fresh.notifier.send(_alert(6, subject="CASE-6"))
    _delivery(fresh).deliver_pending()
    assert _posted_texts(standin) == [f"alert {n}" for n in range(7)]


def test_worker_thread_delivers_what_another_process_queued(ctx, standin, loaded):
    worker = _delivery(ctx).start()
    try:
        other = build_context(loaded.settings, loaded.data_dir)   # e.g. `chatops … --as` beside the daemon
        other.notifier.send(_alert(1))
        standin.wait_for(lambda s: s.calls_to("chat.postMessage"))
    finally:
        worker.stop()


def test_message_slack_refuses_for_good_is_kept_and_the_queue_moves_on(ctx, standin):
    ctx.notifier.send(Notice(kind="x", subject="X-1", text="to nowhere", channel="#nowhere"))
    ctx.notifier.send(_alert(2))
    _delivery(ctx).deliver_pending()
    first, second = Outbox(ctx.data_dir).messages()
    assert first.final == {**first.final, "op": "undeliverable", "error": "channel_not_found"}
    assert second.final["op"] == "sent"


def test_local_mode_writes_the_outbox_as_the_delivery(loaded, monkeypatch, standin):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    local = build_context(loaded.settings, loaded.data_dir)
    local.notifier.send(_alert(1))
    lines = [json.loads(l) for l in Outbox(local.data_dir).path.read_text().splitlines()]
    assert [l["state"] for l in lines] == [QueuedState.LOCAL.value]
    assert slack_delivery(local, web_client(local, BOT_TOKEN)).deliver_pending() == 0
    assert standin.calls == []


def test_messages_never_carry_a_token(ctx, standin, monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cr3t-signing-value")
    ctx.notifier.send(Notice(kind="x", subject="X-2", channel="#ops-alerts",
                             text="debug: secret s3cr3t-signing-value and xoxb-2847561093-5918273640-Qw7ErT9yUi3OpA5sDf8GhJk2"))
    _delivery(ctx).deliver_pending()
    [post] = standin.calls_to("chat.postMessage")
    assert "s3cr3t" not in json.dumps(post.params) and "xoxb-2847" not in json.dumps(post.params)
    assert "[REDACTED:slack-bot-token:" in post.params["text"] and "[REDACTED:process-secret:" in post.params["text"]
    assert "s3cr3t" not in Outbox(ctx.data_dir).path.read_text()


def test_lower_case_retry_after_is_honoured_and_a_date_falls_back_to_one_second(ctx, standin):
    waits: list[float] = []
    for n in range(3):
        ctx.notifier.send(_alert(n, subject=f"CASE-{n}"))
    standin.rate_limit(2, retry_after=9, header="retry-after")
    standin.rate_limit(1, retry_after="Wed, 21 Oct 2026 07:28:00 GMT")
    _delivery(ctx, waits).deliver_pending()
    assert waits == [9.0, 9.0, 1.0]
    assert _posted_texts(standin) == ["alert 0", "alert 1", "alert 2"]


def test_a_failed_upload_is_retried_without_posting_the_text_twice(ctx, standin, tmp_path: Path):
    chart = tmp_path / "weekly.png"
    chart.write_bytes(b"\x89PNG fake chart")
    ctx.notifier.send(Notice(kind="credits.weekly", subject="WEEKLY-2026-W48", text="weekly review",
                             channel="#ops-review", fields={"files": [{"path": str(chart), "title": "Credits"}]}))
    standin.fail_uploads(1)
    waits: list[float] = []
    _delivery(ctx, waits).deliver_pending()
    assert len(waits) == 1 and 0.5 <= waits[0] <= 1.0
    assert _posted_texts(standin) == ["weekly review"]
    assert [c.status for c in standin.calls_to("upload", ok_only=False)] == [500, 200]
    [complete] = standin.calls_to("files.completeUploadExternal")
    assert complete.params["thread_ts"] == Outbox(ctx.data_dir).messages()[0].final["ts"]


def test_a_message_the_worker_cannot_read_is_kept_and_the_queue_and_the_thread_go_on(ctx, standin):
    Outbox(ctx.data_dir).queue([{"notice": {"subject": "X-1", "text": "no kind"}, "to": "#ops-alerts"}],
                               QueuedState.PENDING, "2026-11-22T18:00:00+00:00")
    ctx.notifier.send(_alert(2))
    worker = _delivery(ctx).start()
    try:
        first, second = poll(lambda: [m for m in Outbox(ctx.data_dir).messages() if m.final][1:] and
                             Outbox(ctx.data_dir).messages(), what="both messages settled")
        assert first.final["op"] == "undeliverable" and "TypeError" in first.final["error"]
        assert second.final["op"] == "sent"
        ctx.notifier.send(_alert(3, subject="CASE-3"))
        standin.wait_for(lambda s: len(s.calls_to("chat.postMessage")) == 2)
        assert worker._thread.is_alive()
    finally:
        worker.stop()


def test_every_secret_of_the_environment_and_key_shaped_text_is_masked(ctx, standin, monkeypatch):
    monkeypatch.setenv("CHATOPS_INTAKE_TOKEN", "intake-7f3a9c1e55d0")
    monkeypatch.setenv("CHATOPS_LEDGER_KEY_PASSPHRASE", "correct horse battery")
    monkeypatch.setenv("WAREHOUSE_API_KEY", "wh-0a1b2c3d4e5f")
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
    ctx.notifier.send(Notice(kind="x", subject="X-3", channel="#ops-alerts",
                             text=f"intake-7f3a9c1e55d0 / correct horse battery / wh-0a1b2c3d4e5f\n{pem}",
                             fields={"done": ["used AKIAZ7Q3M5X2R4T4W6Y7"]}))
    _delivery(ctx).deliver_pending()
    sent = json.dumps(standin.calls_to("chat.postMessage")[0].params) + Outbox(ctx.data_dir).path.read_text()
    for secret in ("intake-7f3a9c1e55d0", "correct horse", "wh-0a1b2c3d4e5f", "b3BlbnNzaC1rZXkt", "AKIAZ7Q3M5X2"):
        assert secret not in sent, secret
    assert "[REDACTED:private-key:" in sent and "[REDACTED:aws-access-key-id:" in sent


@pytest.mark.parametrize("address, refusal", [
    ({"channel": "#security-incidents"}, "compliance content goes only to DMs (seed 002)"),
    ({"dm_to": ("lee",)}, "may not be sent to lee: compliance content leaves this machine only as a Slack DM to the CEO"),
    ({"dm_to": ("dev", "ana")}, "may not be sent to ana"),
])
def test_compliance_content_is_refused_anywhere_but_the_ceos_dm(ctx, address, refusal):
    with pytest.raises(NoticeRefused, match=re.escape(refusal)):
        ctx.notifier.send(Notice(kind="compliance.sev1", subject="INC-1", text="customer data exposed",
                                 fields={"sensitivity": "compliance"}, **address))
    assert Outbox(ctx.data_dir).messages() == []


def test_compliance_notice_reaches_the_ceo_as_a_dm(ctx, standin):
    ctx.notifier.send(Notice(kind="compliance.sev1", subject="INC-2", text="what happened, contained, at risk",
                             dm_to=("dev",), fields={"sensitivity": "compliance"}))
    _delivery(ctx).deliver_pending()
    [opened] = standin.calls_to("conversations.open")
    assert opened.params["users"] == "U0DEV00004"
    [post] = standin.calls_to("chat.postMessage")
    assert post.params["channel"].startswith("D") and post.params["text"] == "what happened, contained, at risk"
