"""Typed access to the post-incident reviews that have been started (table `postmortems`).

One row per compliance incident whose review clock runs (seed 002 §6): its id, where the review is
written and when it is due. Ids, paths and dates only: what the review says stays in its file.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from tinydb import Query

from store.state import StateStore

TABLE = "postmortems"


@dataclass(frozen=True)
class PostmortemRow:
    incident_id: str
    path: str              # relative to the data directory
    closed_on: str         # Pacific date the incident was closed, YYYY-MM-DD
    due: str               # YYYY-MM-DD, 5 business days later
    started_at: str        # UTC ISO-8601


def put(store: StateStore, row: PostmortemRow) -> None:
    with store.transaction() as db:
        db.table(TABLE).upsert(asdict(row), Query().incident_id == row.incident_id)


def get(store: StateStore, incident_id: str) -> PostmortemRow | None:
    found = store.snapshot().table(TABLE).get(Query().incident_id == incident_id)
    return PostmortemRow(**found) if found is not None else None


def all_rows(store: StateStore) -> list[PostmortemRow]:
    return [PostmortemRow(**row) for row in store.snapshot().table(TABLE).all()]
