"""The kill switch: O3 only, announced, reminded, expires on its own, one digest of what it held back."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from freezegun import freeze_time

from chatops.registry import Registry
from jobs import killswitch
from jobs.actors import PermissionDenied
from jobs.notices import Notice
from store.outbox import Outbox, QueuedState


def _alert(ctx, n: int) -> None:
    ctx.notifier.send(Notice(kind="credits.alert", subject=f"CASE-{n}", text=f"SEV1 alert {n}\ndetails",
                             channel="#ops-alerts"))


def _queued(ctx) -> list[tuple[str, str, str]]:
    return [(m.state.value, m.item["notice"]["kind"], m.item["to"]) for m in Outbox(ctx.data_dir).messages()]


def _ledger(ctx) -> list[dict]:
    path = ctx.data_dir / "operations" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_switch_suppresses_alerts_reminds_expires_and_posts_one_digest(ctx):
    with freeze_time("2026-11-22 18:00:00") as frozen:
        ana = ctx.people.by_name("ana")
        killswitch.turn_on(ctx, ana, killswitch.parse_duration("2h", 24), "Slack API outage")
        assert [q for q in _queued(ctx) if q[1] == "killswitch.on"] == [
            ("pending", "killswitch.on", "#ops-critical"), ("pending", "killswitch.on", "#ops-alerts")]
        _alert(ctx, 1)
        _alert(ctx, 2)
        ctx.notifier.send(Notice(kind="slack.answer", subject="CASE-1", text="recorded", channel="#ops-alerts",
                                 suppressible=False))
        states = [(s, k) for s, k, _ in _queued(ctx)]
        assert states.count(("suppressed", "credits.alert")) == 2
        assert ("pending", "slack.answer") in states

        frozen.tick(timedelta(minutes=30))
        killswitch.tick(ctx)
        assert not [q for q in _queued(ctx) if q[1] == "killswitch.reminder"]
        frozen.tick(timedelta(minutes=31))
        killswitch.tick(ctx)
        assert len([q for q in _queued(ctx) if q[1] == "killswitch.reminder"]) == 2   # both channels

        frozen.tick(timedelta(minutes=60))
        assert not killswitch.active(ctx)          # expired by the clock even before the tick announces it
        _alert(ctx, 3)
        killswitch.tick(ctx)
        killswitch.tick(ctx)
        digests = [m for m in Outbox(ctx.data_dir).messages() if m.item["notice"]["kind"] == "killswitch.digest"]
        assert len(digests) == 2                    # one digest, in each alert channel
        text = digests[0].item["notice"]["text"]
        assert "2 alert(s) were suppressed" in text and "CASE-1" in text and "CASE-2" in text
        assert "CASE-3" not in text
        assert ("pending", "credits.alert", "#ops-alerts") in _queued(ctx)
        assert any("expired" in m.item["notice"]["text"] for m in Outbox(ctx.data_dir).messages()
                   if m.item["notice"]["kind"] == "killswitch.off")
        kinds = [e["kind"] for e in _ledger(ctx)]
        assert "killswitch.on" in kinds and "killswitch.off" in kinds


def test_lifting_early_posts_the_digest_and_lets_alerts_through(ctx):
    dev = ctx.people.by_name("dev")
    killswitch.turn_on(ctx, dev, timedelta(hours=1), "alert storm")
    _alert(ctx, 7)
    held = killswitch.turn_off(ctx, dev)
    assert [h.subject for h in held] == ["CASE-7"]
    _alert(ctx, 8)
    assert _queued(ctx)[-1] == ("pending", "credits.alert", "#ops-alerts")
    with pytest.raises(killswitch.KillSwitchError, match="not on"):
        killswitch.turn_off(ctx, dev)


@pytest.mark.parametrize("person", ["ben", "cleo", "lee"])
def test_only_o3_may_set_the_switch(ctx, person):
    with pytest.raises(PermissionDenied, match="killswitch on needs role O3"):
        killswitch.turn_on(ctx, ctx.people.by_name(person), timedelta(hours=1), "x")
    assert not killswitch.active(ctx)


@pytest.mark.parametrize("text, message", [
    ("2", "expected a duration like 30m"), ("0m", "greater than zero"), ("25h", "longer than the 24h allowed"),
    ("two hours", "expected a duration"),
])
def test_bad_durations_say_what_is_expected(text, message):
    with pytest.raises(killswitch.KillSwitchError, match=message):
        killswitch.parse_duration(text, 24)


def test_killswitch_commands_through_the_registry_as_o3_and_o2(iface):
    iface.registry = Registry.load(areas=["chatops.commands.killswitch"])
    on = iface.run_text("U0ANA00001", "killswitch on --for 90m --reason upstream API outage")
    assert on.ok and "ON until" in iface.run_text("U0CLEO0003", "killswitch status").text
    refused = iface.run_text("U0BEN00002", "killswitch off")
    assert not refused.ok and refused.text.startswith("killswitch off needs role O3; you have O2")
    assert iface.run_text("U0ANA00001", "killswitch off").ok
    assert iface.run_text("U0ANA00001", "killswitch status").text == "kill switch is off: alerts are posted"
    assert QueuedState.SUPPRESSED not in {m.state for m in Outbox(iface.ctx.data_dir).messages()}
