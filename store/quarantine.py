"""Typed access to what is in quarantine now (table `credit_quarantine`), for the dispatch gate.

The files themselves live in `runs/QUARANTINE/<Run_ID>/` (store/artifacts.py); this table says which
run is held, by which case, where its file is and the hash it must still have, and when it was
released. Writes happen inside the caller's transaction.
"""
from __future__ import annotations

from typing import Any

from tinydb import Query, TinyDB

TABLE = "credit_quarantine"


def put(db: TinyDB, row: dict[str, Any]) -> None:
    db.table(TABLE).upsert(row, Query().run_id == row["run_id"])


def get(db: TinyDB, run_id: str) -> dict[str, Any] | None:
    return db.table(TABLE).get(Query().run_id == run_id)


def held(db: TinyDB) -> list[dict[str, Any]]:
    """Runs in quarantine now (not released)."""
    return sorted(db.table(TABLE).search(Query().released_at == None), key=lambda r: r["run_id"])  # noqa: E711


def all_rows(db: TinyDB) -> list[dict[str, Any]]:
    """Every quarantine, held or released, by Run_ID (the monthly audit's false-positive rate)."""
    return sorted((dict(r) for r in db.table(TABLE).all()), key=lambda r: r["run_id"])
