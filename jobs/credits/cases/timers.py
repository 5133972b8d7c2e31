"""ACK deadlines: SEV0 within 15 minutes, SEV1 within 1 hour; re-notify and DM the O3s when missed.

The daemon's scheduler calls `check_ack_deadlines(ctx, now)` every minute. A case awaiting ACK gets
its k-th reminder once `now >= ack_due_at + (k - 1) × interval` (the interval is the deadline itself:
15 min for SEV0, 1 h for SEV1). After downtime only one reminder is sent for all the intervals that
passed, and the count catches up, so a restart never causes a burst. Nothing is sent once the case
is acknowledged or resolved: `Case.awaiting_ack` is read inside the same transaction that ACK uses.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from jobs.context import Context
from jobs.credits.cases import service as case_records
from jobs.credits import messages, policy
from jobs.credits.audit import ledger
from jobs.credits.intake.recorder import o3_names
from jobs.credits.records import Case
from jobs.notices import Notice


def reminders_due(case: Case, now: datetime, interval: timedelta) -> int:
    """How many reminders should have been sent by `now` (0 before the deadline)."""
    if case.ack_due_at is None or now < case.ack_due_at:
        return 0
    return 1 + int((now - case.ack_due_at) / interval)


def check_ack_deadlines(ctx: Context, now: datetime | None = None) -> list[Case]:
    """Send the reminders that are due; returns the cases reminded."""
    now = now or ctx.now()
    reminded: list[Case] = []
    notices: list[Notice] = []
    with ctx.state.transaction() as db:
        overdue = []
        for case in case_records.open_cases(db):
            minutes = policy.ack_minutes(case.severity, ctx.settings.credits)
            if not case.awaiting_ack or minutes is None:
                continue
            due = reminders_due(case, now, timedelta(minutes=minutes))
            if due > case.reminders_sent:
                overdue.append(replace(case, reminders_sent=due))
        if not overdue:
            return []
        names = o3_names(ctx)
        with ledger(ctx).commit() as c:
            for case in overdue:
                notice = messages.ack_overdue(ctx.settings, case, now, names)
                c.append("alert.queued", "daemon", None, {"Run_ID": case.run_id, "data": {
                    "case": case.case_id, "channel": notice.channel, "notice": notice.kind, "dm_to": list(names),
                    "reason": "ACK overdue", "due_at": case.ack_due_at.isoformat() if case.ack_due_at else None,
                    "reminder": case.reminders_sent}})
                notices.append(notice)
        for case in overdue:
            case_records.save(db, case)
            reminded.append(case)
    for notice in notices:
        ctx.notifier.send(notice)
    return reminded
