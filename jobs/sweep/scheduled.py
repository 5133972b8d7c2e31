"""The daemon's morning jobs: the 08:30 enforcement sweep, then the CEO daily summary at `[schedule] summary`."""
from __future__ import annotations

from datetime import datetime

from jobs.actors import DAEMON
from jobs.context import Context


def sweep_job(ctx: Context, scheduled_for: datetime) -> str:
    from jobs.sweep.flows import run_sweep

    sweep = run_sweep(ctx, DAEMON)
    return (f"{sweep.date}: {len(sweep.findings)} finding(s), {len(sweep.new)} new, "
            f"{len(sweep.cleared)} cleared")


def summary_job(ctx: Context, scheduled_for: datetime) -> str:
    from jobs.sweep.summary import send

    summary = send(ctx, DAEMON)
    return f"{summary.date}: " + ("quiet day" if summary.quiet else
                                  ", ".join(s.title for s in summary.sections) or "export needs attention")


JOBS = {"sweep": sweep_job, "summary": summary_job}
