"""Typed access to the kill switch's state (table `killswitch`) and what it held back (`killswitch_suppressed`).

One row at most: the switch is on while it exists. Suppressed notices are appended in the same
transaction that reads the switch, and popped in the same transaction that ends it, so a notice is
either in the end-of-switch digest or was never suppressed, even when a flow and the expiry race.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Callable

from store.state import StateStore

TABLE = "killswitch"
SUPPRESSED = "killswitch_suppressed"


@dataclass(frozen=True)
class KillSwitchState:
    set_by: str
    reason: str
    set_at: str            # UTC ISO-8601
    until: str             # UTC ISO-8601; the switch ends on its own then
    subject: str           # thread of its announcements, reminders, lift and digest
    last_reminded_at: str

    def expired(self, now: datetime) -> bool:
        return now >= datetime.fromisoformat(self.until)


@dataclass(frozen=True)
class SuppressedNotice:
    at: str
    kind: str
    subject: str
    channel: str
    first_line: str


def current(store: StateStore) -> KillSwitchState | None:
    rows = store.snapshot().table(TABLE).all()
    return KillSwitchState(**rows[0]) if rows else None


def put(store: StateStore, state: KillSwitchState) -> KillSwitchState | None:
    """Set (or replace) the switch; returns the state it replaced."""
    with store.transaction() as db:
        table = db.table(TABLE)
        rows = table.all()
        table.truncate()
        table.insert(asdict(state))
        return KillSwitchState(**rows[0]) if rows else None


def mark_reminded(store: StateStore, at: str) -> None:
    with store.transaction() as db:
        table = db.table(TABLE)
        table.update({"last_reminded_at": at})


def suppress_if(store: StateStore, is_on: Callable[[KillSwitchState], bool], *notices: SuppressedNotice) -> bool:
    """Record `notices` (one alert's channel post and webhook posts) as suppressed if the switch is on by
    `is_on`; one transaction, so an alert is held everywhere or nowhere."""
    with store.transaction() as db:
        rows = db.table(TABLE).all()
        if not rows or not is_on(KillSwitchState(**rows[0])):
            return False
        db.table(SUPPRESSED).insert_multiple(asdict(notice) for notice in notices)
        return True


def take_down(store: StateStore, only_if: Callable[[KillSwitchState], bool]) -> tuple[KillSwitchState, list[SuppressedNotice]] | None:
    """End the switch if it is on and `only_if` holds: remove it and pop what it suppressed, atomically."""
    with store.transaction() as db:
        rows = db.table(TABLE).all()
        if not rows or not only_if(KillSwitchState(**rows[0])):
            return None
        state = KillSwitchState(**rows[0])
        held = [SuppressedNotice(**row) for row in db.table(SUPPRESSED).all()]
        db.table(TABLE).truncate()
        db.table(SUPPRESSED).truncate()
        return state, held
