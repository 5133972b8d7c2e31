"""The compliance calendar (seed 002 §7): security.ops adds and closes items; what falls due reaches the CEO.

The file (`operations/logs/compliance-calendar.md`, format in `calendar_table`) is the calendar: what a
person reads is what chatops reads. Every change is made under a lock (read, change, write the whole file
atomically, so a reader sees the old or the new table and two writers never lose one another's rows) and
signed into the operations ledger first, so the ledger holds the history the file does not.

Dates are Pacific calendar dates (`settings.timezone`): "due within 30 days" is counted from today in
Pacific time, whatever the machine's zone.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

from jobs.actors import Actor, Permission, Subject, authorize
from jobs.closest import closest
from jobs.compliance.calendar_table import (ISO_DATE, OWNER, PREAMBLE, Calendar, CalendarItem, Category, parse,
                                            render)
from jobs.context import Context
from jobs.errors import Conflict, Invalid, NotFound
from jobs.settings import ROLE_NAMES
from store.access import make_dirs
from store.files import open_creating, write_file_atomically

CALENDAR_FILE = Path("operations") / "logs" / "compliance-calendar.md"
LOCK_FILE = CALENDAR_FILE.with_name(".compliance-calendar.lock")
#: The CEO daily summary's horizon (seed 002 §7: "when due within 30 days").
SUMMARY_DAYS = 30
MAX_TEXT = 200

#: What `calendar add` acts on before the item has an id.
NEW_ITEM = Subject("calendar item", "new")
ADDED = "calendar.item.added"
DONE = "calendar.item.done"


class CalendarItemNotFound(NotFound):
    """No calendar item has that id; the message names the closest ones."""


def today(ctx: Context) -> date:
    """Today's date in Pacific time (the configured zone), the calendar's dates' zone."""
    return ctx.local(ctx.now()).date()


def read(ctx: Context) -> Calendar:
    """The calendar as the file holds it; an empty one when nobody has added an item yet."""
    path = ctx.data_dir / CALENDAR_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Calendar(PREAMBLE, ())
    return parse(text, str(CALENDAR_FILE))


def list_items(ctx: Context, include_done: bool = False, within: int | None = None) -> list[CalendarItem]:
    """Items by due date: open ones (all with `include_done`), only those due within `within` days if given."""
    last = today(ctx) + timedelta(days=within) if within is not None else None
    items = [i for i in read(ctx).items if (include_done or i.is_open) and (last is None or i.due <= last)]
    return sorted(items, key=lambda i: (i.due, i.number))


def items_due_within(ctx: Context, days: int = SUMMARY_DAYS) -> list[CalendarItem]:
    """Open items due within `days` of today (Pacific), overdue ones included, for the CEO daily summary
    and the sweep. Due on day `days` is in; day `days + 1` is out. A damaged file raises (`CalendarDamaged`):
    a summary that silently left the calendar out would say nothing is due."""
    return list_items(ctx, within=days)


def add_item(ctx: Context, actor: Actor, item: str, category: str, due: str, owner: str,
             notes: str = "") -> CalendarItem:
    """Add an open item and record it; every value is checked before anything is written."""
    authorize(ctx, actor, Permission.CALENDAR_WRITE, "calendar add", NEW_ITEM)
    text = _text("--item", item, required=True)
    kind = _category(category)
    due_on = _due(due, today(ctx))
    who = _owner(ctx, owner)
    remark = _text("--notes", notes, required=False)
    with _locked(ctx):
        calendar = read(ctx)
        added = CalendarItem(calendar.next_id(), text, kind, due_on, who, notes=remark)
        _record(ctx, actor, ADDED, {"item_id": added.item_id, "item": added.item, "category": kind.value,
                                    "due": due_on.isoformat(), "owner": who, "notes": remark})
        _write(ctx, replace(calendar, items=calendar.items + (added,)))
    return added


