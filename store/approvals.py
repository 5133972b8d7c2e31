"""Approval requests and their decisions (table `approvals`), changed only by whole-record updates.

`jobs/approvals.py` owns the rules; this module only guarantees that reading a request, deciding on
it and writing it back happen in one transaction, so "the first decision wins" holds across threads
and processes.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from tinydb import Query

from store.state import StateStore

TABLE = "approvals"
T = TypeVar("T")


def add(store: StateStore, record: dict[str, Any]) -> None:
    with store.transaction() as db:
        db.table(TABLE).insert(record)


def get(store: StateStore, request_id: str) -> dict[str, Any] | None:
    row = store.snapshot().table(TABLE).get(Query().id == request_id)
    return dict(row) if row else None


def find(store: StateStore, **equal: Any) -> list[dict[str, Any]]:
    """Records whose fields equal `equal`, oldest first."""
    rows = [dict(r) for r in store.snapshot().table(TABLE).all()
            if all(r.get(k) == v for k, v in equal.items())]
    return sorted(rows, key=lambda r: r["requested_at"])


def update(store: StateStore, request_id: str,
           change: Callable[[dict[str, Any]], tuple[dict[str, Any], T]]) -> T:
    """Apply `change(record) -> (new record, result)` atomically; returns the result.

    `change` may raise; then nothing is written. To record a refusal and still refuse, return the
    record with the refusal appended and an exception as the result, and raise it after.
    """
    q = Query()
    with store.transaction() as db:
        table = db.table(TABLE)
        row = table.get(q.id == request_id)
        if row is None:
            raise KeyError(request_id)
        new, result = change(dict(row))
        table.update(new, q.id == request_id)
        return result
