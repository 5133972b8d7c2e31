"""The state journal's format: what one transaction changed, as one JSON line, and how lines replay.

`state.json` holds the whole state as of its last write; `state.journal` holds, one line per committed
transaction since then, the rows that transaction set or deleted and the tables it dropped:

    {"drop": ["old_table"], "tables": {"credit_cases": {"set": {"12": {...row...}}, "del": ["3"]}}}

Every change is a final value (a whole row, a deletion), never an increment, so replaying every line in
order over the state those lines produced gives that state again: each row ends as the last line that
touched it left it. That is what makes folding the journal into `state.json` safe without a second
marker, as long as the new `state.json` is exactly the journal replayed (the folding transaction
appends its own line first): a crash, or a reader, that pairs the new `state.json` with the journal
not yet emptied replays lines the file already holds, and changes nothing.

A line is committed once its fdatasync returned. A crash during an append can leave a last line that
is cut short, or (after a power loss) filled with NULs: such trailing lines were never acknowledged and
are ignored (`committed_lines`); an unreadable line *followed by a good one* is damage, and refused.
"""
from __future__ import annotations

from typing import Any, Iterable

import orjson
from store.errors import Damaged

Tables = dict[str, dict[str, Any]]


class JournalDamaged(Damaged):
    """A line inside the journal (not at its end) cannot be read."""


def delta(before: Tables, after: Tables) -> dict[str, Any] | None:
    """What a transaction changed from `before` to `after`; None when nothing.

    Tables the transaction did not write are the same objects (copy-on-write), and within a written
    table most rows are too, so this costs what changed, not the size of the state.
    """
    dropped = [name for name in before if name not in after]
    tables: dict[str, dict[str, Any]] = {}
    for name, table in after.items():
        old = before.get(name)
        if table is old:
            continue
        if old is None:
            tables[name] = {"set": dict(table), "del": []}
            continue
        changed = {key: row for key, row in table.items() if (was := old.get(key)) is not row and was != row}
        removed = [key for key in old if key not in table]
        if changed or removed:
            tables[name] = {"set": changed, "del": removed}
    if not dropped and not tables:
        return None
    return {"drop": dropped, "tables": tables}


def encode(change: dict[str, Any]) -> bytes:
    return orjson.dumps(change) + b"\n"


def committed_lines(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The committed records of a journal's bytes, and the length they take (what follows is a torn tail).

    Raises JournalDamaged when an unreadable line is followed by a readable one.
    """
    records: list[dict[str, Any]] = []
    good = 0              # bytes up to the end of the last readable line
    bad_at = -1           # offset of the first unreadable line after `good`
    position = 0
    end = data.rfind(b"\n") + 1
    while position < end:
        newline = data.index(b"\n", position)
        line = data[position:newline]
        try:
            record = orjson.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not an object")
        except ValueError:
            if bad_at < 0:
                bad_at = position
        else:
            if bad_at >= 0:
                raise JournalDamaged(f"line at byte {bad_at} cannot be read, and committed lines follow it")
            records.append(record)
            good = newline + 1
        position = newline + 1
    return records, good


def replay(state: Tables, records: Iterable[dict[str, Any]]) -> Tables:
    """`state` with `records` applied in order, as a new top-level dict: each table a record touches is
    copied once, every other table (and every row not set) stays shared with `state`."""
    out = dict(state)
    copied: set[str] = set()
    for record in records:
        for name in record.get("drop", ()):
            out.pop(name, None)
            copied.discard(name)
        for name, change in record.get("tables", {}).items():
            if name not in copied:
                out[name] = dict(out.get(name, {}))
                copied.add(name)
            table = out[name]
            for key in change.get("del", ()):
                table.pop(key, None)
            table.update(change.get("set", {}))
    return out
