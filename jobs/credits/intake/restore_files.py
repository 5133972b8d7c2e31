"""Nothing lost on a crash: run files that the ledger names but the disk lost are rewritten from the ledger.

The daemon writes a batch's run files before its ledger commit and makes them durable shortly after
(`file_writers.WriteBehindFileWriter`), moving the durable mark each time. If the machine stops in
between, the newest files may be missing, empty or cut short. At start, before the intake takes a run,
`restore_run_files`:

1. reads the mark and the credit-ledger entries after it (read from the end of the file backwards, so
   the cost is the few entries after the mark, not the whole ledger). With no mark, or one whose entry
   the ledger no longer has (a resealed ledger starts again from seq 0), every entry;
2. follows each run recorded after the mark to where it is now (`quarantine.moved` / `.released`);
3. checks its file and sidecar against the entry's hash; rewrites what differs from the entry itself
   (`run_file_bytes(payload_of_entry(entry))`, whose hash must equal the recorded one — a file the
   ledger cannot reproduce is left for `chatops ledger verify --artifacts` to name, never guessed);
4. makes every file it checked durable, records `artifacts.restored` in the ledger when it rewrote any,
   and moves the mark to the end of the ledger.

Runs recorded by `chatops runs record` after the mark were durable before their commit: they are
checked and found whole.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jobs.actors import DAEMON, Actor, Permission, Subject, authorize
from jobs.context import Context
from jobs.credits.audit import CREDIT, ledger, who
from store import artifacts
from store.access import make_dirs
from store.files import sync_files, write_file_atomically
from store.runs_index import LEDGER, entries_after, intake_lock

log = logging.getLogger("chatops.credits.restore")

#: Run ids named in the `artifacts.restored` entry (the count is always whole).
LISTED = 100


@dataclass(frozen=True)
class Restored:
    checked: int = 0                    # runs recorded after the mark
    rewritten: tuple[str, ...] = ()     # Run_IDs whose file or sidecar was rewritten
    unrecoverable: tuple[str, ...] = ()  # Run_IDs whose entry does not reproduce the recorded hash
    through_seq: int = -1               # the mark now


def restore_run_files(ctx: Context, actor: Actor = DAEMON) -> Restored:
    """Steps 1–4, under the intake lock (no recorder is between its file writes and its commit).

    The daemon calls it at start; an O3 may run it (`chatops runs restore-files`) without starting the daemon."""
    authorize(ctx, actor, Permission.RUN_RECORD, "runs restore-files",
              Subject("runs", "run files recorded after the durable mark", CREDIT))
    data_dir = ctx.data_dir
    with intake_lock(data_dir):
        mark = artifacts.read_durable_mark(data_dir)
        after = mark.through_seq if mark is not None else -1
        entries = entries_after(data_dir / LEDGER, after, mark.entry_ts if mark is not None else "")
        if not entries:
            return Restored(through_seq=after)
        where: dict[str, dict[str, Any]] = {}             # Run_ID -> its run.recorded entry
        path_of: dict[str, str] = {}
        for entry in entries:
            run_id = entry.get("Run_ID")
            if entry.get("kind") == "run.recorded" and isinstance(entry.get("artifact"), str):
                where[run_id] = entry
                path_of[run_id] = entry["artifact"]
            elif str(entry.get("kind", "")).startswith("quarantine.") and run_id in path_of:
                new_path = (entry.get("data") or {}).get("new_path")
                if isinstance(new_path, str):
                    path_of[run_id] = new_path
        if (mark is None or entries[0].get("seq", 0) <= after) and where:
            log.info("no durable mark for this ledger: checking the files of all %d recorded runs once", len(where))
        rewritten, unrecoverable, checked_paths = [], [], []
        for run_id, entry in where.items():
            file = data_dir / path_of[run_id]
            outcome = _restore_one(entry, file)
            if outcome == "unrecoverable":
                unrecoverable.append(run_id)
                continue
            if outcome == "rewritten":
                rewritten.append(run_id)
            checked_paths += [file, artifacts.sidecar_of(file)]
        sync_files(data_dir, checked_paths)
        through, through_ts = entries[-1]["seq"], entries[-1].get("ts", "")
        if rewritten or unrecoverable:
            ledger_actor, role = who(actor, Permission.RUN_RECORD)
            with ledger(ctx).commit() as c:
                c.append("artifacts.restored", ledger_actor, role, {"data": {
                    "after_seq": after, "through_seq": through, "rewritten": len(rewritten),
                    "runs": rewritten[:LISTED], "unrecoverable": unrecoverable[:LISTED],
                    "reason": "run files recorded after the durable mark were missing or incomplete at start"}})
            through, through_ts = c.entries[-1].seq, c.entries[-1].ts
        artifacts.write_durable_mark(data_dir, through, ctx.now(), through_ts)
        if rewritten:
            log.warning("start-up: %d run file(s) recorded after the last sync were lost or incomplete and have "
                        "been rewritten from the credit ledger: %s", len(rewritten), ", ".join(rewritten[:10]))
        if unrecoverable:
            log.error("start-up: %d run file(s) differ from the ledger and cannot be rebuilt from it: %s; run "
                      "`chatops ledger verify --artifacts 7` for details", len(unrecoverable),
                      ", ".join(unrecoverable[:10]))
        return Restored(len(where), tuple(rewritten), tuple(unrecoverable), through)


def _restore_one(entry: dict[str, Any], file: Path) -> Literal["intact", "rewritten", "unrecoverable"]:
    """What one run's file and sidecar needed: nothing, a rewrite from the entry, or more than the entry has."""
    digest = entry.get("artifact_sha256")
    expected_sidecar = artifacts.sidecar_line(file.name, str(digest))
    found = _read(file)
    file_ok = found is not None and artifacts.sha256_hex(found) == digest
    sidecar_ok = _read(artifacts.sidecar_of(file)) == expected_sidecar
    if file_ok and sidecar_ok:
        return "intact"
    data = artifacts.run_file_bytes(artifacts.payload_of_entry(entry))
    if artifacts.sha256_hex(data) != digest:
        return "unrecoverable"
    make_dirs(file.parent)
    if not file_ok:
        write_file_atomically(file, data, sync_directory=False)
    if not sidecar_ok:
        write_file_atomically(artifacts.sidecar_of(file), expected_sidecar, sync_directory=False)
    return "rewritten"


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
