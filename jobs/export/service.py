"""The export's reads and writes of the store: each day's record and the marks of exported transcripts.

Tables: `export_days` (one `ExportDay` per date) and `export_marks` (one `Mark` per transcript path).
A day's record and the marks of what it exported are written in one transaction when its commit step
is recorded, so a crash never remembers a transcript as exported before its clean copy is committed.
"""
from __future__ import annotations

from tinydb import Query

from jobs.context import Context
from jobs.export.records import ExportDay, Mark

DAYS = "export_days"
MARKS = "export_marks"


def load_day(ctx: Context, date: str) -> ExportDay | None:
    row = ctx.state.snapshot().table(DAYS).get(Query().date == date)
    return ExportDay.from_row(dict(row)) if row else None


def all_days(ctx: Context) -> list[ExportDay]:
    return sorted((ExportDay.from_row(dict(r)) for r in ctx.state.snapshot().table(DAYS).all()),
                  key=lambda d: d.date)


def day_of_pr(ctx: Context, number: int) -> ExportDay | None:
    row = ctx.state.snapshot().table(DAYS).get(Query().pr == number)
    return ExportDay.from_row(dict(row)) if row else None


def save_day(ctx: Context, day: ExportDay, marks: tuple[Mark, ...] = ()) -> ExportDay:
    """Write the day's record, and with it (same transaction) the marks of what it exported."""
    q = Query()
    with ctx.state.transaction() as db:
        db.table(DAYS).upsert(day.to_row(), q.date == day.date)
        if marks:
            table = db.table(MARKS)
            rows = {r["path"]: dict(r) for r in table.all()}
            rows.update({m.path: {"path": m.path, "size": m.size, "mtime_ns": m.mtime_ns, "date": m.date}
                         for m in marks})
            table.truncate()
            table.insert_multiple(rows.values())
    return day


def marks(ctx: Context) -> dict[str, Mark]:
    return {r["path"]: Mark(**r) for r in ctx.state.snapshot().table(MARKS).all()}
