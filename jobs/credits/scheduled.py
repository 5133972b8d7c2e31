"""The credit area's scheduled jobs (`jobs/schedule.py` JOB_SPECS): the Monday 10:00 weekly review."""
from __future__ import annotations

from datetime import datetime

from jobs.actors import DAEMON
from jobs.context import Context


def weekly_review(ctx: Context, scheduled_for: datetime) -> str:
    """Runbook "Weekly Review Procedure" Step 1 for the week before the slot's Monday: the report, its
    chart and the `#ops-review` summary. Returns the job's outcome line for `chatops jobs`."""
    from jobs.credits.review import flows, messages

    written = flows.weekly_report(ctx, DAEMON, now=scheduled_for)
    ctx.notifier.send(messages.summary_notice(ctx, written))
    summary = written.report["summary"]
    return (f"{written.path}: {summary['runs']} runs, {summary['policy_violations']} policy violations, "
            f"{summary['sev2_without_case']} SEV2 without a case, {summary['baseline_candidates']} baseline candidates")


JOBS = {"weekly_review": weekly_review}
