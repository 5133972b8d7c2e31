"""`report …`: the runbook's Weekly Review Procedure and its Audit and Compliance reports (seed 001).

Thin: parse, call `jobs.credits.review.flows` (which checks roles and records to the credit ledger),
print. `report weekly` also posts the summary with its chart to `#ops-review`.
"""
from __future__ import annotations

from chatops.commands import review_replies
from chatops.registry import Arg, Command, Invocation, Reply
from jobs.actors import Permission

#: Refusals of these commands are recorded in the credit ledger, beside the runs the reports read.
LEDGER = "credit"

#: The replies a weekly review's thread accepts (`note - …`, `isolated <run> - …`, `case <run>`).
REPLIES = {"weekly_review": review_replies.read}

_WEEK = Arg("--week", "ISO week YYYY-Www, e.g. 2026-W47 (default: the last complete week)", metavar="WEEK",
            subject="weekly_review")
_RUN = Arg("run_id", "the SEV2 Run_ID", required=True, subject="run")


def _weekly(inv: Invocation) -> Reply:
    from jobs.credits.review import flows, messages

    written = flows.weekly_report(inv.ctx, inv.actor, inv.args.week)
    inv.ctx.notifier.send(messages.summary_notice(inv.ctx, written))
    return Reply("\n".join(messages.summary_lines(written))
                 + f"\nSummary queued for {inv.ctx.settings.slack.channels.ops_review} with the chart.")


def _note(inv: Invocation) -> Reply:
    from jobs.credits.review import flows

    text = " ".join(inv.args.text) if isinstance(inv.args.text, list) else inv.args.text
    path = flows.note(inv.ctx, inv.actor, inv.args.week, text)
    return Reply(f"Noted in {path}")


def _open_case(inv: Invocation) -> Reply:
    from jobs.credits.review import flows

    case, path = flows.open_case(inv.ctx, inv.actor, inv.args.run_id, inv.args.note or "")
    return Reply(f"{case.case_id} opened for SEV2 {inv.args.run_id} ({case.scenario_id}); decision noted in {path}")


def _isolated(inv: Invocation) -> Reply:
    from jobs.credits.review import flows

    _, path = flows.isolated(inv.ctx, inv.actor, inv.args.run_id, inv.args.note)
    return Reply(f"SEV2 {inv.args.run_id} noted as isolated in {path}; no further action")


def _propose(inv: Invocation) -> Reply:
    from jobs.credits.review import flows

    proposal = flows.propose(inv.ctx, inv.actor, inv.args.scenario, inv.args.week)
    return Reply(f"Proposed {proposal.request.id}: {inv.args.scenario} → {proposal.calculation.median_credits:.2f} "
                 f"credits, posted to {inv.ctx.settings.slack.channels.ops_review} for another O3's approval")


def _monthly(inv: Invocation) -> Reply:
    from jobs.credits.review import flows, messages

    return Reply("\n".join(messages.audit_lines(flows.monthly_report(inv.ctx, inv.actor, inv.args.month))))


def _quarterly(inv: Invocation) -> Reply:
    from jobs.credits.review import flows, messages

    return Reply("\n".join(messages.audit_lines(flows.quarterly_report(inv.ctx, inv.actor, inv.args.quarter))))


COMMANDS = [
    Command(("report", "weekly"), "write the weekly credit review (JSON, chart, .sha256) and post its summary to "
            "#ops-review", Permission.REVIEW_WEEKLY, _weekly, args=(_WEEK,),
            example='report weekly --week 2026-W47 --as ben'),
    Command(("report", "weekly", "note"), "append a note to a week's review notes", Permission.REVIEW_WEEKLY,
            _note, args=(Arg("--week", "ISO week YYYY-Www, e.g. 2026-W47", required=True, metavar="WEEK",
                             subject="weekly_review"),
                         Arg("text", "the note", required=True, nargs="+")),
            example='report weekly note --week 2026-W47 "baseline of scn-x updated" --as ben'),
    Command(("report", "weekly", "open-case"), "open a case for a SEV2 run without one (weekly SEV2 review)",
            Permission.REVIEW_WEEKLY, _open_case, args=(_RUN, Arg("--note", "why a case is warranted")),
            example='report weekly open-case RUN_ID --as ben'),
    Command(("report", "weekly", "isolated"), "note a SEV2 run without a case as isolated (weekly SEV2 review)",
            Permission.REVIEW_WEEKLY, _isolated,
            args=(_RUN, Arg("--note", "why it is isolated, e.g. \"one-off backfill\"", required=True)),
            example='report weekly isolated RUN_ID --note "one-off retry storm" --as ben'),
    Command(("report", "weekly", "propose"), "propose the baseline of a weekly candidate for another O3's approval",
            Permission.REVIEW_PROPOSE, _propose,
            args=(Arg("scenario", "the candidate's Scenario_ID", required=True, subject="scenario"),
                  Arg("--week", "the review's week (default: the last complete week)", metavar="WEEK")),
            example='report weekly propose scn-x --week 2026-W47 --as ana'),
    Command(("report", "monthly"), "the monthly audit: approval trail, baseline changes, PII false-positive rate, "
            "policy changes (O3)", Permission.REVIEW_AUDIT, _monthly,
            args=(Arg("--month", "YYYY-MM (default: the last complete month)", metavar="MONTH",
                      subject="audit_report"),),
            example='report monthly --month 2026-11 --as ana'),
    Command(("report", "quarterly"), "the quarterly threshold review: variance per SEV, SEV1s closed as legit "
            "load, misconfig likelihood vs root cause (O3)", Permission.REVIEW_AUDIT, _quarterly,
            args=(Arg("--quarter", "YYYY-Qn (default: the last complete quarter)", metavar="QUARTER",
                      subject="audit_report"),),
            example='report quarterly --quarter 2026-Q3 --as ana'),
]
