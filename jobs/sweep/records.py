"""What the sweep finds: one `Finding` per thing a person must look at, under a key that stays the same
while the thing stays the same, so tomorrow's sweep can tell a new finding from one still open."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum


class Level(StrEnum):
    """How loud a finding is: `critical` goes to #ops-critical at once, `action` names who must act,
    `info` is for the record and the summary."""

    CRITICAL = "critical"
    ACTION = "action"
    INFO = "info"


class Check(StrEnum):
    """The sweep's checks (seed 000 §5–§6, runbook Daily/Weekly Checks, seed 002 §4/§6/§7)."""

    EXPORT_MISSED = "export.missed"
    EXPORT_GAP = "export.gap"
    EXPORT_REVIEW = "export.review"
    EXPORT_HELD = "export.held"
    UNACKED = "credit.unacked"
    LEDGER = "credit.ledger"
    STALE_CASE = "credit.stale_case"
    QUARANTINE = "credit.quarantine"
    NOTION_LAG = "notion.lag"
    COMPLIANCE_DUE = "compliance.due"
    POSTMORTEM = "compliance.postmortem"
    CALENDAR = "compliance.calendar"
    SCRUB_MEDIUM = "scrub.repeated_medium"
    SCRUB_GAP = "scrub.gap"
    ARCHIVED = "credit.archived"        # Mondays: resolved cases older than 30 days archived
    SWEEP_FAILED = "sweep.failed"       # a check that could not run: nothing is known about it today


@dataclass(frozen=True)
class Action:
    """A button under the finding's message: runs the registry command `command` on `target`."""

    label: str
    command: str
    target: str


@dataclass(frozen=True)
class Finding:
    key: str                          # stable while unchanged, e.g. "export.missed:2026-12-07"
    check: Check
    level: Level
    text: str                         # one sentence: the thing, the value, who must act
    channel: str                      # where it is posted
    dm_to: tuple[str, ...] = ()       # people told directly (the COO for a gap)
    actions: tuple[Action, ...] = ()
    first_seen: str = ""              # local date of the first sweep that found it

    def seen(self, first: str) -> "Finding":
        return replace(self, first_seen=first)

    def age_days(self, today: date) -> int:
        return (today - date.fromisoformat(self.first_seen)).days if self.first_seen else 0

    def age_text(self, today: date) -> str:
        days = self.age_days(today)
        if days == 0:
            return "new"
        return f"open {days} day{'s' if days != 1 else ''} (since {self.first_seen})"


@dataclass(frozen=True)
class Sweep:
    """One sweep's outcome: every finding (with its first sighting), which are new, which cleared."""

    date: str
    ran_at: str
    findings: tuple[Finding, ...]
    new: tuple[str, ...]
    cleared: tuple[str, ...]