def mark_done(ctx: Context, actor: Actor, item_id: str, next_due: str = "") -> tuple[CalendarItem, CalendarItem | None]:
    """Mark an item done today; with `next_due`, add its next occurrence (an annual review, a renewal)."""
    item_id = item_id.strip().upper()
    authorize(ctx, actor, Permission.CALENDAR_WRITE, "calendar done", Subject("calendar item", item_id))
    now = today(ctx)
    following_due = _due(next_due, now) if next_due else None
    with _locked(ctx):
        calendar = read(ctx)
        found = next((i for i in calendar.items if i.item_id == item_id), None)
        if found is None:
            near = closest(item_id, [i.item_id for i in calendar.items if i.is_open])
            raise CalendarItemNotFound(f"no calendar item {item_id}" + (f"; closest: {', '.join(near)}" if near else "")
                                       + "; see `chatops calendar list --all`")
        if not found.is_open:
            raise Conflict(f"{item_id} was already marked done on {found.done_on.isoformat()}; to track its next "
                           f"occurrence, `chatops calendar add` it")
        done = replace(found, done_on=now)
        following = (replace(found, item_id=calendar.next_id(), due=following_due, done_on=None)
                     if following_due else None)
        _record(ctx, actor, DONE, {"item_id": item_id, "done_on": now.isoformat(),
                                   "next_item_id": following.item_id if following else "",
                                   "next_due": following_due.isoformat() if following_due else ""})
        items = tuple(done if i.item_id == item_id else i for i in calendar.items) + ((following,) if following else ())
        _write(ctx, replace(calendar, items=items))
    return done, following


def _record(ctx: Context, actor: Actor, kind: str, data: dict) -> None:
    ctx.ledgers.operations.append(kind, actor.ledger_id, actor.role_for(Permission.CALENDAR_WRITE) or None,
                                  {"data": {**data, "person": actor.name}})


def _write(ctx: Context, calendar: Calendar) -> None:
    write_file_atomically(ctx.data_dir / CALENDAR_FILE, render(calendar).encode("utf-8"))


@contextlib.contextmanager
def _locked(ctx: Context) -> Iterator[None]:
    """One writer at a time for the whole read-change-write (the file is replaced whole)."""
    make_dirs((ctx.data_dir / LOCK_FILE).parent)
    fd = open_creating(ctx.data_dir / LOCK_FILE, os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _text(option: str, value: str, required: bool) -> str:
    text = " ".join((value or "").split())
    if required and not text:
        raise Invalid(f"calendar add needs {option}: what falls due, e.g. --item \"Stripe SOC 2 report renewal\"")
    if len(text) > MAX_TEXT:
        raise Invalid(f"{option} is {len(text)} characters; say it in at most {MAX_TEXT}")
    return text


def _category(value: str) -> Category:
    try:
        return Category(value.strip().lower())
    except ValueError:
        raise Invalid(f"--category {value!r}: expected one of {', '.join(Category)}") from None


def _due(value: str, now: date) -> date:
    text = value.strip()
    try:
        due = date.fromisoformat(text) if ISO_DATE.match(text) else None
    except ValueError:
        due = None
    if due is None:
        raise Invalid(f"due date {value!r}: expected YYYY-MM-DD (a Pacific calendar date), e.g. "
                      f"{(now + timedelta(days=30)).isoformat()}")
    if due < now:
        raise Invalid(f"due date {due.isoformat()} is before today ({now.isoformat()}, Pacific); expected today or "
                      f"a later date")
    return due


def _owner(ctx: Context, value: str) -> str:
    owner = value.strip()
    people = sorted(a.name for a in ctx.people)
    if not OWNER.match(owner) or owner not in ROLE_NAMES and owner not in people:
        raise Invalid(f"--owner {value!r}: expected a role ({', '.join(ROLE_NAMES)}) or a person of config.toml "
                      f"[people] ({', '.join(people) or 'none configured'})")
    return owner
