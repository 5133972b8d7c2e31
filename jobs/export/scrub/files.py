"""Files in, files out: reading, binary and unreadable input, clean copies and atomic in-place writes.

An output is never half-written: bytes go to a temporary file in the target's directory, are fsynced,
and renamed over the target (then the directory is fsynced). In place, the source is stat-ed before it
is read and again just before the rename; if it changed meanwhile (an agent still appending to its
session file), the scrub starts again from the new bytes instead of overwriting them, and gives up
after a few tries, leaving the file untouched and reporting it.

A JSONL file larger than `PIECE_BYTES` is read, matched and written in pieces of whole lines, so memory
follows the piece and not the file (a session with hours of screenshots runs to hundreds of megabytes,
and a whole-file pass held it about three times over). Its lines are independent, so the findings,
issues and output are those of the whole file, line numbers included (a test compares the two).
"""
from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from jobs.export.scrub.engine import Engine, FileKind, Outcome
from jobs.export.scrub.report import FileReport, Finding, Issue
from store.files import fsync_directory, temp_path_for, write_all, write_file_atomically, write_synced

BINARY_SNIFF = 8192
IN_PLACE_ATTEMPTS = 3
PIECE_BYTES = 32 * 1024 * 1024
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
        with _opened(path) as (fh, info):
            if not stat.S_ISREG(info.st_mode):
                return _Read(None, None, _not_regular(label))
            data = fh.read()
    except OSError as exc:
        return _Read(None, None, _unreadable(label, exc))
    if b"\x00" in data[:BINARY_SNIFF]:
        return _Read(None, None, _binary(label))
    return _Read(data, (info.st_ino, info.st_size, info.st_mtime_ns), None)


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(fd, "rb") as fh:
        yield fh, os.fstat(fh.fileno())


def _not_regular(label: str) -> Issue:
    return Issue(label, None, "not a regular file", "skipped; nothing written", True)


def _unreadable(label: str, exc: OSError) -> Issue:
    return Issue(label, None, f"cannot be read ({exc.strerror or exc})", "skipped; nothing written", True)


def _binary(label: str) -> Issue:
    return Issue(label, None, "binary file (NUL bytes)", "not scrubbed; nothing written", True)


def _in_pieces(path: Path, piece_bytes: int) -> bool:
    """A JSONL file larger than a piece (a FIFO or a missing file: no, and `_read` says why)."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size > piece_bytes and kind_of(path) is FileKind.JSONL


def _pieces(fh: BinaryIO, piece_bytes: int) -> Iterator[bytes]:
    """The file as pieces of whole lines of about `piece_bytes` (each ends with its newline, but the last
    may not); a line longer than a piece is one piece of its own."""
    rest = b""
    while block := fh.read(piece_bytes):
        block = rest + block
        cut = block.rfind(b"\n")
        if cut < 0:
            rest = block
            continue
        yield block[:cut + 1]
        rest = block[cut + 1:]
    if rest:
        yield rest


@dataclass
class _Pieces:
    """What the pieces of one file add up to: findings and issues at the whole file's line numbers."""

    label: str
    size: int = 0
    lines: int = 0
    changed: bool = False
    findings: list[Finding] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def add(self, piece: bytes, outcome: Outcome) -> None:
        offset = self.lines
        self.findings += [replace(f, line=f.line + offset) for f in outcome.findings]
        self.issues += [replace(i, line=i.line + offset) if i.line is not None else i for i in outcome.issues]
        self.size += len(piece)
        self.lines += piece.count(b"\n")
        self.changed |= outcome.output != piece

    def report(self, output: str | None, notes: list[Issue] | tuple[Issue, ...] = ()) -> FileReport:
        return FileReport(self.label, output, self.size, tuple(self.findings), tuple(notes) + tuple(self.issues),
                          self.changed)


def _scan_pieces(path: Path, engine: Engine, label: str, piece_bytes: int) -> FileReport:
    total = _Pieces(label)
    try:
        with _opened(path) as (fh, info):
            if not stat.S_ISREG(info.st_mode):
                return FileReport(label, None, 0, (), (_not_regular(label),))
            for number, piece in enumerate(_pieces(fh, piece_bytes)):
                if number == 0 and b"\x00" in piece[:BINARY_SNIFF]:
                    return FileReport(label, None, 0, (), (_binary(label),))
                total.add(piece, engine.process(piece, FileKind.JSONL, label, scrub=False))
    except OSError as exc:
        return FileReport(label, None, 0, (), (_unreadable(label, exc),))
    return FileReport(label, None, total.size, tuple(total.findings), tuple(total.issues))   # nothing written


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def scan_file(path: Path, engine: Engine, label: str | None = None, piece_bytes: int = PIECE_BYTES) -> FileReport:
    """Report only: nothing is written."""
    label = label or str(path)
    if _in_pieces(path, piece_bytes):
        return _scan_pieces(path, engine, label, piece_bytes)
    read = _read(path, label)
    if read.data is None:
        return FileReport(label, None, 0, (), (read.issue,) if read.issue else ())
    outcome = engine.process(read.data, kind_of(path), label, scrub=False)
    return FileReport(label, None, len(read.data), outcome.findings, outcome.issues)


