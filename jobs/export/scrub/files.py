"""Files in, files out: reading, binary and unreadable input, clean copies and atomic in-place writes.

An output is never half-written: bytes go to a temporary file in the target's directory, are fsynced,
and renamed over the target (then the directory is fsynced). In place, the source is stat-ed before it
is read and again just before the rename; if it changed meanwhile (an agent still appending to its
session file), the scrub starts again from the new bytes instead of overwriting them, and gives up
after a few tries, leaving the file untouched and reporting it.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from jobs.export.scrub.engine import Engine, FileKind, Outcome
from jobs.export.scrub.report import FileReport, Issue
from store.files import fsync_directory, write_file_atomically, write_synced

BINARY_SNIFF = 8192
IN_PLACE_ATTEMPTS = 3
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})


@dataclass(frozen=True)
class Progress:
    """Where a run is, for a progress bar: called once a file is scanned and once it is done."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    path: str
    stage: str          # "scanned" (scrubbed in memory, not yet written) or "done"


ProgressFn = Callable[[Progress], None]


def kind_of(path: Path) -> FileKind:
    return FileKind.JSONL if path.suffix.lower() in JSONL_SUFFIXES else FileKind.TEXT


@dataclass(frozen=True)
class _Read:
    data: bytes | None
    identity: tuple[int, int, int] | None
    issue: Issue | None


def _read(path: Path, label: str) -> _Read:
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with open(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                return _Read(None, None, Issue(label, None, "not a regular file", "skipped; nothing written", True))
            data = fh.read()
    except OSError as exc:
        return _Read(None, None, Issue(label, None, f"cannot be read ({exc.strerror or exc})",
                                       "skipped; nothing written", True))
    if b"\x00" in data[:BINARY_SNIFF]:
        return _Read(None, None, Issue(label, None, "binary file (NUL bytes)", "not scrubbed; nothing written", True))
    return _Read(data, (info.st_ino, info.st_size, info.st_mtime_ns), None)


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def scan_file(path: Path, engine: Engine, label: str | None = None) -> FileReport:
    """Report only: nothing is written."""
    label = label or str(path)
    read = _read(path, label)
    if read.data is None:
        return FileReport(label, None, 0, (), (read.issue,) if read.issue else ())
    outcome = engine.process(read.data, kind_of(path), label, scrub=False)
    return FileReport(label, None, len(read.data), outcome.findings, outcome.issues)


def scrub_file(path: Path, engine: Engine, out_path: Path | None = None, in_place: bool = False,
               label: str | None = None, on_scanned: Callable[[], None] | None = None) -> FileReport:
    """Scrub one file into `out_path`, or over itself when `in_place`. Never raises on bad input."""
    if (out_path is None) == (not in_place):
        raise ValueError("scrub_file needs exactly one of out_path or in_place=True")
    label = label or str(path)
    notes: list[Issue] = []
    for attempt in range(1, IN_PLACE_ATTEMPTS + 1):
        read = _read(path, label)
        if read.data is None:
            return FileReport(label, None, 0, (), tuple(notes) + ((read.issue,) if read.issue else ()))
        outcome = engine.process(read.data, kind_of(path), label, scrub=True)
        if on_scanned is not None:
            on_scanned()
        changed = outcome.output != read.data
        if out_path is not None:
            return _write_copy(path, out_path, label, read.data, outcome, notes, changed)
        if not changed:
            return FileReport(label, str(path), len(read.data), outcome.findings, tuple(notes) + outcome.issues)
        try:
            # through a symlink: rewrite the file it points to (replacing the link would leave the
            # secret in its target while the report, reading the link, says clean)
            replaced = _replace_if_unchanged(Path(os.path.realpath(path)), outcome.output, read.identity)
        except OSError as exc:
            notes.append(Issue(label, None, f"cannot be rewritten in place ({exc.strerror or exc})",
                               "left untouched", True))
            return FileReport(label, None, len(read.data), outcome.findings, tuple(notes) + outcome.issues)
        if replaced:
            return FileReport(label, str(path), len(read.data), outcome.findings,
                              tuple(notes) + outcome.issues, changed=True)
        notes.append(Issue(label, None, f"changed while being scrubbed (attempt {attempt})",
                           "re-read and scrubbed again; nothing overwritten"))
    notes.append(Issue(label, None, f"kept changing over {IN_PLACE_ATTEMPTS} attempts",
                       "left untouched; run the scrub again once the file is no longer written", True))
    return FileReport(label, None, 0, (), tuple(notes))


def _write_copy(source: Path, out_path: Path, label: str, data: bytes, outcome: Outcome, notes: list[Issue],
                changed: bool) -> FileReport:
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomically(out_path, outcome.output, _mode_of(source))
    except OSError as exc:
        notes.append(Issue(label, None, f"clean copy {out_path} cannot be written ({exc.strerror or exc})",
                           "nothing written", True))
        return FileReport(label, None, len(data), outcome.findings, tuple(notes) + outcome.issues)
    return FileReport(label, str(out_path), len(data), outcome.findings, tuple(notes) + outcome.issues, changed)


def _mode_of(path: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode) & 0o666
    except OSError:
        return 0o600


def _temp_for(path: Path) -> Path:
    return path.with_name(f".{path.name}.scrub-tmp.{os.getpid()}")


def _replace_if_unchanged(path: Path, data: bytes, identity: tuple[int, int, int] | None) -> bool:
    """Write `data` over `path` unless `path` is no longer the file we read. True when written."""
    tmp = _temp_for(path)
    write_synced(tmp, data, _mode_of(path))
    if _identity(path) != identity:
        tmp.unlink(missing_ok=True)
        return False
    os.replace(tmp, path)
    fsync_directory(path.parent)
    return True
