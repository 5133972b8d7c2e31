"""Run files with `.sha256` sidecars, and their moves into and out of quarantine (docs/ledger.md §9).

Paths follow the runbook so its own commands keep working on the data directory:
`runs/CREDIT_MONITORING/<date>/run_<id>.json` (+ `.json.sha256`), `runs/QUARANTINE/<Run_ID>/`.
The sidecar is in `sha256sum` format (`<64 hex>  <file name>\\n`) and names the file without a
directory, so `sha256sum -c run_<id>.json.sha256` works wherever the pair has been moved.

A run file is a view of its `run.recorded` ledger entry: `run_file_bytes(payload_of_entry(entry))` gives
its exact bytes back, and the entry holds their hash. So the ledger commit is what makes a run durable,
and the files may follow: `chatops runs record` writes them durably before its commit
(`write_new_durable`); the daemon writes them before its commit and syncs them shortly after
(`write_new_pending`, jobs/credits/intake/file_writers.py), recording how far that got in the durable mark
(`read_durable_mark` / `write_durable_mark`). At start, jobs/credits/intake/restore_files.py rewrites from the
ledger any file after the mark that a crash lost. A move verifies the file against its sidecar and the
expected hash first, and is durable when it returns: an artifact that changed after it was recorded is
never silently carried along.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

import orjson

from store.access import ensure_private_dir, file_mode_in, make_dirs
from store.files import fsync_directory, fsync_path, write_file_atomically, write_synced
from store.ledger.entry import ENVELOPE
from store.errors import Damaged

MONITORING = Path("runs") / "CREDIT_MONITORING"
QUARANTINE = Path("runs") / "QUARANTINE"
DURABLE_MARK = MONITORING / "run-files.durable"
_PREFIX = re.compile(r"^(run_|RUN-)", re.IGNORECASE)
#: Keys of a `run.recorded` entry that are the ledger's, not the run file's.
_NOT_IN_FILE = frozenset(ENVELOPE) | {"artifact", "artifact_sha256"}


class ArtifactError(Damaged):
    """An artifact that is missing or does not match its recorded hash, worded with what to do."""


@dataclass(frozen=True)
class Moved:
    old_path: Path       # relative to the data directory
    new_path: Path
    sha256: str


def run_file_name(run_id: str) -> str:
    """`run_<id>.json`, where a Run_ID that already starts with `run_` / `RUN-` is not prefixed twice."""
    return f"run_{_PREFIX.sub('', run_id) or run_id}.json"


def quarantine_dir(run_id: str) -> Path:
    return QUARANTINE / run_id


def sidecar_of(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sidecar_line(name: str, digest: str) -> bytes:
    """`<64 hex>  <file name>\\n`: what `sha256sum` prints, so `sha256sum -c` reads it."""
    return f"{digest}  {name}\n".encode()


def run_file_bytes(payload: Mapping[str, Any]) -> bytes:
    """The run file's bytes: indented for `cat` and `jq`, keys sorted so the same payload always gives
    the same bytes (and hash)."""
    return orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def payload_of_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The run file's payload inside its `run.recorded` ledger entry (the entry adds the envelope and
    the artifact's path and hash)."""
    return {key: value for key, value in entry.items() if key not in _NOT_IN_FILE}


def write_new_pending(path: Path, data: bytes) -> None:
    """Create a run file (or sidecar) without syncing it: the daemon's write-behind writer syncs many
    at once after the ledger commit. A file left by an attempt that crashed before its commit is
    replaced (temp file, rename)."""
    try:
        write_synced(path, data, exclusive=True, sync=False)
    except FileExistsError:
        write_file_atomically(path, data, sync=False)


@dataclass(frozen=True)
class DurableMark:
    """Every run file and sidecar that a credit-ledger entry up to `through_seq` names is durable.

    `entry_ts` is that entry's `ts`: a mark is trusted only while the ledger's entry `through_seq` still
    has it (a resealed ledger starts again from seq 0, and its entries must all be checked)."""

    through_seq: int
    at: str
    entry_ts: str = ""


def read_durable_mark(data_dir: Path) -> DurableMark | None:
    """None when there is no mark yet (a new data directory, or one from before the mark existed)."""
    try:
        raw = orjson.loads((Path(data_dir) / DURABLE_MARK).read_bytes())
        return DurableMark(int(raw["through_seq"]), str(raw["at"]), str(raw.get("entry_ts", "")))
    except FileNotFoundError:
        return None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None      # unreadable: treated as absent, so every run file is checked at start


