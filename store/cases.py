"""Typed access to credit-monitoring cases (table `credit_cases`) and their numbering.

Rows are plain mappings with the case's fields; `jobs/credits/cases/service.py` turns them into `Case`
records (the store knows nothing of the domain's types, imports point down only). Writes happen
inside the caller's `state.transaction()`, so a case changes together with everything else of the
same action, or not at all.
"""
from __future__ import annotations

from typing import Any, Iterable

from tinydb import Query, TinyDB


TABLE = "credit_cases"
COUNTER = "credit_case_counter"


def next_number(db: TinyDB) -> int:
    """The next case number (1, 2, …); never reused, even if a case row were removed."""
    table = db.table(COUNTER)
    row = table.get(doc_id=1)
    number = (row["last"] if row else 0) + 1
    if row:
        table.update({"last": number}, doc_ids=[1])
    else:
        table.insert({"last": number})
    return number


def keep_number(db: TinyDB, number: int) -> None:
    """Make sure `next_number` never hands out `number` again (a case restored from the ledger)."""
    table = db.table(COUNTER)
    row = table.get(doc_id=1)
    if row is None:
        table.insert({"last": number})
    elif row["last"] < number:
        table.update({"last": number}, doc_ids=[1])


def insert(db: TinyDB, row: dict[str, Any]) -> None:
    db.table(TABLE).insert(row)


def replace(db: TinyDB, row: dict[str, Any]) -> None:
    db.table(TABLE).update(row, Query().number == row["number"])


def get(db: TinyDB, number: int) -> dict[str, Any] | None:
    return db.table(TABLE).get(Query().number == number)


def all_rows(db: TinyDB) -> list[dict[str, Any]]:
    return sorted(db.table(TABLE).all(), key=lambda r: r["number"])


def numbers(db: TinyDB) -> set[int]:
    """The number of every case in the state."""
    return {row["number"] for row in db.table(TABLE).all()}


def open_rows(db: TinyDB) -> list[dict[str, Any]]:
    return sorted(db.table(TABLE).search(Query().status != "Resolved"), key=lambda r: r["number"])


def newest_open_by_scenario(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each scenario's newest open case row; for `StateStore.derived`."""
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["status"] != "Resolved":
            seen = newest.get(row["scenario_id"])
            if seen is None or row["number"] > seen["number"]:
                newest[row["scenario_id"]] = row
    return newest


def for_run(db: TinyDB, run_id: str) -> dict[str, Any] | None:
    """The newest case that lists `run_id` among its runs."""
    rows = db.table(TABLE).search(Query().related_run_ids.any([run_id]))
    return max(rows, key=lambda r: r["number"]) if rows else None
