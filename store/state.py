"""The state store: TinyDB kept in `state.json` and its journal, never half-written, shared safely between processes.

Why not plain TinyDB: its JSONStorage rewrites `state.json` in place, so a crash mid-write leaves a
truncated file, and two processes (the daemon and a `chatops` command beside it) each read, modify and
write the whole file, so one silently loses the other's change. Here:

* `state.json` holds the whole state as of its last write; `state.journal` holds one line per
  transaction since then, with the rows it set or deleted (`store/state_journal.py`). A transaction
  appends its line and fdatasyncs it, so a write costs what it changed: a case opened at 564 cases
  rewrote 400 KiB, and at 1,000 credit runs/s the rewrites came to about 9 MB a second
  (bench/credits_bench.py). When the journal outgrows `state.json` (or 256 KiB), a transaction folds
  it in: `StateFile` writes a temporary file, fsyncs it, renames it over `state.json`, fsyncs
  the directory, and only then empties the journal. After a crash at any point the two files hold
  the old or the new state, never a mix (a torn last journal line was never acknowledged, and is cut
  off by the next writer).
* `StateStore.transaction()` holds an exclusive `flock` on `state.lock` for a whole read-modify-write,
  applies every change to an in-memory copy, and writes once at the end. A transaction that raises
  writes nothing. Readers need no lock: they read both files and check they belong together.
* `StateStore.snapshot()` reads the files once per version, not once per call: the daemon's intake
  asks for a snapshot on every commit, and parsing a few hundred KiB each time was a quarter of its
  CPU at 1,000 runs/s (bench/credits_bench.py). A version is the two files' identities (inode, size,
  times). Snapshots are read-only.
* A transaction starts from that same parsed version when both files still hold exactly the bytes it
  was read from, and copies only what it changes (`CopyOnWriteTable`): a table it writes, a document
  it updates. Parsing the whole file for every transaction cost 2 ms at 400 KiB (p99 17 ms, 564
  cases), and each parse made a new object graph that lived long enough to trigger full garbage
  collections (bench/credits_bench.py). Rows are values: change one by writing it again, never by
  mutating what a read returned, because unchanged rows are shared with every reader of the version.

No TinyDB call happens outside `store/`: the rest of the code uses the typed functions in the
`store.*` modules, which open transactions here.
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar, cast

import orjson
from tinydb import TinyDB
from tinydb.storages import MemoryStorage
from tinydb.table import Table

from store import state_journal
from store.access import make_dirs
from store.files import fsync_directory, open_creating, write_all, write_file_atomically
from store.errors import Damaged

T = TypeVar("T")

STATE_FILE = "state.json"
JOURNAL_FILE = "state.journal"
LOCK_FILE = "state.lock"
#: Bytes the journal may hold before a transaction folds it into `state.json` (or that file's size, if larger).
JOURNAL_LIMIT = 256 * 1024

log = logging.getLogger("chatops.state")


class StateCorrupted(Damaged):
    """state.json exists but cannot be parsed: refuse to run rather than start from empty."""


class StateFile:
    """`state.json`: its bytes, parsed, and replaced atomically when the journal is folded in.

    Not a TinyDB storage: transactions and snapshots hold the parsed tables in memory, and writes go
    through `StateStore` (the journal, or a fold into this file).
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)

    def read_bytes(self) -> bytes:
        try:
            return self._path.read_bytes()
        except FileNotFoundError:
            return b""
        except PermissionError:
            raise StateCorrupted(f"{self._path} cannot be read by this user (permission denied); run chatops as "
                                 "the data directory's owner") from None
        except OSError as exc:     # a directory, a FIFO, an I/O error: never start from empty beside it
            raise StateCorrupted(f"{self._path} cannot be read as chatops's state file ({exc.strerror or exc}); "
                                 "move it aside and restore the state file from backup") from None

    def parse(self, raw: bytes) -> dict[str, Any] | None:
        if not raw.strip():
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise StateCorrupted(
                f"{self._path} is not valid JSON ({exc}); it was not written by chatops's atomic "
                f"storage. Restore it from backup or move it aside to start empty.") from None

    @staticmethod
    def encode(data: dict[str, Any]) -> bytes:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)

    def write_bytes(self, payload: bytes) -> None:
        write_file_atomically(self._path, payload)


_READ_ONLY = "a state snapshot is read-only: change the state inside StateStore.transaction()"


class ReadOnlyState(TypeError):
    """A change was asked of a snapshot. Callers that plan on a snapshot first (the credit recorder)
    catch it and plan again inside a transaction."""


class ReadOnlyStorage(MemoryStorage):
    """The storage of a snapshot: one parsed version shared by every reader of it, so nothing may write.

    `read` hands out a copy of the top level (a few tables), so dropping a table cannot reach the shared
    version; changes to rows are refused by `ReadOnlyTable` before TinyDB touches a row.
    """

    def read(self) -> dict[str, Any] | None:
        return dict(self.memory) if self.memory is not None else None

    def write(self, data: dict[str, Any]) -> None:
        raise ReadOnlyState(_READ_ONLY)


