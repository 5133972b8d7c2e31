"""Consistent copies of a data directory, their manifest of hashes, and the swap that restores one.

Consistent: every writer of the data directory holds one of its `flock`s while it writes (the state
store `state.lock`, each ledger's `ledger.lock`, the outbox's `outbox.lock`, the intake's `intake.lock`),
so a copy made while holding all of them sees no half-done commit: a run, its case and its ledger
commit are all in it or none is. The locks are taken without waiting (`LOCK_NB`) and all released when
one is busy, then tried again: a writer that holds one lock and waits for another can never deadlock
with the copy.

Left out of every copy: lock files (they hold nothing), the daemon's lock, logs, and derived caches
that rebuild themselves (the Run_ID index, the scrub's compiled rules); the key directory unless asked.
The manifest (`MANIFEST.json`) lists every file with its SHA-256, size and mode; `verify_files` checks
a copy against it before anything trusts the copy: a missing, added or changed file is named.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from store.access import PRIVATE_DIR, PRIVATE_FILE
from store.errors import Conflict, Damaged
from store.files import fsync_directory, write_file_atomically

MANIFEST = "MANIFEST.json"
FORMAT = "chatops-backup"
FORMAT_VERSION = 1
KEYS = "keys"                    # where a copy holds the key directory (--include-keys)
LOCK_WAIT = 30.0                 # seconds to get every lock before the copy gives up
#: Never copied: what holds no data, or is derived and rebuilt on first use.
SKIPPED_NAMES = frozenset({"daemon.lock", "runs-index.sqlite3", "runs-index.sqlite3-journal",
                           "runs-index.sqlite3-wal", "runs-index.sqlite3-shm"})
SKIPPED_DIRS = frozenset({"logs", "cache"})      # logs; compiled scrub rules (cache/scrub)


class Busy(Conflict):
    """The data directory's writers did not let go of their locks in time."""


@dataclass(frozen=True)
class FileEntry:
    path: str            # relative, POSIX
    sha256: str
    size: int
    mode: int


def lock_paths(data_dir: Path, ledger_dirs: list[Path]) -> list[Path]:
    """Every writers' lock of the data directory (the module docstring says which)."""
    from store.outbox import LOCK_FILE as OUTBOX_LOCK
    from store.runs_index import INTAKE_LOCK
    from store.state import LOCK_FILE as STATE_LOCK

    return [data_dir / STATE_LOCK, data_dir / OUTBOX_LOCK, data_dir / INTAKE_LOCK,
            *(d / "ledger.lock" for d in ledger_dirs)]


