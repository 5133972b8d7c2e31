"""The daemon's 05:00 job (seed 000 §2): the day's export as the daemon itself, for the slot's local date."""
from __future__ import annotations

from datetime import datetime

from jobs.actors import DAEMON
from jobs.context import Context


def export_job(ctx: Context, scheduled_for: datetime) -> str:
    from jobs.export.flows import run_export

    day = run_export(ctx, DAEMON, ctx.local(scheduled_for).date().isoformat())
    if not day.pr:
        return f"{day.date}: no session to export"
    return (f"{day.date}: Scrub confidence {day.grading.grade}, {day.grading.sessions} session file(s), "
            f"PR #{day.pr} {day.disposition.value}")


JOBS = {"export": export_job}
