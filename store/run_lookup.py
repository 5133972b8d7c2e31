"""Find one recorded run without reading the credit ledger: a persistent index keyed by Run_ID.

Why: `chatops gate dispatch RUN_ID` and `chatops runs show RUN_ID` are called by orchestrators and
runbook scripts in loops, and reading a ledger of 100,000 runs into `store.runs_index.RunsIndex` cost
each call 0.3-1.5 s. This index is a SQLite file (stdlib) beside the ledger,
`runs/CREDIT_MONITORING/runs-index.sqlite3`, holding per run where its ledger line is (and quarantine
moves), and how much of which ledger file it covers.

Why it is never trusted stale: the ledger is the record of truth and only ever grows by whole lines.
Before answering, the index is checked against the ledger as it is now: the same file (inode), not
shorter than what the index covers, and the last line it covers still the same bytes (SHA-256). A
ledger that grew is read from where the index stopped (its tail only, complete lines only), under a
write transaction, so a run recorded by another process a moment ago is found. Anything else (another
file after a reseal, a shorter file, a changed last line, a file SQLite cannot read, another schema) is
rebuilt from the ledger. And each answer is read back from the ledger line the index points at: a line
whose bytes differ from the SHA-256 the index took when it read that line means the ledger was edited in
place (same file, same tail): that is refused as damage, never answered from nor indexed again; a row
that points at no line of its run means the index itself is damaged, and it is rebuilt before answering. When the index cannot be written (a reader through the operators' group), an up-to-date index
is read as it is, and a stale one is not used at all: the caller falls back to reading the ledger.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Iterator

import orjson

from store.errors import Damaged
from store.files import open_creating
from store.runs_index import LEDGER, RunInfo, RunsIndex

INDEX = Path("runs") / "CREDIT_MONITORING" / "runs-index.sqlite3"
VERSION = "2"
SCHEMA_VERSION = 2      # PRAGMA user_version: a file of another schema is replaced, never migrated
_SLACK = 64 * 1024        # bytes read past a line's indexed length to find where an edited line now ends
_BUSY_TIMEOUT = 30.0      # seconds a process waits for another one catching the index up
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, offset INTEGER NOT NULL,
                                 length INTEGER NOT NULL, scenario_id TEXT NOT NULL,
                                 sha256 TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS moves (run_id TEXT PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scenarios (scenario_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS runs_by_seq ON runs (seq);
"""


class IndexUnavailable(Exception):
    """The index cannot answer (stale or damaged, and not writable here): read the ledger instead."""


def open_runs(data_dir: Path) -> "RunLookup | RunsIndex":
    """The runs of `data_dir` for a question about one run: the index on disk, or, when it cannot be
    trusted nor rebuilt here, the ledger itself read into memory (slower, never stale)."""
    try:
        return RunLookup.open(data_dir)
    except IndexUnavailable:
        return RunsIndex.open(data_dir)


