"""The compliance calendar's file format: a Markdown table a person can read, and edit, in any editor.

`operations/logs/compliance-calendar.md` (seed 002 §7) is free text, then one table:

    | ID | Item | Category | Due | Owner | Status | Notes |
    |---|---|---|---|---|---|---|
    | CAL-1 | GDPR annual review | privacy-review | 2027-01-15 | legal.exec | open | DPA register too |

It is read strictly, because the CEO's daily summary is built from it: a row that cannot be read would
otherwise drop a renewal from the summary without a word. Every error names the row, its line, the
column, the value and the fix. A `|` inside a cell is written `\\|`. Nothing here touches a file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from jobs.errors import Damaged


class Category(StrEnum):
    """What seed 002 §7 says the calendar covers, one value each."""

    PRIVACY_REVIEW = "privacy-review"            # GDPR/CCPA annual review
    SOC2_RENEWAL = "soc2-renewal"                # a vendor's SOC 2 certificate renewal
    CREDENTIAL_ROTATION = "credential-rotation"  # SOP-OPS-credential-management-v1.0
    SLA_REVIEW = "sla-review"                    # a contract's SLA review


CATEGORY_MEANINGS = {
    Category.PRIVACY_REVIEW: "GDPR/CCPA annual review",
    Category.SOC2_RENEWAL: "vendor SOC 2 certificate renewal",
    Category.CREDENTIAL_ROTATION: "credential rotation (SOP-OPS-credential-management-v1.0)",
    Category.SLA_REVIEW: "contract SLA review",
}

COLUMNS = ("ID", "Item", "Category", "Due", "Owner", "Status", "Notes")
ITEM_ID = re.compile(r"^CAL-[1-9][0-9]*$")
OWNER = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_STATUS = re.compile(r"^(open|done ([0-9]{4}-[0-9]{2}-[0-9]{2}))$")
_SEPARATOR_CELL = re.compile(r"^:?-+:?$")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")

PREAMBLE = """# Compliance calendar

security.ops keeps this calendar (seed 002 §7) with `chatops calendar add|done|list`; open items due within
30 days (and any overdue) go to the CEO daily summary. Dates are Pacific calendar dates, YYYY-MM-DD.
You may edit it by hand if the table stays valid: `chatops calendar list` names any row and column it cannot read.

