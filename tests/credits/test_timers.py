"""ACK deadlines with time moved by freezegun: on time, late, re-notification, never after ACK."""
from __future__ import annotations

from datetime import timedelta

from freezegun import freeze_time

from jobs.credits.cases import flows
from jobs.credits.cases.service import all_cases
from jobs.credits.intake.schema import validate_run
from jobs.credits.cases.timers import check_ack_deadlines
from tests.credits.conftest import START, kinds, raw_run, set_baseline


def open_case(ctx, recorder, sev0: bool) -> None:
    with freeze_time(START):
        set_baseline(ctx, "scn-invoice", 100.0)
        flags = ["pii_exposure"] if sev0 else []
        recorder.record([validate_run(raw_run(credits=1500.0 if sev0 else 600.0, Risk_Flags=flags))])
    ctx.notifier.sent.clear()


def tick(ctx, minutes: float):
    with freeze_time(START + timedelta(minutes=minutes)):
        return check_ack_deadlines(ctx, ctx.now())


def reminders(ctx):
    return [n for n in ctx.notifier.sent if n.kind == "credits.ack_overdue"]


def test_ack_on_time_means_no_reminder(ctx, recorder):
    open_case(ctx, recorder, sev0=True)
    assert tick(ctx, 14) == []
    with freeze_time(START + timedelta(minutes=14, seconds=30)):
        flows.ack(ctx, ctx.people.by_name("ben"), "CASE-1")
    for minute in (15, 16, 30, 120):
        assert tick(ctx, minute) == []
    assert reminders(ctx) == []
    assert [e for e in kinds(ctx) if e == "alert.acked"] == ["alert.acked"]


def test_sev0_missed_ack_renotifies_and_dms_the_o3s_at_each_interval(ctx, recorder):
    open_case(ctx, recorder, sev0=True)
    for minute in range(0, 15):
        assert tick(ctx, minute) == []
    assert [c.reminders_sent for c in tick(ctx, 15)] == [1]
    [first] = reminders(ctx)
    assert first.channel == "#ops-critical" and first.dm_to == ("ana", "dev") and first.update_original
    assert "ACK was due 0 min ago" in first.text
    for minute in range(16, 30):
        assert tick(ctx, minute) == []               # never twice for one interval
    tick(ctx, 30)
    tick(ctx, 44)
    tick(ctx, 45)
    assert len(reminders(ctx)) == 3 and "ACK was due 30 min ago" in reminders(ctx)[-1].text
    assert kinds(ctx).count("alert.queued") == 1 + 3


def test_late_ack_stops_reminders_and_is_recorded_as_late(ctx, recorder):
    open_case(ctx, recorder, sev0=True)
    tick(ctx, 15)
    with freeze_time(START + timedelta(minutes=20)):
        flows.ack(ctx, ctx.people.by_name("ana"), "CASE-1")
    for minute in (30, 45, 60, 600):
        assert tick(ctx, minute) == []
    assert len(reminders(ctx)) == 1
    from tests.credits.conftest import entries

    acked = [e for e in entries(ctx) if e["kind"] == "alert.acked"][0]
    assert acked["data"]["late"] is True and acked["data"]["reminders_sent"] == 1


def test_sev1_ack_is_due_within_one_hour(ctx, recorder):
    open_case(ctx, recorder, sev0=False)
    assert tick(ctx, 59) == []
    tick(ctx, 60)
    [reminder] = reminders(ctx)
    assert reminder.channel == "#ops-alerts"
    assert tick(ctx, 119) == [] and len(tick(ctx, 120)) == 1


def test_after_downtime_one_reminder_covers_every_missed_interval(ctx, recorder):
    open_case(ctx, recorder, sev0=True)
    [case] = tick(ctx, 95)                       # the daemon was down from minute 0 to 95
    assert case.reminders_sent == 6 and len(reminders(ctx)) == 1
    assert tick(ctx, 100) == [] and len(tick(ctx, 105)) == 1
    assert all_cases(ctx)[0].reminders_sent == 7
