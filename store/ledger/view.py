"""A view of a ledger: a file holding, byte for byte and in order, the ledger's lines of some kinds.

Why it exists: the credit runbook's queries (`jq -s 'group_by(.Severity) …' runs/CREDIT_MONITORING/ledger.jsonl`)
expect that file to hold one line per run. The signed credit ledger also holds every action on runs and
cases, and it must: a run's `run.recorded` and the `case.opened` / `alert.queued` / `quarantine.moved` it
causes are one atomic commit, which is what lets start-up reconciliation restore a case or an alert a crash
lost. Two signed ledgers could not be committed atomically together. So the signed ledger lives in its own
folder and the runbook's file is this view: its lines are the signed lines themselves (same bytes, so the
same Merkle leaves, provable with `chatops ledger prove`), and `check` tells whether it is exactly the
ledger's lines of those kinds: nothing added, changed, reordered or removed.

The view is written by the ledger's writer, under the ledger's lock, just after each commit is signed
(`extend`), without an fsync of its own: it can always be derived again. A process that did not write the
last commit, or a start after a crash between the commit and the view write, first brings the view up to the
ledger (`sync`: it reads the view's last line and the ledger from its end back to that line). A view that no
longer matches its ledger is never extended; `rebuild` (`chatops ledger repair`) writes it again.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import orjson

from store.files import open_creating, write_all, write_file_atomically
from store.ledger.entry import Entry

log = logging.getLogger("chatops.ledger.view")

_CHUNK = 1 << 16


class ViewDamaged(Exception):
    """The view is not the ledger's lines of its kinds (the message says where and how to rebuild it)."""


@dataclass
class View:
    """One view file and the kinds it keeps; remembers how far it is known to match the ledger."""

    path: Path
    kinds: frozenset[str]
    name: str = ""
    synced_to: int = field(default=-1, repr=False)   # ledger bytes the view is known complete for; -1: unknown

    @property
    def label(self) -> str:
        return self.name or str(self.path)

    def forget(self) -> None:
        self.synced_to = -1

    def extend(self, entries: Sequence[Entry], ledger_path: Path, before: int, after: int) -> None:
        """After a commit that took the ledger from `before` to `after` bytes: append its lines of the kinds.

        Never raises: the commit is durable and signed, the view is derived. A failure is logged and the
        next commit (or start) derives the missing lines again.
        """
        try:
            if self.synced_to != before:
                self.sync(ledger_path, after)
                return
            lines = b"".join(e.line + b"\n" for e in entries if e.kind in self.kinds)
            if lines:
                _append(self.path, lines)
            self.synced_to = after
        except (OSError, ViewDamaged) as exc:
            self.synced_to = -1
            log.error("%s was not extended: %s", self.label, exc)

    def sync(self, ledger_path: Path, ledger_bytes: int) -> int:
        """Append the ledger's lines of the kinds that the view lacks; returns how many. Raises ViewDamaged."""
        if self.synced_to == ledger_bytes:
            return 0
        last = _cut_partial_line(self.path)
        last_seq = _seq_of(last, self.label) if last else -1
        missing: list[bytes] = []
        found = last_seq < 0
        for line in _lines_backwards(ledger_path, ledger_bytes):
            seq = _seq_of(line, str(ledger_path))
            if seq > last_seq:
                if _kind_of(line) in self.kinds:
                    missing.append(line)
                continue
            found = seq == last_seq and line == last
            break
        if not found:
            raise ViewDamaged(f"{self.label}: its last line (seq {last_seq}) is not that entry of the signed "
                              f"ledger {ledger_path.name}; rebuild it with: chatops ledger repair --as <O3>")
        if missing or not self.path.exists():
            _append(self.path, b"".join(line + b"\n" for line in reversed(missing)))
        self.synced_to = ledger_bytes
        return len(missing)

    def rebuild(self, ledger_path: Path, ledger_bytes: int) -> int:
        """Write the view again from the whole ledger (replaced atomically); returns its number of lines."""
        lines = [line for line in _lines_forwards(ledger_path, ledger_bytes) if _kind_of(line) in self.kinds]
        write_file_atomically(self.path, b"".join(line + b"\n" for line in lines))
        self.synced_to = ledger_bytes
        return len(lines)


