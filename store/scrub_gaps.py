"""Typed access to filed scrub ruleset gaps (table `scrub_gaps`).

A gap is a credential format someone saw the scrub miss (seed 000 §5, "scrub ruleset drift"). The row
is the current state the `scrub gaps` list reads; the operations ledger holds the signed history.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

from tinydb import Query

from store.state import StateStore

TABLE = "scrub_gaps"


class GapState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Gap:
    gap_id: str            # GAP-<n>
    description: str       # the format, in words (never a value: the domain refuses one)
    filed_by: str
    filed_at: str          # UTC ISO-8601
    ruleset: str           # the ruleset version in force when it was filed
    state: GapState = GapState.OPEN
    closed_by: str = ""
    closed_at: str = ""
    resolution: str = ""


def next_id(store: StateStore) -> str:
    return f"GAP-{1 + max((int(g.gap_id.split('-')[1]) for g in all_gaps(store)), default=0)}"


def put(store: StateStore, gap: Gap) -> None:
    """Insert or replace the gap with this id."""
    q = Query()
    with store.transaction() as db:
        db.table(TABLE).upsert(asdict(gap), q.gap_id == gap.gap_id)


def get(store: StateStore, gap_id: str) -> Gap | None:
    row = store.snapshot().table(TABLE).get(Query().gap_id == gap_id)
    return _gap(row) if row is not None else None


def all_gaps(store: StateStore) -> list[Gap]:
    return sorted((_gap(row) for row in store.snapshot().table(TABLE).all()),
                  key=lambda g: int(g.gap_id.split("-")[1]))


def _gap(row: dict) -> Gap:
    return Gap(**{**row, "state": GapState(row["state"])})