Category: privacy-review (GDPR/CCPA annual review), soc2-renewal (vendor SOC 2 certificate renewal),
credential-rotation (SOP-OPS-credential-management-v1.0), sla-review (contract SLA review).
Owner: a role (security.ops, legal.exec, …) or a person of config.toml [people]. Status: open, or done YYYY-MM-DD.
A | inside a cell is written \\|.
"""


@dataclass(frozen=True)
class CalendarItem:
    item_id: str              # CAL-<n>
    item: str
    category: Category
    due: date                 # a Pacific calendar date
    owner: str                # a role or a configured person
    done_on: date | None = None
    notes: str = ""

    @property
    def is_open(self) -> bool:
        return self.done_on is None

    @property
    def status(self) -> str:
        return "open" if self.done_on is None else f"done {self.done_on.isoformat()}"

    @property
    def number(self) -> int:
        return int(self.item_id.split("-")[1])


@dataclass(frozen=True)
class Calendar:
    """The file as read: its free text above the table (kept as written) and the rows in file order."""

    preamble: str
    items: tuple[CalendarItem, ...]

    def next_id(self) -> str:
        return f"CAL-{1 + max((i.number for i in self.items), default=0)}"


class CalendarDamaged(Damaged):
    """The calendar file cannot be read; the message names the row, line, column and the fix."""


def parse(text: str, name: str) -> Calendar:
    """The calendar in `text` (the file `name`, for messages), or `CalendarDamaged` at the first problem."""
    lines = text.splitlines()
    start = next((n for n, line in enumerate(lines) if line.lstrip().startswith("|")), None)
    if start is None:
        raise CalendarDamaged(f"{name}: no table found; expected a header line `{_row(COLUMNS)}` and a separator "
                              f"line below the text; restore them (or move the file away and start again with "
                              f"`chatops calendar add`)")
    header = _cells(lines[start])
    if header != list(COLUMNS):
        raise CalendarDamaged(f"{name} line {start + 1}: the table header is `{lines[start].strip()}`; expected "
                              f"`{_row(COLUMNS)}` (these columns, in this order); fix the header line")
    separator = _cells(lines[start + 1]) if start + 1 < len(lines) else []
    if len(separator) != len(COLUMNS) or not all(_SEPARATOR_CELL.match(c) for c in separator):
        raise CalendarDamaged(f"{name} line {start + 2}: expected the separator line `{_row(['---'] * len(COLUMNS))}` "
                              f"under the header; add it")
    items: list[CalendarItem] = []
    seen: dict[str, int] = {}
    end = start + 2
    while end < len(lines) and lines[end].lstrip().startswith("|"):
        row = end - start - 1
        item = _item(lines[end], row, end + 1, name)
        if item.item_id in seen:
            raise CalendarDamaged(f"{name} row {row} (line {end + 1}), column ID: {item.item_id} is also row "
                                  f"{seen[item.item_id]}; give one of them an id no other row has")
        seen[item.item_id] = row
        items.append(item)
        end += 1
    for n in range(end, len(lines)):
        if lines[n].strip():
            raise CalendarDamaged(f"{name} line {n + 1}: text after the table ({lines[n].strip()[:40]!r}); move it "
                                  f"above the table or into a row's Notes column")
    return Calendar("\n".join(lines[:start]).rstrip("\n") + "\n", tuple(items))


def render(calendar: Calendar) -> str:
    rows = [_row(COLUMNS), _row(["---"] * len(COLUMNS))]
    rows += [_row([i.item_id, _escape(i.item), i.category.value, i.due.isoformat(), i.owner, i.status,
                   _escape(i.notes)]) for i in calendar.items]
    preamble = calendar.preamble.strip("\n")
    return (preamble + "\n\n" if preamble else "") + "\n".join(rows) + "\n"


def _item(line: str, row: int, line_no: int, name: str) -> CalendarItem:
    where = f"{name} row {row} (line {line_no})"
    stripped = line.strip()
    if not stripped.endswith("|") or stripped.endswith("\\|"):
        raise CalendarDamaged(f"{where}: the row does not end with `|`; close it (a `|` inside a cell is `\\|`)")
    cells = _cells(line)
    if len(cells) != len(COLUMNS):
        raise CalendarDamaged(f"{where}: {len(cells)} cells; expected {len(COLUMNS)} ({' | '.join(COLUMNS)}); "
                              f"write a `|` inside a cell as `\\|`")
    item_id, item, category, due, owner, status, notes = cells

    def bad(column: str, value: str, expected: str) -> CalendarDamaged:
        return CalendarDamaged(f"{where}, column {column}: {value!r} {expected}; fix the cell, then run "
                               f"`chatops calendar list`")

    if not ITEM_ID.match(item_id):
        raise bad("ID", item_id, "is not an item id; expected CAL-<number>, e.g. CAL-7")
    if not item:
        raise bad("Item", item, "is empty; expected what falls due, e.g. \"Stripe SOC 2 report renewal\"")
    if category not in Category.__members__.values():
        raise bad("Category", category, f"is not a category; expected one of {', '.join(Category)}")
    due_date = _date(due)
    if due_date is None:
        raise bad("Due", due, "is not a date; expected YYYY-MM-DD, e.g. 2027-01-15")
    if not OWNER.match(owner):
        raise bad("Owner", owner, "is not an owner; expected a role or a person's name, e.g. security.ops")
    match = _STATUS.match(status)
    done_on = _date(match.group(2)) if match and match.group(2) else None
    if match is None or match.group(2) and done_on is None:
        raise bad("Status", status, "is not a status; expected open, or done YYYY-MM-DD (e.g. done 2026-12-04)")
    return CalendarItem(item_id, _unescape(item), Category(category), due_date, owner, done_on, _unescape(notes))


def _date(text: str) -> date | None:
    if not ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip() for cell in _UNESCAPED_PIPE.split(inner)]


def _row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _unescape(text: str) -> str:
    return text.replace("\\|", "|")
