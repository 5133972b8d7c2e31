"""Reads and writes of the review: the store's cases, approvals and baselines; report files and notes.

Reports live in `runs/CREDIT_REVIEWS/` (the runbook's Key Files). Each is written atomically beside a
`.sha256` sidecar in `sha256sum`'s format (`<64 hex>  <file name>`), so the runbook's check works in that
directory: `sha256sum -c weekly_<date>.json.sha256`. The written file, its hash and who asked are
recorded in the credit ledger (`review.report.written`); the notes file of a week is appended to, one
line per note, and each note is recorded too (`review.noted`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from jobs import approvals
from jobs.actors import Actor, Permission
from jobs.context import Context
from jobs.credits.audit import ledger, who
from jobs.credits.baselines import proposals
from jobs.credits.cases import service as cases
from jobs.credits.review.records import Period, WrittenReport
from jobs.errors import Damaged
from store import artifacts
from store import baselines as baseline_store
from store import quarantine as quarantine_store
from store import reviews as review_store
from store.access import make_dirs
from store.files import open_creating, write_all, write_file_atomically

REVIEWS = Path("runs") / "CREDIT_REVIEWS"
CREDIT_LEDGER = Path("runs") / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
RUN_LOG = Path("runs") / "CREDIT_MONITORING" / "ledger.jsonl"
OPERATIONS_LEDGER = Path("operations") / "ledger.jsonl"


def ledger_path(ctx: Context) -> Path:
    """The signed credit ledger, refused when it is marked damaged (a report from it would be unsound)."""
    path = ctx.data_dir / CREDIT_LEDGER
    if (path.parent / "ledger.damaged").exists():
        raise Damaged(f"the credit ledger {CREDIT_LEDGER} is marked damaged, so no report is made from it; "
                      "run `chatops ledger verify --ledger credit`, then an O3 runs `chatops ledger reopen` or "
                      "`ledger reseal`")
    return path


def reviews_dir(ctx: Context) -> Path:
    return ctx.data_dir / REVIEWS


def report_path(ctx: Context, period: Period) -> Path:
    return reviews_dir(ctx) / f"{period.file_stem}.json"


def chart_path(ctx: Context, period: Period) -> Path:
    return reviews_dir(ctx) / f"{period.file_stem}.png"


def notes_path(ctx: Context, period: Period) -> Path:
    return reviews_dir(ctx) / f"{period.file_stem}.notes.md"


def relative(ctx: Context, path: Path) -> str:
    return str(path.relative_to(ctx.data_dir))


# ---- what the sections read --------------------------------------------------------------------------


def all_cases(ctx: Context):
    return tuple(cases.all_cases(ctx))


def all_approvals(ctx: Context):
    return tuple(approvals.all_requests(ctx))


def baseline_lookup(ctx: Context):
    return baseline_store.current_lookup(ctx.state)


def baseline_history(ctx: Context):
    return baseline_store.history(ctx.state)


def quarantines(ctx: Context) -> list[dict[str, Any]]:
    """Every quarantine, held or released (table `quarantine`): the PII false-positive rate's data."""
    return quarantine_store.all_rows(ctx.state.snapshot())


def pending_proposals(ctx: Context, scenarios: list[str]) -> dict[str, str]:
    found = {}
    for scenario in scenarios:
        pending = proposals.pending(ctx, scenario)
        if pending is not None:
            found[scenario] = pending.id
    return found


def decisions(ctx: Context, week: Period) -> dict[str, dict[str, Any]]:
    rows = review_store.for_week(ctx.state.snapshot(), week.label)
    return {run_id: {k: row[k] for k in ("decision", "by", "at", "note", "case") if k in row}
            for run_id, row in rows.items()}


# ---- writing -----------------------------------------------------------------------------------------


def report_bytes(report: dict[str, Any]) -> bytes:
    """Indented for `cat` and `jq`, in section order (the runbook reads it top to bottom)."""
    return (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_with_sidecar(path: Path, data: bytes) -> str:
    """The file and `<file>.sha256` (sha256sum's line), each replaced atomically; returns the hash."""
    make_dirs(path.parent)
    digest = artifacts.sha256_hex(data)
    write_file_atomically(path, data)
    write_file_atomically(artifacts.sidecar_of(path), artifacts.sidecar_line(path.name, digest))
    return digest


def record_written(ctx: Context, actor: Actor, permission: Permission, written: WrittenReport) -> None:
    ledger_actor, role = who(actor, permission)
    data = {"report": written.period.kind.value, "period": written.period.label, "path": written.path,
            "sha256": written.sha256}
    if written.chart:
        data |= {"chart": written.chart, "chart_sha256": written.chart_sha256}
    ledger(ctx).append("review.report.written", ledger_actor, role, {"data": data})


def append_note(ctx: Context, period: Period, line: str) -> Path:
    """Append one line to the week's notes (created with a heading on first use); O_APPEND, fsynced.
    Two writers at once each append whole lines; the heading is written by whichever creates the file
    (a race between two first notes may write it twice, never lose a note)."""
    path = notes_path(ctx, period)
    make_dirs(path.parent)
    heading = b"" if path.exists() else f"# Weekly review notes: {period.label}\n\n".encode()
    fd = open_creating(path, os.O_WRONLY | os.O_APPEND)      # the data directory's file mode, whatever the umask
    try:
        write_all(fd, heading + (line.rstrip("\n") + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return path
