"""Cases and scenario settings as records: conversion to and from the store's rows, and lookups.

The row keeps the runbook's CASES field names where it has one (`Status`, `Root_Cause`,
`Slack_Thread_URL`, `Related_Run_IDs`, `Resolved_At`) as the values shown by `case show`; the row's
own keys are snake case like every other table.
"""
from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime
from typing import Any

from tinydb import TinyDB

from jobs.credits.records import (BackfillWindow, Case, CaseNote, CaseStatus, RerunDecision, RootCause,
                                  ScenarioSettings, Severity)
from jobs.context import Context
from store import cases as case_store
from store import scenarios as scenario_store
from jobs.errors import NotFound

CASE_ID = re.compile(r"^CASE-([1-9][0-9]{0,8})$", re.IGNORECASE)


class CaseNotFound(NotFound):
    """A case id that is malformed or unknown, worded with how to find the right one."""


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_row(case: Case) -> dict[str, Any]:
    row = asdict(case)
    for name in ("opened_at", "ack_due_at", "acked_at", "resolved_at", "archived_at"):
        row[name] = _iso(getattr(case, name))
    row["severity"] = case.severity.value
    row["status"] = case.status.value
    row["root_cause"] = case.root_cause.value if case.root_cause else None
    row["proposed_root_cause"] = case.proposed_root_cause.value if case.proposed_root_cause else None
    row["rerun_decision"] = case.rerun_decision.value if case.rerun_decision else None
    row["related_run_ids"] = list(case.related_run_ids)
    row["quarantined_run_ids"] = list(case.quarantined_run_ids)
    row["notes"] = [{"at": n.at.isoformat(), "by": n.by, "text": n.text, "kind": n.kind} for n in case.notes]
    return row


def from_row(row: dict[str, Any]) -> Case:
    values = dict(row)
    for name in ("opened_at", "ack_due_at", "acked_at", "resolved_at", "archived_at"):
        values[name] = _time(values.get(name))
    values["severity"] = Severity(values["severity"])
    values["status"] = CaseStatus(values["status"])
    values["root_cause"] = RootCause(values["root_cause"]) if values.get("root_cause") else None
    values["proposed_root_cause"] = (RootCause(values["proposed_root_cause"])
                                     if values.get("proposed_root_cause") else None)
    values["rerun_decision"] = RerunDecision(values["rerun_decision"]) if values.get("rerun_decision") else None
    values["related_run_ids"] = tuple(values.get("related_run_ids", ()))
    values["quarantined_run_ids"] = tuple(values.get("quarantined_run_ids", ()))
    values["notes"] = tuple(CaseNote(at=datetime.fromisoformat(n["at"]), by=n["by"], text=n["text"], kind=n["kind"])
                            for n in values.get("notes", ()))
    return Case(**values)


def parse_case_id(text: str) -> int:
    match = CASE_ID.match(text.strip())
    if not match:
        raise CaseNotFound(f"{text!r} is not a case id; expected CASE-<number>, e.g. CASE-12 "
                           "(list them with `chatops case list`)")
    return int(match.group(1))


def load(db: TinyDB, case_id: str) -> Case:
    number = parse_case_id(case_id)
    row = case_store.get(db, number)
    if row is None:
        import difflib   # only for an unknown case id

        known = [f"CASE-{n}" for n in sorted(case_store.numbers(db))]
        close = difflib.get_close_matches(f"CASE-{number}", known, n=3, cutoff=0.6)
        hint = f"closest known: {', '.join(close)}" if close else f"{len(known)} case(s) exist"
        raise CaseNotFound(f"no case CASE-{number} ({hint}); list them with `chatops case list --all`")
    return from_row(row)


def save(db: TinyDB, case: Case) -> None:
    case_store.replace(db, to_row(case))


def all_cases(ctx: Context) -> list[Case]:
    return [from_row(r) for r in case_store.all_rows(ctx.state.snapshot())]


def open_cases(db: TinyDB) -> list[Case]:
    return [from_row(r) for r in case_store.open_rows(db)]


def case_for_run(db: TinyDB, run_id: str) -> Case | None:
    row = case_store.for_run(db, run_id)
    return from_row(row) if row else None



# ---- scenario settings ---------------------------------------------------------------------------


def scenario_from_row(row: dict[str, Any] | None, scenario_id: str) -> ScenarioSettings:
    if row is None:
        return ScenarioSettings(scenario_id)
    window = row.get("backfill")
    backfill = BackfillWindow(start=datetime.fromisoformat(window["start"]), end=datetime.fromisoformat(window["end"]),
                              reason=window["reason"], set_by=window["set_by"]) if window else None
    return ScenarioSettings(scenario_id=scenario_id, max_items=row.get("max_items"), backfill=backfill,
                            unbaselined_notified=bool(row.get("unbaselined_notified")))


def scenario_to_row(settings: ScenarioSettings) -> dict[str, Any]:
    window = settings.backfill
    return {"scenario_id": settings.scenario_id, "max_items": settings.max_items,
            "backfill": {"start": window.start.isoformat(), "end": window.end.isoformat(), "reason": window.reason,
                         "set_by": window.set_by} if window else None,
            "unbaselined_notified": settings.unbaselined_notified}


def scenario(db: TinyDB, scenario_id: str) -> ScenarioSettings:
    return scenario_from_row(scenario_store.get(db, scenario_id), scenario_id)