def write_durable_mark(data_dir: Path, through_seq: int, at: datetime, entry_ts: str = "") -> None:
    """Atomically (temp file, fsync, rename, directory fsync): a crash leaves the old mark or the new."""
    path = Path(data_dir) / DURABLE_MARK
    make_dirs(path.parent)
    write_file_atomically(path, orjson.dumps({"through_seq": through_seq, "entry_ts": entry_ts,
                                              "at": at.isoformat()}) + b"\n")


def write_new_durable(path: Path, data: bytes) -> None:
    """Create a new run file (or sidecar) and make it durable.

    A run file is published by the ledger entry that names it, not by its presence on disk, and a
    published file is never written again (a duplicate Run_ID is refused before any write). So a new
    file is created in place with `O_EXCL` — one directory operation instead of the temp file and
    rename, which measured about twice as fast per batch on this machine. A file left by an attempt
    that crashed before its ledger commit is replaced atomically (temp file, fsync, rename).
    """
    try:
        write_synced(path, data, exclusive=True)
    except FileExistsError:
        write_file_atomically(path, data, sync_directory=False)


def remove_artifact(data_dir: Path, relative: Path) -> None:
    """Undo a write whose ledger commit failed: nothing may stay behind that no entry refers to."""
    target = data_dir / relative
    target.unlink(missing_ok=True)
    sidecar_of(target).unlink(missing_ok=True)


def verify(data_dir: Path, relative: Path, expected_sha256: str) -> None:
    """File, sidecar and the recorded hash must agree; otherwise say which one differs."""
    target = data_dir / relative
    if not target.exists():
        raise ArtifactError(f"{relative} is missing (expected sha256 {expected_sha256[:12]}…); "
                            f"find it with: ls -la {relative.parent}")
    found = sha256_hex(target.read_bytes())
    if found != expected_sha256:
        raise ArtifactError(f"{relative}: sha256 {found[:12]}… does not match the ledger "
                            f"({expected_sha256[:12]}…): the artifact changed after it was recorded")
    sidecar = sidecar_of(target)
    stated = sidecar.read_text().split()[0] if sidecar.exists() and sidecar.read_text().strip() else ""
    if stated != expected_sha256:
        raise ArtifactError(f"{relative}.sha256 sidecar says {stated[:12] or 'nothing'}…, file and ledger say "
                            f"{expected_sha256[:12]}…: restore the sidecar with "
                            f"`echo '{expected_sha256}  {target.name}' > {sidecar.name}`")


def move(data_dir: Path, relative: Path, destination_dir: Path, expected_sha256: str) -> Moved:
    """Move a verified artifact and its sidecar into `destination_dir` (relative), durably, with the mode
    its new directory calls for (into quarantine: its owner's alone, before it is there)."""
    verify(data_dir, relative, expected_sha256)
    source = data_dir / relative
    target_dir = data_dir / destination_dir
    if destination_dir.is_relative_to(QUARANTINE):
        ensure_private_dir(data_dir / QUARANTINE)
    make_dirs(target_dir)
    target = target_dir / source.name
    if target.exists():
        raise ArtifactError(f"{destination_dir / source.name} already exists (another run's file); nothing was moved. "
                            f"Move it aside first, then retry")
    mode = file_mode_in(target_dir)
    for written in (source, sidecar_of(source)):   # it may still be waiting for the write-behind sync
        os.chmod(written, mode)
        fsync_path(written)
    os.replace(sidecar_of(source), sidecar_of(target))
    os.replace(source, target)
    fsync_directory(target_dir)
    fsync_directory(source.parent)
    return Moved(relative, destination_dir / source.name, expected_sha256)


def remove_if_empty(data_dir: Path, relative_dir: Path) -> bool:
    """Remove a directory a move has emptied (a released run's `runs/QUARANTINE/<Run_ID>/`), durably.

    `rmdir(2)` is atomic and refuses a directory that holds anything, so a file put there meanwhile is
    never lost: the directory then stays, and False says so."""
    target = data_dir / relative_dir
    try:
        target.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    fsync_directory(target.parent)
    return True