class RunLookup:
    """The runs index on disk, brought up to date with the ledger when opened (`open`)."""

    def __init__(self, data_dir: Path, db: sqlite3.Connection, writable: bool) -> None:
        self.data_dir = Path(data_dir)
        self.ledger_path = self.data_dir / LEDGER
        self._db = db
        self._writable = writable

    @classmethod
    def open(cls, data_dir: Path) -> "RunLookup":
        """The index of `data_dir`'s credit ledger, checked and caught up; `IndexUnavailable` when it cannot
        be trusted and cannot be rebuilt here."""
        data_dir = Path(data_dir)
        path = data_dir / INDEX
        if not path.parent.is_dir():
            raise IndexUnavailable(f"{path.parent} does not exist yet")
        for attempt in (1, 2):
            lookup = cls._connect(data_dir, path)
            try:
                if lookup._writable:
                    (schema,) = lookup._db.execute("PRAGMA user_version").fetchone()
                    if schema != SCHEMA_VERSION:
                        lookup._db.executescript("DROP TABLE IF EXISTS runs; DROP TABLE IF EXISTS moves; "
                                                 "DROP TABLE IF EXISTS scenarios; DROP TABLE IF EXISTS meta;")
                        lookup._db.executescript(_SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")
                lookup.sync()
                return lookup
            except sqlite3.OperationalError as exc:    # locked past the timeout, read-only directory, …
                lookup.close()
                raise IndexUnavailable(f"{path}: {exc}") from None
            except sqlite3.DatabaseError as exc:       # not a database, or a malformed one: never trusted
                lookup.close()
                if not lookup._writable or attempt == 2:
                    raise IndexUnavailable(f"{path} cannot be read: {exc}") from None
                _remove(path)
        raise AssertionError("unreachable")

    @classmethod
    def _connect(cls, data_dir: Path, path: Path) -> "RunLookup":
        try:
            os.close(open_creating(path, os.O_RDWR | os.O_CLOEXEC))   # created with the data directory's mode
            db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            return cls(data_dir, db, writable=True)
        except PermissionError:
            pass          # not ours to write (a reader through the operators' group): read it as it is
        try:
            db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=_BUSY_TIMEOUT, isolation_level=None,
                                 check_same_thread=False)
        except (sqlite3.Error, OSError) as exc:
            raise IndexUnavailable(f"{path} cannot be opened: {exc}") from None
        return cls(data_dir, db, writable=False)

    def close(self) -> None:
        self._db.close()

    # ---- keeping up with the ledger ------------------------------------------------------------------

    def sync(self) -> int:
        """Check the index against the ledger and index what was appended since; returns the lines read."""
        try:
            fd = os.open(self.ledger_path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            fd = None
        try:
            if self._current(fd):
                return 0
            if fd is not None and self._edited_in_place(self._meta(), fd):
                raise Damaged(f"the credit ledger ({self.ledger_path}) was changed in place: the last line the runs "
                              "index read is no longer where and what it was, in the same file. Nothing is answered "
                              "from it; run `chatops ledger verify --ledger credit`, then restore the file or "
                              "`chatops ledger reseal --ledger credit --reason \"…\" --as <O3>`")
            if not self._writable:
                raise IndexUnavailable(f"{self.data_dir / INDEX} is behind the ledger and cannot be written here")
            self._db.execute("BEGIN IMMEDIATE")        # one process catches up; the others wait, then see it
            try:
                count = self._catch_up(fd)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return count
        finally:
            if fd is not None:
                os.close(fd)

    def _meta(self) -> dict[str, str]:
        try:
            return dict(self._db.execute("SELECT key, value FROM meta"))
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return {}
            raise

    def _current(self, fd: int | None) -> bool:
        """Does the index cover exactly the ledger as it is now (nothing appended, nothing replaced)?"""
        meta = self._meta()
        if fd is None:
            return meta.get("ledger") == "none"
        return meta.get("ledger") != "none" and self._covers(meta, fd) and int(meta["offset"]) == os.fstat(fd).st_size

    def _covers(self, meta: dict[str, str], fd: int) -> bool:
        """Is the ledger the file the index was built from, with the bytes it covers still in place?"""
        if meta.get("version") != VERSION or "offset" not in meta:
            return False
        info = os.fstat(fd)
        offset, last_start = int(meta["offset"]), int(meta["last_start"])
        if meta.get("ledger") != f"{info.st_dev}:{info.st_ino}" or offset > info.st_size:
            return False
        if offset == 0:
            return True
        return _sha256(os.pread(fd, offset - last_start, last_start)) == meta["last_sha256"]

    def _edited_in_place(self, meta: dict[str, str], fd: int) -> bool:
        """The same ledger file, no shorter than what the index covers, yet not covered any more: bytes the
        index read were changed or moved (a ledger only grows by whole lines; a reseal makes a new file and
        a repair only cuts a torn tail the index never covered)."""
        if meta.get("version") != VERSION or "offset" not in meta or meta.get("ledger") == "none":
            return False
        info = os.fstat(fd)
        offset = int(meta["offset"])
        return (meta.get("ledger") == f"{info.st_dev}:{info.st_ino}" and 0 < offset <= info.st_size
                and not self._covers(meta, fd))

    def _catch_up(self, fd: int | None) -> int:
        db = self._db
        meta = self._meta()
        if fd is None:
            self._clear()
            self._put_meta({"version": VERSION, "ledger": "none", "offset": "0", "last_start": "0", "last_sha256": "",
                            "runs": "0"})
            return 0
        if not self._covers(meta, fd):
            self._clear()
            meta = {}
        info = os.fstat(fd)
        offset = int(meta.get("offset", 0))
        data = os.pread(fd, info.st_size - offset, offset) if info.st_size > offset else b""
        end = data.rfind(b"\n") + 1
        runs, moves, scenarios, count, position, last_start = [], [], set(), 0, 0, int(meta.get("last_start", 0))
        while position < end:
            newline = data.index(b"\n", position)
            if newline > position:
                count += 1
                last_start = offset + position
                found = _indexed(data[position:newline], last_start)
                if found is not None:
                    kind, row = found
                    if kind == "run":
                        runs.append(row)
                        scenarios.add((row[4],))
                    else:
                        moves.append(row)
            position = newline + 1
        db.executemany("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)", runs)
        db.executemany("INSERT OR REPLACE INTO moves VALUES (?, ?, ?)", moves)
        db.executemany("INSERT OR IGNORE INTO scenarios VALUES (?)", scenarios)
        covered = offset + end
        last_sha = _sha256(os.pread(fd, covered - last_start, last_start)) if covered else ""
        (indexed,) = db.execute("SELECT count(*) FROM runs").fetchone()
        self._put_meta({"version": VERSION, "ledger": f"{info.st_dev}:{info.st_ino}", "offset": str(covered),
                        "last_start": str(last_start), "last_sha256": last_sha, "runs": str(indexed)})
        return count

    def _clear(self) -> None:
        for table in ("runs", "moves", "scenarios", "meta"):
            self._db.execute(f"DELETE FROM {table}")

    def _put_meta(self, values: dict[str, str]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    # ---- answers ------------------------------------------------------------------------------------

    def get(self, run_id: str) -> RunInfo | None:
        """The run, read back from its own ledger line (None: the ledger records no such run)."""
        found = self._find(run_id)
        if found is None:
            return None
        entry, (seq, offset, length) = found
        started = entry.get("Started_At")
        return RunInfo(str(entry.get("Scenario_ID", "")), str(entry.get("Severity", "")), seq, offset, length,
                       started if isinstance(started, str) else "")

    def entry(self, run_id: str) -> dict | None:
        """The run's `run.recorded` ledger entry."""
        found = self._find(run_id)
        return found[0] if found else None

    def _find(self, run_id: str) -> tuple[dict, tuple[int, int, int]] | None:
        """The run's entry and where it is. An index that points elsewhere, or holds fewer runs than it
        indexed, is rebuilt before it answers."""
        for attempt in (1, 2):
            row = self._row(run_id)
            if row is None:
                if self._holds_what_it_indexed():
                    return None
            else:
                seq, offset, length, sha256 = row
                data = self._line_at(offset, length)
                entry = _entry(data)
                is_this_run = entry is not None and entry.get("kind") == "run.recorded" \
                    and entry.get("Run_ID") == run_id and entry.get("seq") == seq
                if is_this_run and _sha256(data) != sha256:    # the run's own line, not the bytes it had
                    raise Damaged(f"the credit ledger's line for {run_id} ({self.ledger_path}, byte {offset}) is not "
                                  "what was recorded there: it was changed in place. Nothing is answered from it; "
                                  "run `chatops ledger verify --ledger credit` (if that passes, the runs index "
                                  f"itself is damaged: remove {self.data_dir / INDEX}, it is rebuilt from the ledger)")
                if is_this_run:
                    return entry, (seq, offset, length)
            if attempt == 1:
                self.rebuild()
        raise Damaged(f"the runs index ({self.data_dir / INDEX}) still disagrees with the credit ledger about "
                      f"{run_id} after it was rebuilt from it; check the ledger with `chatops ledger verify "
                      f"--ledger credit`")

    def _holds_what_it_indexed(self) -> bool:
        """Before "no such run" is answered: the index still holds every run it indexed (no row lost)."""
        (held,) = self._db.execute("SELECT count(*) FROM runs").fetchone()
        return str(held) == self._meta().get("runs")

    def rebuild(self) -> None:
        """Forget everything and index the ledger again (a damaged index is never answered from)."""
        if not self._writable:
            raise Damaged(f"the runs index ({self.data_dir / INDEX}) does not match the credit ledger and this "
                          "user cannot rebuild it: run the command as the daemon's user, or remove the file (it "
                          "is rebuilt from the ledger)")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("DELETE FROM meta")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self.sync()

    def artifact_of(self, run_id: str) -> tuple[str, str] | None:
        """Where the run's file is now (after any quarantine move) and its recorded hash."""
        entry = self.entry(run_id)
        if entry is None:
            return None
        moved = self._db.execute("SELECT path, sha256 FROM moves WHERE run_id = ?", (run_id,)).fetchone()
        return (moved[0], moved[1]) if moved else (entry.get("artifact", ""), entry.get("artifact_sha256", ""))

    @property
    def scenarios(self) -> set[str]:
        """Every Scenario_ID with a recorded run."""
        return {row[0] for row in self._db.execute("SELECT scenario_id FROM scenarios")}

    def recent_run_ids(self, limit: int) -> Iterator[str]:
        """Up to `limit` Run_IDs, newest first."""
        return (row[0] for row in self._db.execute("SELECT run_id FROM runs ORDER BY seq DESC LIMIT ?", (limit,)))

    def _row(self, run_id: str) -> tuple[int, int, int, str] | None:
        return self._db.execute("SELECT seq, offset, length, sha256 FROM runs WHERE run_id = ?",
                                (run_id,)).fetchone()

    def _line_at(self, offset: int, length: int) -> bytes | None:
        """The whole line that starts at `offset` (an edit may have made it longer or shorter than `length`)."""
        try:
            with open(self.ledger_path, "rb") as f:
                f.seek(offset)
                data = f.read(length + _SLACK)
        except OSError:
            return None
        end = data.find(b"\n")
        return data if end < 0 else data[:end]


def _entry(data: bytes | None) -> dict | None:
    """A ledger line as its entry, None when it is not one."""
    if data is None:
        return None
    try:
        entry = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None


def _indexed(line: bytes, offset: int) -> tuple[str, tuple] | None:
    """A ledger line as a row of `runs` or `moves`, None for the other kinds (skipped on their bytes)."""
    if b'"kind":"run.recorded"' not in line and b'"kind":"quarantine.' not in line:
        return None
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None      # `chatops ledger verify` names a damaged line
    run_id, kind = entry.get("Run_ID"), entry.get("kind")
    if not isinstance(run_id, str) or not isinstance(kind, str):
        return None
    if kind == "run.recorded":
        return "run", (run_id, int(entry.get("seq", -1)), offset, len(line), str(entry.get("Scenario_ID", "")),
                       _sha256(line))
    data = entry.get("data") or {}
    if kind.startswith("quarantine.") and data.get("new_path"):
        return "move", (run_id, data["new_path"], data.get("sha256", ""))
    return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _remove(path: Path) -> None:
    for victim in (path, path.with_name(path.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            victim.unlink()
