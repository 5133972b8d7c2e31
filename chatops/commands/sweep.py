"""`sweep run|show` and `summary show|send` — the 08:30 enforcement sweep and the CEO daily summary by hand.

The daemon runs both every morning (`chatops jobs`); these are the same flows for a person. The CEO's App
Home shows the summary as it stands (`HOME`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from chatops.registry import Command, Invocation, Reply
from chatops.render.views import HomeSection
from jobs.actors import Actor, Permission, Role

if TYPE_CHECKING:
    from jobs.context import Context


def _run(inv: Invocation) -> Reply:
    from jobs.sweep import flows, messages

    return Reply("\n".join(messages.report_lines(flows.run_sweep(inv.ctx, inv.actor))))


def _show(inv: Invocation) -> Reply:
    from jobs.sweep import messages, service

    sweep = service.last_sweep(inv.ctx)
    if sweep is None:
        return Reply("no sweep has run yet; the daemon runs it daily at [schedule] sweep (08:30), or "
                     "`chatops sweep run --as NAME`")
    return Reply("\n".join(messages.report_lines(sweep)))


def _summary_show(inv: Invocation) -> Reply:
    from jobs.sweep import summary

    return Reply(summary.build(inv.ctx).text())


def _summary_send(inv: Invocation) -> Reply:
    from jobs.sweep import summary

    sent = summary.send(inv.ctx, inv.actor)
    ceos = ", ".join(sorted(a.name for a in inv.ctx.people.with_role(Role.CEO)))
    return Reply(f"CEO summary {sent.date} queued for {ceos}:\n{sent.text()}")


TITLE = "Daily summary"


def summary_section(ctx: Context, actor: Actor) -> HomeSection:
    """The CEO's App Home: the same summary as the DM, as it stands when the tab is opened."""
    if Role.CEO not in actor.roles:
        return HomeSection(TITLE, (), empty="for the CEO only")
    from jobs.sweep import summary

    return HomeSection(TITLE, tuple(summary.build(ctx).text().splitlines()))


HOME = (summary_section,)

COMMANDS = [
    Command(("sweep", "run"), "run the morning enforcement sweep now: export, credit, compliance checks",
            Permission.SWEEP_RUN, _run, subject_kind="sweep", subject_id="daily",
            description="What the daemon does at 08:30: every check of seed 000 §5–§6, the runbook's daily (and "
                        "on Mondays weekly) checks and seed 002's deadlines. New findings are posted where they "
                        "belong and recorded; one still open says how long it has been open.",
            example="sweep run --as ben"),
    Command(("sweep", "show"), "the last sweep's findings and how long each has been open",
            Permission.SWEEP_READ, _show, shell_open=True, subject_kind="sweep", subject_id="daily",
            example="sweep show"),
    Command(("summary", "show"), "the CEO daily summary as it stands now",
            Permission.SUMMARY_READ, _summary_show, shell_open=True, subject_kind="summary", subject_id="ceo",
            example="summary show"),
    Command(("summary", "send"), "send the CEO daily summary DM now",
            Permission.SUMMARY_SEND, _summary_send, subject_kind="summary", subject_id="ceo",
            example="summary send --as dev"),
]
