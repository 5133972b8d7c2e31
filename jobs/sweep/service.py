"""The sweep's memory in the state store: findings still open (table `sweep_findings`, one row per key,
with the day first seen), each day's outcome (`sweep_days`) and the ledgers' checkpoints the next day's
verification starts from (`sweep_checkpoints`)."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tinydb import Query

from jobs.context import Context
from jobs.sweep.records import Action, Check, Finding, Level, Sweep

OPEN = "sweep_findings"
DAYS = "sweep_days"
CHECKPOINTS = "sweep_checkpoints"


def _row(f: Finding) -> dict[str, Any]:
    return {**asdict(f), "actions": [asdict(a) for a in f.actions], "dm_to": list(f.dm_to)}


def _finding(row: dict[str, Any]) -> Finding:
    return Finding(key=row["key"], check=Check(row["check"]), level=Level(row["level"]), text=row["text"],
                   channel=row["channel"], dm_to=tuple(row.get("dm_to", ())),
                   actions=tuple(Action(**a) for a in row.get("actions", ())), first_seen=row["first_seen"])


def remember(ctx: Context, today: str, found: list[Finding], ran_at: str) -> Sweep:
    """Today's findings against those still open: a key seen before keeps its first day; a key not found
    today is cleared. Written in one transaction with the day's outcome."""
    with ctx.state.transaction() as db:
        table = db.table(OPEN)
        before = {r["key"]: r["first_seen"] for r in table.all()}
        findings = tuple(f.seen(before.get(f.key, today)) for f in found)
        keys = {f.key for f in findings}
        table.truncate()
        table.insert_multiple(_row(f) for f in findings)
        sweep = Sweep(date=today, ran_at=ran_at, findings=findings,
                      new=tuple(f.key for f in findings if f.key not in before),
                      cleared=tuple(sorted(set(before) - keys)))
        db.table(DAYS).upsert({"date": today, "ran_at": ran_at, "findings": [_row(f) for f in findings],
                               "new": list(sweep.new), "cleared": list(sweep.cleared)}, Query().date == today)
    return sweep


def last_sweep(ctx: Context) -> Sweep | None:
    rows = ctx.state.snapshot().table(DAYS).all()
    if not rows:
        return None
    row = max(rows, key=lambda r: r["date"])
    return Sweep(date=row["date"], ran_at=row["ran_at"], findings=tuple(_finding(r) for r in row["findings"]),
                 new=tuple(row["new"]), cleared=tuple(row["cleared"]))


def checkpoint(ctx: Context, ledger: str) -> str | None:
    row = ctx.state.snapshot().table(CHECKPOINTS).get(Query().ledger == ledger)
    return row["text"] if row else None


def keep_checkpoint(ctx: Context, ledger: str, text: str) -> None:
    with ctx.state.transaction() as db:
        db.table(CHECKPOINTS).upsert({"ledger": ledger, "text": text}, Query().ledger == ledger)
