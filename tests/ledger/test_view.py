"""store.ledger.view on its own: `sync` reads the ledger backwards in 64 KiB chunks and the view's last line,
so lines that straddle chunk boundaries, a torn view line and a view from another ledger are what it must get
right."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from store.ledger.view import View, ViewDamaged, check

KINDS = frozenset({"run.recorded"})


def write_ledger(path: Path, count: int) -> list[bytes]:
    """`count` canonical-looking entries of varying length, every third an action; returns the run lines."""
    lines = [json.dumps({"kind": "case.opened" if n % 3 == 2 else "run.recorded", "pad": "x" * (n * 37 % 900),
                         "seq": n}, separators=(",", ":"), sort_keys=True).encode() for n in range(count)]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return [line for line in lines if b'"kind":"run.recorded"' in line]


@pytest.mark.parametrize("kept", [0, 1, 150, 399])
def test_sync_appends_exactly_the_missing_run_lines_across_chunk_boundaries(tmp_path, kept):
    ledger, view_path = tmp_path / "ledger.jsonl", tmp_path / "view.jsonl"
    runs = write_ledger(ledger, 600)                      # ~270 KB: several 64 KiB chunks
    torn = runs[kept][:33] if kept < len(runs) else b""   # a view write cut short by a crash
    view_path.write_bytes(b"".join(line + b"\n" for line in runs[:kept]) + torn)
    view = View(view_path, KINDS)
    added = view.sync(ledger, ledger.stat().st_size)
    assert added == len(runs) - kept
    assert view_path.read_bytes().splitlines() == runs
    assert check(view_path, "view", ledger, KINDS).problem == ""


def test_sync_refuses_to_extend_a_view_whose_last_line_is_not_the_ledger_entry(tmp_path):
    ledger, view_path = tmp_path / "ledger.jsonl", tmp_path / "view.jsonl"
    runs = write_ledger(ledger, 30)
    view_path.write_bytes(runs[3].replace(b"xx", b"yy", 1) + b"\n")
    with pytest.raises(ViewDamaged, match="chatops ledger repair"):
        View(view_path, KINDS).sync(ledger, ledger.stat().st_size)
    assert view_path.read_bytes().count(b"\n") == 1       # nothing appended to a view that does not match
