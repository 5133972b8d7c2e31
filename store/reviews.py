"""The weekly review's SEV2 decisions (table `weekly_review_decisions`), one row per run decided.

The runbook's SEV2 batch review ("If SEV2 with no case, assess if case is warranted; document decision
in weekly review notes"): a decision is kept here so the next report of the week shows it beside the
run, and it is appended to the week's notes file and recorded in the credit ledger by the caller, in
the caller's `state.transaction()`.
"""
from __future__ import annotations

from typing import Any

from tinydb import Query, TinyDB

TABLE = "weekly_review_decisions"


def get(db: TinyDB, run_id: str) -> dict[str, Any] | None:
    row = db.table(TABLE).get(Query().run_id == run_id)
    return dict(row) if row else None


def put(db: TinyDB, row: dict[str, Any]) -> None:
    db.table(TABLE).upsert(row, Query().run_id == row["run_id"])


def for_week(db: TinyDB, week: str) -> dict[str, dict[str, Any]]:
    """Run_ID → its decision, for the runs of `week` (`2026-W47`)."""
    return {r["run_id"]: dict(r) for r in db.table(TABLE).search(Query().week == week)}
