"""The runbook's per-severity webhooks: queued with the alert, delivered over real HTTP, retried, parked,
held by the kill switch and counted in its digest, and the only way out for a team without a bot."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from freezegun import freeze_time

from chatops.notify import services
from chatops.services import Wiring
from chatops.slack.mode import Mode
from chatops.webhooks import webhook_delivery
from jobs import killswitch
from jobs.compose import build_context
from jobs.delivery import DeliveryWorker
from jobs.notices import Notice
from store.outbox import Outbox, QueuedState
from tests.slack.conftest import open_case
from tests.standins.webhook import WebhookStandIn


@pytest.fixture
def hooks(monkeypatch):
    server = WebhookStandIn().start()
    for name, value in server.environ().items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()


def _alert(n: int, severity: str = "SEV1", subject: str | None = None) -> Notice:
    return Notice(kind="credits.alert", subject=subject or f"CASE-{n}", text=f"{severity} alert {n}\ndetails",
                  channel="#ops-critical" if severity == "SEV0" else "#ops-alerts", fields={"severity": severity})


def _worker(ctx, server: WebhookStandIn, waits: list[float] | None = None, environ=None) -> DeliveryWorker:
    """The webhook worker; its waits are recorded and move its own clock instead of sleeping."""
    now = [0.0]
    recorded = [] if waits is None else waits

    def wait(seconds: float) -> bool:
        recorded.append(seconds)
        now[0] += seconds
        return False

    return webhook_delivery(ctx, server.environ() if environ is None else environ, wait=wait,
                            clock=lambda: now[0], rng=random.Random(3))


def _webhook_items(ctx):
    return [m for m in Outbox(ctx.data_dir).messages() if m.dest == "webhook"]


def test_a_real_sev1_alert_goes_to_the_sev1_webhook_and_the_outbox_never_holds_its_url(ctx, hooks):
    case = open_case(ctx)
    [item] = _webhook_items(ctx)
    assert item.item["severity"] == "SEV1" and item.item["to"] == "SLACK_WEBHOOK_URL_SEV1" and item.pending
    assert "standin-secret" not in (ctx.data_dir / "outbox.jsonl").read_text()
    assert _worker(ctx, hooks).deliver_pending() == 1
    [post] = hooks.delivered()
    assert "/B0SEV1/" in post.path and case in post.body["text"]
    assert not [b for b in post.body["blocks"] if b["type"] == "actions"]   # no buttons a webhook cannot serve
    assert _webhook_items(ctx)[0].final == {**_webhook_items(ctx)[0].final, "op": "sent", "status": 200}


def test_each_severity_goes_to_its_own_webhook_and_replies_go_to_none(ctx, hooks):
    for n, severity in enumerate(("SEV0", "SEV1", "SEV2")):
        ctx.notifier.send(_alert(n, severity))
    ctx.notifier.send(Notice(kind="credits.case_update", subject="CASE-1", text="resolved", channel="#ops-alerts",
                             fields={"severity": "SEV1"}, suppressible=False))
    ctx.notifier.send(Notice(kind="credits.unbaselined", subject="BASELINE-x", text="no baseline",
                             channel="#ops-alerts"))
    _worker(ctx, hooks).deliver_pending()
    assert [(p.path.split("/")[3], p.body["text"].splitlines()[0]) for p in hooks.delivered()] == [
        ("B0SEV0", "SEV0 alert 0"), ("B0SEV1", "SEV1 alert 1"), ("B0SEV2", "SEV2 alert 2")]


def test_an_emptied_webhook_variable_is_not_queued_for(ctx, hooks, monkeypatch):
    monkeypatch.setenv("SLACK_WEBHOOK_URL_SEV1", "")
    ctx.notifier.send(_alert(1, "SEV1"))
    ctx.notifier.send(_alert(2, "SEV0"))
    assert [m.item["severity"] for m in _webhook_items(ctx)] == ["SEV0"]


def test_429_waits_exactly_retry_after_then_delivers_in_order(ctx, hooks):
    for n in range(3):
        ctx.notifier.send(_alert(n, subject="CASE-7"))
    hooks.rate_limit(2, retry_after=7)
    waits: list[float] = []
    _worker(ctx, hooks, waits).deliver_pending()
    assert waits == [7.0, 7.0]
    assert [p.body["text"].splitlines()[0] for p in hooks.delivered()] == [f"SEV1 alert {n}" for n in range(3)]


def test_5xx_backs_off_with_bounded_jitter_and_is_delivered(ctx, hooks):
    ctx.notifier.send(_alert(1))
    hooks.fail(3, status=503)
    waits: list[float] = []
    _worker(ctx, hooks, waits).deliver_pending()
    assert len(waits) == 3 and all(step / 2 <= w <= step for w, step in zip(waits, (1.0, 2.0, 4.0)))
    assert len(hooks.delivered()) == 1 and not [m for m in _webhook_items(ctx) if m.pending]


@pytest.mark.parametrize("error,status", [("no_service", 404), ("invalid_token", 403)])
def test_a_removed_or_revoked_webhook_is_parked_with_slacks_answer_and_the_fix(ctx, hooks, error, status):
    ctx.notifier.send(_alert(1))
    ctx.notifier.send(_alert(2))
    hooks.refuse(1, error, status)
    _worker(ctx, hooks).deliver_pending()
    parked, sent = _webhook_items(ctx)
    assert parked.parked and f"SLACK_WEBHOOK_URL_SEV1: HTTP {status} {error}" in parked.final["error"]
    assert "create a new incoming webhook" in parked.final["error"]
    assert sent.final["op"] == "sent"      # one parked item never holds the others


def test_a_webhook_unset_in_the_daemons_environment_is_parked_naming_the_variable(ctx, hooks):
    ctx.notifier.send(_alert(1, "SEV2"))
    _worker(ctx, hooks, environ=hooks.environ("SEV0", "SEV1")).deliver_pending()
    [item] = _webhook_items(ctx)
    assert item.parked and item.final["error"].startswith("SLACK_WEBHOOK_URL_SEV2 is not set")
    assert hooks.posts == []


def test_an_unreachable_webhook_pauses_the_destination_and_loses_nothing(ctx, hooks):
    for n in range(3):
        ctx.notifier.send(_alert(n, subject=f"CASE-{n}"))
    hooks.go_down()
    waits: list[float] = []
    now = [0.0]

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        now[0] += seconds
        if len(waits) == 2:
            hooks.come_up()
        return False

    webhook_delivery(ctx, hooks.environ(), wait=wait, clock=lambda: now[0], rng=random.Random(3)).deliver_pending()
    assert len(waits) == 2 and len(hooks.delivered()) == 3
    assert Outbox(ctx.data_dir).health()["webhook"]["recovered_at"]


def test_kill_switch_holds_webhook_posts_and_its_digest_counts_them(ctx, hooks):
    with freeze_time("2026-11-22 18:00:00") as frozen:
        killswitch.turn_on(ctx, ctx.people.by_name("ana"), timedelta(hours=1), "API outage")
        ctx.notifier.send(_alert(1, "SEV1"))
        ctx.notifier.send(_alert(2, "SEV0"))
        alerts = [m for m in _webhook_items(ctx) if m.item["notice"]["kind"] == "credits.alert"]
        assert [m.state for m in alerts] == [QueuedState.SUPPRESSED] * 2
        assert "2 alert(s) held back so far (and 2 webhook post(s))" in killswitch.status(ctx).describe(ctx)
        frozen.tick(timedelta(minutes=61))
        killswitch.tick(ctx)
        _worker(ctx, hooks).deliver_pending()
    texts = [p.body["text"] for p in hooks.delivered()]
    assert not [t for t in texts if "alert" in t.splitlines()[0] and t.startswith("SEV")]
    [digest] = [t for t in texts if t.startswith("Kill switch digest")][:1]
    assert digest.startswith("Kill switch digest: 2 alert(s) were suppressed (and 2 webhook post(s): SEV0 1, SEV1 1):")
    announced = {p.path.split("/")[3] for p in hooks.delivered() if "Kill switch ON" in p.body["text"]}
    assert announced == {"B0SEV0", "B0SEV1", "B0SEV2"}    # a webhook-only team hears the switch too


def test_without_a_bot_token_alerts_go_only_through_the_webhooks(loaded, hooks, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    ctx = build_context(loaded.settings, loaded.data_dir)
    [worker] = services(Wiring(ctx, loaded, Mode.LOCAL, dict(hooks.environ()), None, None, None))
    assert worker.name == "webhook-delivery"
    ctx.notifier.send(_alert(1, "SEV0"))
    states = {(m.dest, m.state) for m in Outbox(ctx.data_dir).messages()}
    assert states == {("slack", QueuedState.LOCAL), ("webhook", QueuedState.PENDING)}
    assert worker.wake.is_set()                         # the daemon's notifier woke the webhook worker
    worker.wait = lambda seconds: False
    worker.deliver_pending()
    assert [p.body["text"].splitlines()[0] for p in hooks.delivered("SEV0")] == ["SEV0 alert 1"]


def test_a_command_beside_the_daemon_queues_for_the_webhooks_the_daemon_delivers(loaded, hooks, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    daemon_ctx = build_context(loaded.settings, loaded.data_dir)
    services(Wiring(daemon_ctx, loaded, Mode.LOCAL, dict(hooks.environ("SEV0")), None, None, None))
    for name in hooks.environ():
        monkeypatch.delenv(name)
    shell_ctx = build_context(loaded.settings, loaded.data_dir)
    shell_ctx.notifier.send(_alert(1, "SEV0"))
    shell_ctx.notifier.send(_alert(2, "SEV1"))
    assert [m.item["severity"] for m in _webhook_items(shell_ctx)] == ["SEV0"]