class ReadOnlyTable(Table):
    """Every TinyDB change (insert, update, upsert, remove, truncate) goes through `_update_table`."""

    def _update_table(self, updater: Callable[[dict[int, Any]], None]) -> None:
        raise ReadOnlyState(_READ_ONLY)


class SnapshotDB(TinyDB):
    table_class = ReadOnlyTable


class CopyOnWriteTable(Table):
    """A transaction's table over a committed version shared with readers.

    TinyDB replaces a table's dict on every change (`_update_table`) but changes documents in place
    (`update`), so the transaction's storage holds its own top-level dict and each document an update
    touches is copied first, once per transaction. Every other document stays shared.
    """

    def update(self, fields, cond=None, doc_ids=None):  # type: ignore[override]
        if doc_ids is None:
            doc_ids = [doc.doc_id for doc in (self.search(cond) if cond is not None else self.all())]
        self._own(doc_ids)
        return super().update(fields, doc_ids=doc_ids)

    def update_multiple(self, updates):  # type: ignore[override]
        updates = list(updates)
        self._own({doc.doc_id for _, cond in updates for doc in self.search(cond)})
        return super().update_multiple(updates)

    def _own(self, doc_ids: Iterable[int] | None) -> None:
        """Replace the documents `doc_ids` (None: all) with the transaction's own copies."""
        storage = cast(_TransactionStorage, self.storage)
        tables = storage.memory
        raw = tables.get(self.name) if tables is not None else None
        if not raw:
            return
        owned = storage.owned.setdefault(self.name, set())
        keys = [k for k in (raw if doc_ids is None else map(str, doc_ids)) if k in raw and k not in owned]
        if not keys:
            return
        table = dict(raw)
        for key in keys:
            table[key] = orjson.loads(orjson.dumps(raw[key]))
        owned.update(keys)
        tables[self.name] = table


class _TransactionStorage(MemoryStorage):
    """A transaction's view: its own top-level dict over the committed version's tables."""

    def __init__(self) -> None:
        super().__init__()
        self.owned: dict[str, set[str]] = {}       # table -> documents copied by this transaction


class _TransactionDB(TinyDB):
    table_class = CopyOnWriteTable


