"""The §4 clocks: what is due when, for an incident's severity and kind, and how a deadline is shown.

Why computed and not stored: a deadline follows from the severity, when it began and the settings, so
an escalation (SEV2 -> SEV1) restarts the right clocks without rewriting anything. The scheduled
check (`check_clocks`) reminds each open clock `remind_before_minutes` before it is due and escalates
it once when missed; both are posted and recorded in the timeline, so neither happens twice.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from jobs.compliance.records import Clock, Incident, Kind, Leaf, Sev, Step
from jobs.settings import Settings


def next_sweep(after: datetime, settings: Settings) -> datetime:
    """The first enforcement sweep (`[schedule] sweep`, Pacific) after `after` (§4 SEV3: "next sweep")."""
    local = after.astimezone(settings.timezone)
    at = datetime.combine(local.date(), settings.schedule.sweep, tzinfo=settings.timezone)
    if at <= local:
        at = datetime.combine(local.date() + timedelta(days=1), settings.schedule.sweep, tzinfo=settings.timezone)
    return at


def due_steps(incident: Incident, settings: Settings) -> dict[str, datetime | None]:
    """Each step the incident's path needs, with its deadline (None: needed before closing, no clock)."""
    c = settings.compliance
    since = incident.sev_since or incident.filed_at
    compliance = incident.kind == Kind.COMPLIANCE
    steps: dict[str, datetime | None] = {}
    if incident.sev == Sev.SEV1:
        steps[Step.CONTAIN] = since + timedelta(minutes=c.sev1_contain_minutes)
        if compliance:
            start = max(since, incident.compliance_since or since)
            steps[Step.LEGAL] = start + timedelta(hours=c.sev1_legal_hours)
            steps[Step.DECISION] = start + timedelta(hours=c.decision_hours)
    elif incident.sev == Sev.SEV2:
        steps[Step.RESPONSE] = since + timedelta(hours=c.sev2_response_hours)
        steps[Step.REMEDIATION] = since + timedelta(hours=c.sev2_remediation_hours)
        if compliance:
            steps[Step.SOP_DELTA] = None
    else:
        steps[Step.PREVENTION] = next_sweep(since, settings)
    if incident.leaf == Leaf.BREACH and incident.decided_at:
        steps[Step.COUNSEL] = incident.decided_at + timedelta(hours=c.counsel_hours)
    return steps


def clocks(incident: Incident, settings: Settings) -> list[Clock]:
    """Every timed step and notification obligation of the incident, done or not."""
    out = [Clock(str(name), due, incident.steps[name].at if name in incident.steps else None,
                 name in incident.reminded, name in incident.overdue)
           for name, due in due_steps(incident, settings).items() if due is not None]
    out += [Clock(f"notify:{o.name}", o.due, o.sent_at, f"notify:{o.name}" in incident.reminded,
                  f"notify:{o.name}" in incident.overdue) for o in incident.obligations]
    return sorted(out, key=lambda clock: clock.due)


def missing_for_close(incident: Incident, settings: Settings) -> list[str]:
    """What must be done before the incident may be closed, by name."""
    missing = [name for name in due_steps(incident, settings) if name not in incident.steps]
    missing += [f"notify:{o.name}" for o in incident.obligations if o.sent_at is None]
    return missing


def remaining(due: datetime, now: datetime) -> str:
    """`in 3 h 05 min` or `overdue by 20 min`: a deadline's distance from now, in words."""
    seconds = int((due - now).total_seconds())
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = ([f"{days} d"] if days else []) + ([f"{hours} h"] if hours else []) + [f"{mins:02d} min" if
                                                                                  (days or hours) else f"{mins} min"]
    return ("in " if seconds >= 0 else "overdue by ") + " ".join(parts)


def pacific(moment: datetime, settings: Settings) -> str:
    return moment.astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M %Z")


def show_due(due: datetime, now: datetime, settings: Settings) -> str:
    """`2026-12-07 14:00 PST (in 3 h 05 min)`: every deadline, as people read it."""
    return f"{pacific(due, settings)} ({remaining(due, now)})"
