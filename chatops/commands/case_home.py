"""What the App Home tab shows a person about cases: the open ones that wait for them.

The credit area's section of the App Home, registered as its `HOME` (the approvals section is the Slack
layer's own, which names no area).
"Waits for them" is decided by the one permission table: a case awaiting ACK for whoever may
acknowledge (O2+), a case whose rerun gate has no decision yet for whoever may decide it (O3), and
every open case the person acknowledged. Someone who may not read runs (an unknown Slack user) sees
nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.actors import Actor, Permission, allowed

if TYPE_CHECKING:
    from chatops.render.views import HomeSection
    from jobs.context import Context
    from jobs.credits.records import Case

TITLE = "Your open cases"


def open_cases_section(ctx: Context, actor: Actor) -> HomeSection:
    from chatops.render.views import HomeSection   # the Slack views: loaded when a Home tab is opened
    from jobs.credits.cases.service import open_cases   # … and the state store

    if not actor.roles or not allowed(actor, Permission.RUN_READ):
        return HomeSection(TITLE, (), empty="none you may see")
    lines = []
    for case in sorted(open_cases(ctx.state.snapshot()), key=lambda c: c.number):
        waiting = _waiting_for(case, actor)
        if waiting:
            lines.append(f"{case.case_id} {case.severity.value} {case.scenario_id} (`{case.run_id}`): "
                         + "; ".join(waiting))
    return HomeSection(TITLE, tuple(lines), empty="no open case waits for you")


def _waiting_for(case: Case, actor: Actor) -> list[str]:
    waiting = []
    if case.awaiting_ack and allowed(actor, Permission.CASE_ACK):
        due = f", due {case.ack_due_at:%H:%M} UTC" if case.ack_due_at else ""
        waiting.append(f"awaiting ACK{due}")
    if case.rerun_gate and case.rerun_decision is None and allowed(actor, Permission.RERUN_DECIDE):
        waiting.append("rerun gate: needs `APPROVED for rerun - …` or `DENIED - …`")
    if case.acked_by == actor.name:
        waiting.append(f"you acknowledged it ({case.status.value})")
    return waiting
