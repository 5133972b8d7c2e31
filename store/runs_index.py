"""An in-memory index of the recorded runs, read from the credit ledger itself.

Why no separate index file: the ledger is the record of truth and is already written durably, line
by line, by every process (daemon and CLI). A second file would need its own crash consistency with
the ledger. Instead the index reads `runs/CREDIT_MONITORING/audit/ledger.jsonl` once (about 0.3 s per
100,000 entries with orjson) and then only the bytes appended since (`refresh`), under the intake
lock, so a duplicate `Run_ID` is caught even when another process recorded it a moment ago.

Only complete lines are read: a writer's partial line (no newline yet) waits for the next refresh.
"""
from __future__ import annotations

import fcntl
import itertools
import os
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Protocol

import orjson

from store.access import make_dirs
from store.files import open_creating

LEDGER = Path("runs") / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"     # the signed credit ledger
INTAKE_LOCK = Path("runs") / "CREDIT_MONITORING" / "intake.lock"
_CHUNK = 1 << 16          # bytes read at a time when reading the ledger from its end


class RunInfo(NamedTuple):
    """What the index keeps per run: small on purpose (a daemon may index millions of runs); the rest
    of the entry is read back from the ledger line (`RunsIndex.entry`).

    The index keeps each run as one string (`_packed`) and makes a `RunInfo` only when asked. A dict of
    strings holds nothing the garbage collector tracks, so CPython never tracks the dict itself, and
    no collection walks a million runs. With an object per run a full collection took 154 ms at
    1,000,000 runs. With plain tuples the dict was tracked again whenever a new run's tuple arrived,
    and each full collection walked it: 22 ms at 100,000 runs (bench/credits_bench.py, gc callbacks).
    """

    scenario_id: str
    severity: str
    seq: int
    offset: int
    length: int
    started_at: str = ""     # the record's Started_At (RFC 3339), for listing by date without the ledger


class FindsRuns(Protocol):
    """What the gates ask about runs: this in-memory index, or the index on disk (`store.run_lookup`)."""

    @property
    def scenarios(self) -> set[str]: ...

    def get(self, run_id: str) -> RunInfo | None: ...

    def entry(self, run_id: str) -> dict | None: ...

    def artifact_of(self, run_id: str) -> tuple[str, str] | None: ...

    def recent_run_ids(self, limit: int) -> Iterator[str]: ...


@dataclass
class RunsIndex:
    """Runs by id, each scenario's SEV2 start times (persistence rule), and quarantine moves."""

    ledger_path: Path
    runs: dict[str, str] = field(default_factory=dict)   # Run_ID -> RunInfo's fields, `_packed`
    sev2_times: dict[str, list[datetime]] = field(default_factory=dict)
    moves: dict[str, tuple[str, str]] = field(default_factory=dict)   # run id -> (path now, sha256)
    scenarios: set[str] = field(default_factory=set)   # every Scenario_ID with a recorded run (the gate's "known")
    offset: int = 0

    @classmethod
    def open(cls, data_dir: Path) -> "RunsIndex":
        index = cls(ledger_path=Path(data_dir) / LEDGER)
        index.refresh()
        return index

    def refresh(self) -> int:
        """Read entries appended since the last refresh; returns how many lines were read."""
        try:
            fd = os.open(self.ledger_path, os.O_RDONLY)
        except FileNotFoundError:
            return 0
        try:
            size = os.fstat(fd).st_size
            if size < self.offset:   # replaced by a reseal: start again
                self.runs.clear()
                self.sev2_times.clear()
                self.moves.clear()
                self.scenarios.clear()
                self.offset = 0
            if size == self.offset:
                return 0
            data = os.pread(fd, size - self.offset, self.offset)
        finally:
            os.close(fd)
        count = 0
        position = 0
        end = data.rfind(b"\n") + 1
        while position < end:
            newline = data.index(b"\n", position)
            if newline > position:
                self._add(data[position:newline], self.offset + position)
                count += 1
            position = newline + 1
        self.offset += end
        return count

    def _add(self, line: bytes, offset: int) -> None:
        if b'"kind":"run.recorded"' not in line and b'"kind":"quarantine.' not in line:
            return
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            return   # `chatops ledger verify` names a damaged line; the index just skips it
        kind = entry.get("kind")
        run_id = entry.get("Run_ID")
        if not isinstance(run_id, str):
            return
        if kind == "run.recorded":
            scenario_id = str(entry.get("Scenario_ID", ""))
            severity = str(entry.get("Severity", ""))
            self.scenarios.add(scenario_id)
            started = entry.get("Started_At")
            self.runs[run_id] = _packed(scenario_id, severity, int(entry.get("seq", -1)), offset, len(line),
                                        started if isinstance(started, str) else "")
            if severity == "SEV2" and isinstance(started, str):
                self.sev2_times.setdefault(scenario_id, []).append(datetime.fromisoformat(started))
        elif isinstance(kind, str) and kind.startswith("quarantine."):
            data = entry.get("data") or {}
            if data.get("new_path"):
                self.moves[run_id] = (data["new_path"], data.get("sha256", ""))

    def get(self, run_id: str) -> RunInfo | None:
        packed = self.runs.get(run_id)
        if packed is None:
            return None
        scenario_id, severity, seq, offset, length, started_at = packed.rsplit(_SEPARATOR, 5)
        return RunInfo(scenario_id, severity, int(seq), int(offset), int(length), started_at)

    def runs_per_scenario(self) -> Counter[str]:
        """How many runs of each Scenario_ID are recorded."""
        return Counter(packed.rsplit(_SEPARATOR, 5)[0] for packed in self.runs.values())

    def recent_run_ids(self, limit: int) -> Iterator[str]:
        """Up to `limit` Run_IDs, newest first."""
        return itertools.islice(reversed(self.runs), limit)

    def run_ids(self) -> Iterator[str]:
        """Every recorded Run_ID, in ledger order (oldest first)."""
        return iter(self.runs)

    def entry(self, run_id: str) -> dict | None:
        """The run's `run.recorded` ledger entry, read back from the file."""
        info = self.get(run_id)
        if info is None:
            return None
        with open(self.ledger_path, "rb") as f:
            f.seek(info.offset)
            return orjson.loads(f.read(info.length))

    def artifact_of(self, run_id: str) -> tuple[str, str] | None:
        """Where the run's file is now (after any quarantine move) and its recorded hash."""
        if run_id in self.moves:
            return self.moves[run_id]
        entry = self.entry(run_id)
        return (entry.get("artifact", ""), entry.get("artifact_sha256", "")) if entry else None