@contextmanager
def all_locks(paths: list[Path], wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold every lock in `paths` (those whose folder exists), taken without waiting and retried."""
    deadline = time.monotonic() + wait
    while True:
        held: list[int] = []
        busy = ""
        for path in paths:
            if not path.parent.is_dir():
                continue
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                busy = str(path)
                break
            held.append(fd)
        if not busy:
            break
        for fd in held:
            os.close(fd)
        if time.monotonic() > deadline:
            raise Busy(f"{busy} stayed locked for {wait:.0f} s (a writer is busy); try again, or stop the daemon first")
        time.sleep(0.05)
    try:
        yield
    finally:
        for fd in held:
            os.close(fd)


def held(path: Path) -> bool:
    """Is `path`'s lock held by some process (a running daemon holds its lock for its whole life)?"""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return True
        raise
    finally:
        os.close(fd)
    return False


def _skipped(relative: Path) -> bool:
    return (relative.name in SKIPPED_NAMES or relative.suffix == ".lock"
            or bool(relative.parts) and relative.parts[0] in SKIPPED_DIRS)


def copy_tree(source: Path, target: Path, into: str = "", exclude: Path | None = None) -> list[FileEntry]:
    """Copy `source`'s files into `target/into` (modes kept, owner-only folders), hashing as it goes;
    `exclude` (a folder inside `source`, the key directory) is left out."""
    entries = []
    for folder, dirs, files in os.walk(source):
        here = Path(folder)
        rel_dir = here.relative_to(source)
        dirs[:] = sorted(d for d in dirs if not (exclude is not None and (here / d).resolve() == exclude.resolve())
                         and not (rel_dir == Path(".") and d in SKIPPED_DIRS and not into))
        made = target / into / rel_dir
        made.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        made.chmod(here.stat().st_mode & 0o7777)
        for name in sorted(files):
            path = here / name
            relative = rel_dir / name
            if not into and _skipped(relative) or path.is_symlink() or not path.is_file():
                continue
            destination = target / into / relative
            destination.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
            digest = hashlib.sha256()
            with open(path, "rb") as reader, open(destination, "wb") as writer:
                for chunk in iter(lambda: reader.read(1 << 20), b""):
                    digest.update(chunk)
                    writer.write(chunk)
                writer.flush()
                os.fsync(writer.fileno())
            mode = path.stat().st_mode & 0o7777
            os.chmod(destination, mode)
            entries.append(FileEntry((Path(into) / relative).as_posix(), digest.hexdigest(),
                                     destination.stat().st_size, mode))
    return entries


def dir_modes(root: Path) -> dict[str, str]:
    """Every folder's mode under `root` (relative path → "0750"), for the restore to put back."""
    return {d.relative_to(root).as_posix(): f"{d.stat().st_mode & 0o7777:04o}"
            for d in sorted(root.rglob("*")) if d.is_dir() and not d.is_symlink()}


def apply_dir_modes(root: Path, modes: dict[str, str]) -> None:
    """Put the folders' modes back (the key folder's included); folders not listed stay owner-only."""
    for relative, mode in modes.items():
        folder = root / relative
        if folder.is_dir() and not folder.is_symlink():
            folder.chmod(int(mode, 8))


def write_manifest(target: Path, header: dict[str, Any], entries: list[FileEntry]) -> str:
    """`MANIFEST.json` (the header, then every file); returns its SHA-256 (recorded in the ledger)."""
    body = {"format": FORMAT, "format_version": FORMAT_VERSION, **header,
            "files": {e.path: {"sha256": e.sha256, "size": e.size, "mode": f"{e.mode:04o}"} for e in entries}}
    data = json.dumps(body, indent=1, sort_keys=True).encode() + b"\n"
    write_file_atomically(target / MANIFEST, data, PRIVATE_FILE)
    return hashlib.sha256(data).hexdigest()


def read_manifest(snapshot: Path) -> tuple[dict[str, Any], str]:
    """The manifest and its SHA-256; `Damaged` when it is missing or not ours."""
    path = snapshot / MANIFEST
    try:
        data = path.read_bytes()
        manifest = json.loads(data)
    except FileNotFoundError:
        raise Damaged(f"{snapshot} has no {MANIFEST}: not a chatops backup (make one with chatops backup DIR)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise Damaged(f"{path} cannot be read ({exc}); the backup is damaged, use another") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), dict):
        raise Damaged(f"{path} is not a chatops backup manifest; use a directory made by chatops backup")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise Damaged(f"{path} is backup format {manifest.get('format_version')}, newer than this chatops "
                      f"reads ({FORMAT_VERSION}); restore it with the chatops version that made it")
    return manifest, hashlib.sha256(data).hexdigest()


def verify_files(snapshot: Path, manifest: dict[str, Any]) -> int:
    """Every file of the manifest present with its hash, and no other file; returns the count."""
    listed: dict[str, dict[str, Any]] = manifest["files"]
    present = {p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file() or p.is_symlink()}
    present.discard(MANIFEST)
    extra = sorted(present - set(listed))
    missing = sorted(set(listed) - present)
    if missing or extra:
        what = f"missing {missing[0]}" if missing else f"{extra[0]} is not in the manifest"
        more = len(missing) + len(extra) - 1
        raise Damaged(f"backup {snapshot}: {what}{f' (and {more} more)' if more else ''}; it was changed "
                      f"after chatops backup made it: use another backup")
    for relative, entry in sorted(listed.items()):
        path = snapshot / relative
        if path.is_symlink():
            raise Damaged(f"backup {snapshot}: {relative} is a symlink; a backup holds only files")
        digest = hashlib.sha256()
        with open(path, "rb") as reader:
            for chunk in iter(lambda: reader.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != entry.get("sha256"):
            raise Damaged(f"backup {snapshot}: {relative} does not match its SHA-256 in the manifest; it was "
                          "changed after the backup: use another backup")
    return len(listed)


def exchange(a: Path, b: Path) -> None:
    """Swap two directories atomically where the kernel can (Linux `renameat2(RENAME_EXCHANGE)`);
    elsewhere two renames through a third name, each atomic, `b` never missing for long."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        at_fdcwd, rename_exchange = -100, 2
        if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
            fsync_directory(a.parent)
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), str(b))
    aside = b.with_name(b.name + ".swap")
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)
    fsync_directory(a.parent)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=False)
