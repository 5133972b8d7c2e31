"""A run or a case as Notion page properties: the databases' expected schema and the values written.

The property names are the runbook's (RUNS_LEDGER: `Run_ID`, `Severity`, `Credits_Total`,
`Risk_Flags`…; CASES: `Status`, `Root_Cause`, `Slack_Thread_URL`, `Related_Run_IDs`, `Resolved_At`,
notes). `SCHEMA` is what `chatops notion check` holds each database to: every property by name and
type. The same functions build the payload the worker sends and the one a run file carries as
`Would write to Notion` when Notion is not configured, so the dry run is exactly what would be sent.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from jobs.credits.records import Case, Severity
from jobs.notion.records import Mirrored

#: Notion's limits: 2,000 characters per rich-text object, 100 objects per property.
TEXT_LIMIT = 2000
PARTS_LIMIT = 100

#: Property name → Notion property type, per database. The first is each database's title.
SCHEMA: dict[Mirrored, dict[str, str]] = {
    Mirrored.RUN: {
        "Run_ID": "title", "Scenario_ID": "rich_text", "Severity": "select", "Credits_Total": "number",
        "Baseline_Credits": "number", "Variance": "number", "Misconfig_Likelihood": "select",
        "Risk_Flags": "multi_select", "Job_Type": "rich_text", "Started_At": "date", "Recorded_At": "date",
        "Case_ID": "rich_text", "Quarantined": "checkbox", "Dispatch_Blocked": "checkbox",
    },
    Mirrored.CASE: {
        "Case_ID": "title", "Status": "select", "Severity": "select", "Scenario_ID": "rich_text",
        "Run_ID": "rich_text", "Root_Cause": "select", "Slack_Thread_URL": "url", "Related_Run_IDs": "rich_text",
        "Opened_At": "date", "Resolved_At": "date", "Notes": "rich_text",
    },
}

TITLE = {kind: next(iter(fields)) for kind, fields in SCHEMA.items()}


@dataclass(frozen=True)
class PageWrite:
    """What one page should hold: its database, its properties, and whether it is locked (SEV0)."""

    kind: Mirrored
    key: str                       # the title value: Run_ID or CASE-<n>
    properties: dict[str, Any]
    lock: bool = False

    @property
    def digest(self) -> str:
        body = json.dumps({"properties": self.properties, "lock": self.lock}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """The dry run's shape: `Would write to Notion` in a run file, or a local outbox line for a case."""
        return {"database": self.kind.database, "properties": self.properties, "is_locked": self.lock}


def run_page(fields: Mapping[str, Any], quarantined: bool) -> PageWrite:
    """A run's RUNS_LEDGER page from its recorded fields (the run file / `run.recorded` entry).

    A SEV0 run's page is locked (runbook: "Locks Notion page (read-only)")."""
    severity = str(fields.get("Severity") or "")
    properties = {
        "Run_ID": _title(str(fields["Run_ID"])),
        "Scenario_ID": _text(str(fields.get("Scenario_ID") or "")),
        "Severity": _select(severity),
        "Credits_Total": _number(fields.get("Credits_Total")),
        "Baseline_Credits": _number(fields.get("Baseline_Credits")),
        "Variance": _number(fields.get("Variance")),
        "Misconfig_Likelihood": _select(fields.get("Misconfig_Likelihood")),
        "Risk_Flags": {"multi_select": [{"name": _option(flag)} for flag in fields.get("Risk_Flags") or ()]},
        "Job_Type": _text(str(fields.get("Job_Type") or "")),
        "Started_At": _date(fields.get("Started_At")),
        "Recorded_At": _date(fields.get("Recorded_At")),
        "Case_ID": _text(str(fields.get("Case_ID") or "")),
        "Quarantined": {"checkbox": quarantined},
        "Dispatch_Blocked": {"checkbox": fields.get("dispatch_blocked") is True},
    }
    return PageWrite(Mirrored.RUN, str(fields["Run_ID"]), properties, lock=severity == Severity.SEV0.value)


def case_page(case: Case, scrub: Callable[[str], str]) -> PageWrite:
    """A case's CASES page. Notes are people's free text: `scrub` (the outgoing scrub) runs on each."""
    notes = [f"{note.at.isoformat(timespec='minutes')} {note.by} ({note.kind}): {scrub(note.text)}"
             for note in case.notes]
    properties = {
        "Case_ID": _title(case.case_id),
        "Status": _select(case.status.value),
        "Severity": _select(case.severity.value),
        "Scenario_ID": _text(case.scenario_id),
        "Run_ID": _text(case.run_id),
        "Root_Cause": _select(case.root_cause.value if case.root_cause else None),
        "Slack_Thread_URL": {"url": case.slack_thread_url or None},
        "Related_Run_IDs": _text(", ".join(case.related_run_ids)),
        "Opened_At": _date(case.opened_at.isoformat()),
        "Resolved_At": _date(case.resolved_at.isoformat() if case.resolved_at else None),
        "Notes": {"rich_text": _notes(notes)},
    }
    return PageWrite(Mirrored.CASE, case.case_id, properties)


def _notes(lines: list[str]) -> list[dict[str, Any]]:
    """One rich-text object per note, newest kept when there are more than Notion holds."""
    kept = lines[-PARTS_LIMIT:]
    if len(lines) > PARTS_LIMIT:
        kept[0] = f"({len(lines) - PARTS_LIMIT + 1} earlier notes: `chatops case show`)"
    return [_part(line + "\n") for line in kept]


def _part(text: str) -> dict[str, Any]:
    if len(text) > TEXT_LIMIT:
        text = text[:TEXT_LIMIT - 1] + "…"
    return {"type": "text", "text": {"content": text}}


def _title(text: str) -> dict[str, Any]:
    return {"title": [_part(text)]}


def _text(text: str) -> dict[str, Any]:
    return {"rich_text": [_part(text)] if text else []}


def _option(name: Any) -> str:
    """A select option's name: Notion refuses commas in them."""
    return str(name).replace(",", ";")[:100]


def _select(name: Any) -> dict[str, Any]:
    return {"select": {"name": _option(name)} if name else None}


def _number(value: Any) -> dict[str, Any]:
    return {"number": value if isinstance(value, (int, float)) and not isinstance(value, bool) else None}


def _date(value: Any) -> dict[str, Any]:
    return {"date": {"start": value} if value else None}
