"""Run intake from files: `chatops runs record FILE|-` and the daemon's inbox (`inbox/runs/*.json`).

Every way in ends in the same `Recorder`, after the same `schema.parse_run_bytes`. A record that is
not accepted is never lost: an inbox file that is invalid, or a duplicate of a recorded Run_ID, is
moved to `inbox/rejected/` beside a `<name>.error` file that names every problem.

Orchestrators should write `inbox/runs/<name>.json.tmp` (or any name starting with `.`) and rename it
to `<name>.json` when complete: only `*.json` files are read, so a half-written file is never taken.
A file is removed from the inbox only after its run is durable in the ledger; a crash in between
finds it again on the next scan, where it is recognised as a duplicate and kept in `rejected/`.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

import orjson
from jobs.context import Context
from jobs.credits.intake.recorder import Outcome
from jobs.credits.records import RunRecord
from jobs.credits.intake.schema import RunRecordInvalid, parse_run_bytes
from store.access import make_dirs
from store.files import fsync_directory, write_file_atomically

log = logging.getLogger("chatops.credits.intake")

INBOX = Path("inbox") / "runs"
REJECTED = Path("inbox") / "rejected"

#: Files read per scan, in commits' worth: a scan after an outage takes the backlog in slices, so that
#: files arriving meanwhile (and their alerts) are not stuck behind all of it.
INBOX_COMMITS_PER_SCAN = 16


@dataclass(frozen=True)
class InboxResult:
    recorded: list[Outcome]
    rejected: list[tuple[str, str]]     # (file name, why)


def inbox_dir(ctx: Context) -> Path:
    path = ctx.data_dir / INBOX
    make_dirs(path)
    return path


def reject(ctx: Context, name: str, data: bytes, why: str, now: datetime) -> Path:
    """Keep a rejected record in `inbox/rejected/` with a `.error` beside it; returns the kept file."""
    directory = ctx.data_dir / REJECTED
    make_dirs(directory)
    target = directory / name
    if target.exists():
        target = directory / f"{Path(name).stem}.{now.strftime('%Y%m%dT%H%M%S%fZ')}{Path(name).suffix or '.json'}"
    write_file_atomically(target, data)
    write_file_atomically(target.with_name(target.name + ".error"),
                          f"rejected at {now.isoformat()}\n{why}\n".encode())
    return target


def scan_inbox(ctx: Context, record: Callable[[list[RunRecord]], list[Outcome]],
               limit: int | None = None) -> InboxResult:
    """Record the complete `*.json` files in the inbox, oldest name first, at most `limit` per scan.

    `record` is the daemon's `IntakeQueue.record` (group commit with the HTTP intake), or a
    `Recorder`'s `record` for a caller that is the only writer.
    """
    directory = inbox_dir(ctx)
    now = ctx.now()
    names = sorted(n for n in os.listdir(directory) if n.endswith(".json") and not n.startswith("."))
    names = names[:limit or ctx.settings.credits.group_commit_max * INBOX_COMMITS_PER_SCAN]
    valid: list[tuple[str, bytes, RunRecord]] = []
    rejected: list[tuple[str, str]] = []
    for name in names:
        try:
            data = (directory / name).read_bytes()
        except FileNotFoundError:
            continue      # taken by another scanner between listing and reading
        try:
            valid.append((name, data, parse_run_bytes(data, source=f"inbox/runs/{name}")))
        except RunRecordInvalid as exc:
            reject(ctx, name, data, str(exc), now)
            (directory / name).unlink(missing_ok=True)
            rejected.append((name, str(exc)))
            log.warning("%s", exc)
    outcomes = record([run for _, _, run in valid]) if valid else []
    for (name, data, _), outcome in zip(valid, outcomes):
        if not outcome.recorded:
            reject(ctx, name, data, outcome.message, now)
            rejected.append((name, outcome.message))
            log.warning("inbox/runs/%s: %s", name, outcome.message)
        (directory / name).unlink(missing_ok=True)
    if names:
        fsync_directory(directory)
    return InboxResult([o for o in outcomes if o.recorded], rejected)


def read_source(path: str, stdin: bytes | None = None) -> tuple[str, bytes]:
    """`-` is standard input; anything else a file. Returns (source name, bytes)."""
    if path == "-":
        return "stdin", stdin or b""
    try:
        return path, Path(path).read_bytes()
    except OSError as exc:
        raise RunRecordInvalid([f"cannot read {path}: {exc.strerror}"], path) from None


def parse_records(data: bytes, source: str) -> list[RunRecord]:
    """One record (a JSON object) or several (a JSON array of objects), every one validated before any
    is kept: a bad element refuses the whole submission, naming each error with its position."""
    stripped = data.lstrip()
    if not stripped.startswith(b"["):
        return [parse_run_bytes(data, source)]
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RunRecordInvalid([f"not valid JSON: {exc}"], source) from None
    records, errors = [], []
    for i, item in enumerate(items):
        try:
            records.append(parse_run_bytes(orjson.dumps(item), source=f"{source}[{i}]"))
        except RunRecordInvalid as exc:
            errors += [f"[{i}] {e}" for e in exc.errors]
    if errors:
        raise RunRecordInvalid(errors, source)
    return records