_SEPARATOR = "\x00"


def _packed(scenario_id: str, severity: str, seq: int, offset: int, length: int, started_at: str) -> str:
    """One run's `RunInfo` fields as one string. Split from the right, so a Scenario_ID containing the
    separator still unpacks whole."""
    return (f"{scenario_id}{_SEPARATOR}{severity}{_SEPARATOR}{seq}{_SEPARATOR}{offset}{_SEPARATOR}{length}"
            f"{_SEPARATOR}{started_at}")


def ledger_entries(data_dir: Path, kinds: frozenset[str]) -> list[dict[str, Any]]:
    """Every complete entry of the credit ledger whose kind is in `kinds`, in ledger order.

    For start-up checks that read the ledger once (jobs.credits.intake.reconcile); lines of other kinds are
    skipped on their bytes, without decoding.
    """
    try:
        data = (Path(data_dir) / LEDGER).read_bytes()
    except FileNotFoundError:
        return []
    needles = [f'"kind":"{kind}"'.encode() for kind in kinds]
    found = []
    for line in data[:data.rfind(b"\n") + 1].splitlines():
        if any(needle in line for needle in needles):
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue   # a damaged line is `chatops ledger verify`'s to name
            if entry.get("kind") in kinds:
                found.append(entry)
    return found


def entries_after(ledger_path: Path, seq: int, ts: str) -> list[dict[str, Any]]:
    """The complete entries after the entry (`seq`, `ts`), in ledger order, read from the end backwards;
    every entry when the ledger has no such entry (seq -1: every entry)."""
    found: list[dict[str, Any]] = []
    for line in _lines_backwards(ledger_path):
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue          # a damaged line is `chatops ledger verify`'s to name
        entry_seq = entry.get("seq")
        if isinstance(entry_seq, int) and entry_seq <= seq:
            if entry_seq == seq and entry.get("ts") == ts:
                break
            seq = -1          # not the entry the mark was written for: this is another ledger
        found.append(entry)
    found.reverse()
    return found


def _lines_backwards(path: Path) -> Iterator[bytes]:
    """Complete lines, last first (a partial last line, still being written, is skipped)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        end = os.fstat(fd).st_size
        tail = b""
        complete = False          # the bytes after the last newline are not a line yet
        while end > 0:
            start = max(0, end - _CHUNK)
            tail = os.pread(fd, end - start, start) + tail
            end = start
            lines = tail.split(b"\n")
            tail = lines[0]               # may continue in the chunk before
            for line in reversed(lines[1:]):
                if complete and line:
                    yield line
                complete = True
        if tail and complete:
            yield tail
    finally:
        os.close(fd)


@contextmanager
def intake_lock(data_dir: Path) -> Iterator[None]:
    """One recorder at a time per data directory (daemon inbox, HTTP intake, CLI), across processes.

    Held from the duplicate check to the ledger commit, so two processes given the same Run_ID at the
    same moment record it once. The kernel drops the lock if the holder dies.
    """
    path = Path(data_dir) / INTAKE_LOCK
    try:
        fd = open_creating(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:      # a new data directory (a mkdir on every commit cost more than the lock)
        make_dirs(path.parent)
        fd = open_creating(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