def _identity(path: Path) -> tuple[int, ...] | None:
    """What identifies one written version of a file (None: no file yet)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


@dataclass(frozen=True)
class _Version:
    """One committed state: the files it was read from or written as, and its tables."""

    identity: tuple[tuple[int, ...] | None, tuple[int, ...] | None]     # state.json's, state.journal's
    base: bytes            # state.json's bytes
    journal: bytes         # state.journal's committed bytes
    tables: dict[str, Any]


class StateStore:
    """The state of one data directory. Safe across threads and processes.

    `journal_limit`: the size the journal may reach before a transaction folds it into `state.json`
    (at least the size of `state.json` itself, so folding costs at most as much again as the appends).
    """

    def __init__(self, data_dir: Path, journal_limit: int = JOURNAL_LIMIT) -> None:
        self.data_dir = Path(data_dir)
        make_dirs(self.data_dir)
        self.path = self.data_dir / STATE_FILE
        self.journal_path = self.data_dir / JOURNAL_FILE
        self.journal_limit = journal_limit
        self._lock_path = self.data_dir / LOCK_FILE
        self._file = StateFile(self.path)
        self._thread_lock = threading.RLock()
        self._local = threading.local()
        self._cached: _Version | None = None      # the last version read or written
        self._derived: dict[tuple[str, Callable[..., Any]], tuple[dict[str, Any], Any]] = {}

    @contextmanager
    def transaction(self) -> Iterator[TinyDB]:
        """Exclusive read-modify-write. Nested calls in one thread join the outer transaction."""
        current = getattr(self._local, "db", None)
        if current is not None:
            yield current
            return
        with self._thread_lock:
            lock_fd = open_creating(self._lock_path, os.O_RDWR | os.O_CLOEXEC)
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
                version = self._committed()
                db = _TransactionDB(storage=_TransactionStorage)
                db.storage.memory = dict(version.tables)
                self._local.db = db
                try:
                    yield db
                finally:
                    self._local.db = None
                after = db.storage.memory or {}
                change = state_journal.delta(version.tables, after)
                if change is not None:
                    self._cached = None
                    self._cached = self._write(version, change, after)
            finally:
                os.close(lock_fd)  # closing the descriptor releases the flock

    def _write(self, version: _Version, change: dict[str, Any], after: dict[str, Any]) -> _Version:
        """Append the change to the journal (one fdatasync); fold everything into `state.json` when there
        is no `state.json` yet or the journal has outgrown its limit.

        A fold appends its own change first when the journal holds lines: the new `state.json` must be
        exactly the journal replayed, or a reader (or a crash) that pairs it with the not yet emptied
        journal would replay older values over the fold's own change.
        """
        line = state_journal.encode(change)
        fold = not version.base or len(version.journal) + len(line) > max(self.journal_limit, len(version.base))
        journal = version.journal
        if journal or not fold:
            self._append(line)         # committed from here on: a failed fold below is only retried later
            journal += line
        if not fold:
            return _Version(self._identity(), version.base, journal, after)
        payload = self._file.encode(after)
        try:
            self._file.write_bytes(payload)
        except OSError as exc:
            if not journal:            # no line was appended: this write was the commit, and it failed
                raise
            log.warning("%s: could not fold the journal in (%s); the next transaction tries again", self.path, exc)
            return _Version(self._identity(), version.base, journal, after)
        # Only now empty the journal: replaying it over the new state.json gives that state.json again.
        try:
            self._truncate_journal(0)
        except OSError as exc:
            log.warning("%s: could not empty the journal (%s); it replays to the same state", self.journal_path, exc)
            return _Version(self._identity(), payload, journal, after)
        return _Version(self._identity(), payload, b"", after)

    def _append(self, line: bytes) -> None:
        created = not self.journal_path.exists()
        fd = open_creating(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        try:
            write_all(fd, line)
            os.fdatasync(fd)
        finally:
            os.close(fd)
        if created:      # the new file's name must survive a crash too
            fsync_directory(self.data_dir)

    def _truncate_journal(self, length: int) -> None:
        try:
            fd = os.open(self.journal_path, os.O_WRONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            os.ftruncate(fd, length)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _identity(self) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
        return _identity(self.path), _identity(self.journal_path)

    def _committed(self) -> _Version:
        """The committed version, under the writers' lock: the cached one when both files still hold
        exactly the bytes it was read from or written as (compared whole: an inode can be reused and a
        file's times are coarse, and a stale start here would lose another process's write), else the
        files read again. A torn journal tail left by a writer that died is cut off here."""
        base = self._file.read_bytes()
        journal = self._read_journal()
        cached = self._cached
        if cached is not None and cached.base == base and cached.journal == journal:
            return cached
        version = self._parse(base, journal)
        if len(version.journal) < len(journal):
            log.warning("%s: %d bytes after the last committed line (a writer stopped mid-append) removed",
                        self.journal_path, len(journal) - len(version.journal))
            self._truncate_journal(len(version.journal))
            version = _Version(self._identity(), version.base, version.journal, version.tables)
        self._cached = version
        return version

    def _read_journal(self) -> bytes:
        try:
            return self.journal_path.read_bytes()
        except FileNotFoundError:
            return b""

    def _parse(self, base: bytes, journal: bytes,
               identity: tuple[tuple[int, ...] | None, tuple[int, ...] | None] | None = None) -> _Version:
        try:
            records, length = state_journal.committed_lines(journal)
        except state_journal.JournalDamaged as exc:
            raise StateCorrupted(f"{self.journal_path}: {exc}; it was not written by chatops. Restore the "
                                 "data directory from backup.") from None
        tables = state_journal.replay(self._file.parse(base) or {}, records)
        return _Version(identity or self._identity(), base, journal[:length], tables)

    def derived(self, db: TinyDB, table: str, build: Callable[[Iterable[dict[str, Any]]], T]) -> T:
        """`build(rows)` over `table` as `db` (a snapshot or a transaction) sees it, once per version of
        that table, not once per call.

        A table stays the same dict until a transaction writes it (`CopyOnWriteTable`), so its identity
        is its version: the credit recorder asks for every scenario's baseline on each commit, and
        building that from all rows each time was a sixth of its CPU (bench/credits_bench.py, py-spy).
        What `build` returns is shared by every caller: read-only, like the rows it was built from.
        """
        rows = (db.storage.read() or {}).get(table)
        if rows is None:
            return build(())
        key = (table, build)
        hit = self._derived.get(key)
        if hit is not None and hit[0] is rows:
            return hit[1]
        value = build(rows.values())
        self._derived[key] = (rows, value)     # holds `rows`, so its identity cannot be reused meanwhile
        return value

    def snapshot(self) -> TinyDB:
        """A read-only view of the last committed state (no lock: both files are always readable).

        Inside a transaction, that transaction's own state. Otherwise the files are read only when their
        identities differ from the ones read last; readers of one version share it, so it is read-only
        (`ReadOnlyStorage`).
        """
        current = getattr(self._local, "db", None)
        if current is not None:
            return current
        identity = self._identity()
        cached = self._cached
        if cached is None or cached.identity != identity or identity[0] is None:
            cached = self._read_consistent(identity)
        db = SnapshotDB(storage=ReadOnlyStorage)
        db.storage.memory = cached.tables
        return db

    def _read_consistent(self, identity: tuple[tuple[int, ...] | None, tuple[int, ...] | None]) -> _Version:
        """Both files as of one moment, without the writers' lock: a writer that folds the journal
        replaces `state.json` before it empties the journal, so if `state.json` is the same file after
        the journal was read, the two belong together. Otherwise read again."""
        for _ in range(100):
            base = self._file.read_bytes()
            journal = self._read_journal()
            after = self._identity()
            if after[0] == identity[0]:
                version = self._parse(base, journal, after)
                if identity[0] is not None and after == identity:   # nothing written meanwhile: keep it
                    self._cached = version
                return version
            identity = after
        raise StateCorrupted(f"{self.path} kept changing while being read (100 attempts); is another "
                             "program rewriting it?")