@dataclass(frozen=True)
class ViewCheck:
    """What `check` found: lines that match, the first mismatch (a failure), lines not yet in the view."""

    lines: int
    problem: str = ""
    behind: int = 0


def check(view_path: Path, label: str, ledger_path: Path, kinds: frozenset[str]) -> ViewCheck:
    """Compare the whole view with the ledger's lines of `kinds` (read-only; for `chatops ledger verify`)."""
    expected = (line for line in _lines_forwards(ledger_path, None) if _kind_of(line) in kinds)
    try:
        data = view_path.read_bytes()
    except FileNotFoundError:
        behind = sum(1 for _ in expected)
        return ViewCheck(0, behind=behind)
    actual = data.split(b"\n")
    partial = actual.pop()
    count = 0
    for number, line in enumerate(actual, start=1):
        want = next(expected, None)
        if want is None:
            return ViewCheck(count, f"{label} line {number:,} is not in the signed ledger {ledger_path.name} "
                                    "(the view has more lines than the ledger has of its kinds): it was added "
                                    "after the fact")
        if line != want:
            seq = _seq_or_none(want)
            return ViewCheck(count, f"{label} line {number:,} is not the signed entry it stands for (ledger seq "
                                    f"{seq}): the view was edited, or lines were removed or reordered")
        count += 1
    if partial:
        return ViewCheck(count, f"{label} ends with {len(partial):,} bytes that are not a complete line")
    return ViewCheck(count, behind=sum(1 for _ in expected))


def _append(path: Path, data: bytes) -> None:
    fd = open_creating(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)     # its directory's mode, not the umask
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def _cut_partial_line(path: Path) -> bytes:
    """The view's last complete line; bytes after it (a write cut short by a crash) are removed."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return b""
    try:
        size = os.fstat(fd).st_size
        start = max(0, size - _CHUNK)
        tail = os.pread(fd, size - start, start)
        while start > 0 and tail.count(b"\n") < 2:
            start = max(0, start - _CHUNK)
            tail = os.pread(fd, size - start, start)
        end = tail.rfind(b"\n") + 1
        if start + end < size:
            os.ftruncate(fd, start + end)
        lines = tail[:end].split(b"\n")
        return lines[-2] if len(lines) >= 2 else b""
    finally:
        os.close(fd)


def _lines_backwards(path: Path, size: int) -> Iterator[bytes]:
    """The complete lines in the first `size` bytes of `path`, last first."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        end, tail = size, b""
        while end > 0:
            start = max(0, end - _CHUNK)
            lines = (os.pread(fd, end - start, start) + tail).split(b"\n")
            end = start
            tail = lines[0]
            yield from (line for line in reversed(lines[1:]) if line)
        if tail:
            yield tail
    finally:
        os.close(fd)


def _lines_forwards(path: Path, size: int | None) -> Iterator[bytes]:
    """The complete lines of `path` (of its first `size` bytes when given), in order."""
    try:
        with open(path, "rb") as handle:
            data = handle.read() if size is None else handle.read(size)
    except FileNotFoundError:
        return
    yield from (line for line in data[:data.rfind(b"\n") + 1].split(b"\n") if line)


def _kind_of(line: bytes) -> str | None:
    try:
        kind = orjson.loads(line).get("kind")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None


def _seq_or_none(line: bytes) -> int | None:
    try:
        seq = orjson.loads(line).get("seq")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return seq if isinstance(seq, int) else None


def _seq_of(line: bytes, where: str) -> int:
    seq = _seq_or_none(line)
    if seq is None:
        raise ViewDamaged(f"{where}: a line without a readable seq; rebuild the view with: "
                          "chatops ledger repair --as <O3>")
    return seq