def scrub_file(path: Path, engine: Engine, out_path: Path | None = None, in_place: bool = False,
               label: str | None = None, on_scanned: Callable[[], None] | None = None,
               piece_bytes: int = PIECE_BYTES) -> FileReport:
    """Scrub one file into `out_path`, or over itself when `in_place`. Never raises on bad input."""
    if (out_path is None) == (not in_place):
        raise ValueError("scrub_file needs exactly one of out_path or in_place=True")
    label = label or str(path)
    if _in_pieces(path, piece_bytes):
        return _scrub_pieces(path, engine, out_path, label, on_scanned, piece_bytes)
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
        notes.append(_changed_meanwhile(label, attempt))
    return FileReport(label, None, 0, (), (*notes, _kept_changing(label)))


def _scrub_pieces(path: Path, engine: Engine, out_path: Path | None, label: str,
                  on_scanned: Callable[[], None] | None, piece_bytes: int) -> FileReport:
    """`scrub_file` for a file in pieces: each piece is written to the temporary file as it is scrubbed,
    which then replaces the target as a whole file would (in place: only if the source did not change)."""
    notes: list[Issue] = []
    target = out_path if out_path is not None else Path(os.path.realpath(path))
    for attempt in range(1, IN_PLACE_ATTEMPTS + 1):
        total = _Pieces(label)
        try:
            with _opened(path) as (fh, info):
                if not stat.S_ISREG(info.st_mode):
                    return FileReport(label, None, 0, (), tuple(notes) + (_not_regular(label),))
                identity = (info.st_ino, info.st_size, info.st_mtime_ns)
                written = _scrub_into(fh, engine, label, target, _mode_of(path), total, piece_bytes,
                                      f"clean copy {out_path}" if out_path is not None else "rewritten in place")
        except OSError as exc:
            return FileReport(label, None, total.size, tuple(total.findings), tuple(notes) + (
                _unreadable(label, exc) if not isinstance(exc, _WriteFailed) else exc.issue,) + tuple(total.issues))
        if written is None:
            return FileReport(label, None, 0, (), tuple(notes) + (_binary(label),))
        if on_scanned is not None:
            on_scanned()
        if out_path is not None:
            os.replace(written, out_path)
            fsync_directory(out_path.parent)
            return total.report(str(out_path), notes)
        if not total.changed:
            written.unlink(missing_ok=True)
            return replace(total.report(str(path), notes), changed=False)
        if _identity(path) == identity:
            os.replace(written, target)
            fsync_directory(target.parent)
            return total.report(str(path), notes)
        written.unlink(missing_ok=True)
        notes.append(_changed_meanwhile(label, attempt))
    return FileReport(label, None, 0, (), (*notes, _kept_changing(label)))


class _WriteFailed(OSError):
    """The temporary file beside the target could not be written: the issue says which and why."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.problem)
        self.issue = issue


def _scrub_into(fh: BinaryIO, engine: Engine, label: str, target: Path, mode: int, total: _Pieces,
                piece_bytes: int, what: str) -> Path | None:
    """Scrub `fh` piece by piece into a synced temporary file beside `target`; its path, or None for a
    binary file (nothing kept). `what` names the output in an error (`clean copy …`, `rewritten in place`)."""
    temp = temp_path_for(target)

    def failed(exc: OSError) -> _WriteFailed:
        cannot = f"cannot be {what}" if what == "rewritten in place" else f"{what} cannot be written"
        return _WriteFailed(Issue(label, None, f"{cannot} ({exc.strerror or exc})",
                                  "left untouched" if what == "rewritten in place" else "nothing written", True))

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise failed(exc) from None
    try:
        os.fchmod(fd, mode)
        for number, piece in enumerate(_pieces(fh, piece_bytes)):
            if number == 0 and b"\x00" in piece[:BINARY_SNIFF]:
                os.close(fd)
                temp.unlink(missing_ok=True)
                return None
            outcome = engine.process(piece, FileKind.JSONL, label, scrub=True)
            total.add(piece, outcome)
            write_all(fd, outcome.output)
        os.fsync(fd)
        os.close(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.close(fd)
        temp.unlink(missing_ok=True)
        raise failed(exc) from None
    return temp


def _changed_meanwhile(label: str, attempt: int) -> Issue:
    return Issue(label, None, f"changed while being scrubbed (attempt {attempt})",
                 "re-read and scrubbed again; nothing overwritten")


def _kept_changing(label: str) -> Issue:
    return Issue(label, None, f"kept changing over {IN_PLACE_ATTEMPTS} attempts",
                 "left untouched; run the scrub again once the file is no longer written", True)


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
