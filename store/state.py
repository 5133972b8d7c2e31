"""The state store: TinyDB on a file that is never half-written, shared safely between processes.

Why not plain TinyDB: its JSONStorage rewrites `state.json` in place, so a crash mid-write leaves a
truncated file, and two processes (the daemon and a `chatops` command beside it) each read, modify and
write the whole file, so one silently loses the other's change. Here:

* `AtomicJSONStorage` writes a temporary file, fsyncs it, renames it over `state.json` and fsyncs the
  directory: after a crash the file is either the old or the new version, never a mix.
* `StateStore.transaction()` holds an exclusive `flock` on `state.lock` for a whole read-modify-write,
  applies every change to an in-memory copy, and writes once at the end. A transaction that raises
  writes nothing. Readers need no lock: they always see a complete file.
* `StateStore.snapshot()` parses the file once per version, not once per call: the daemon's intake
  asks for a snapshot on every commit, and parsing a few hundred KiB each time was a quarter of its
  CPU at 1,000 runs/s (bench/credits_bench.py). A version is the file's identity (inode, size, times);
  every write replaces the file, so a new version is a new inode. Snapshots are read-only.
* A transaction starts from that same parsed version when the file's bytes are still the ones it was
  parsed from, and copies only what it changes (`CopyOnWriteTable`): a table it writes, a document it
  updates. Parsing the whole file for every transaction cost 2 ms at 400 KiB (p99 17 ms, 564 cases),
  and each parse made a new object graph that lived long enough to trigger full garbage collections
  (bench/credits_bench.py). Rows are values: change one by writing it again, never by mutating what
  a read returned, because unchanged rows are shared with every reader of the version.

No TinyDB call happens outside `store/`: the rest of the code uses the typed functions in the
`store.*` modules, which open transactions here.
"""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar, cast

import orjson
from tinydb import TinyDB
from tinydb.storages import MemoryStorage, Storage
from tinydb.table import Table

from store.files import write_file_atomically

T = TypeVar("T")

STATE_FILE = "state.json"
LOCK_FILE = "state.lock"


class StateCorrupted(Exception):
    """state.json exists but cannot be parsed: refuse to run rather than start from empty."""


class AtomicJSONStorage(Storage):
    """TinyDB storage that replaces the whole file atomically on every write."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)

    def read_bytes(self) -> bytes:
        try:
            return self._path.read_bytes()
        except FileNotFoundError:
            return b""

    def parse(self, raw: bytes) -> dict[str, Any] | None:
        if not raw.strip():
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise StateCorrupted(
                f"{self._path} is not valid JSON ({exc}); it was not written by chatops's atomic "
                f"storage. Restore it from backup or move it aside to start empty.") from None

    def read(self) -> dict[str, Any] | None:
        return self.parse(self.read_bytes())

    @staticmethod
    def encode(data: dict[str, Any]) -> bytes:
        # orjson: the whole file is rewritten per transaction, so encoding speed is commit latency.
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)

    def write(self, data: dict[str, Any]) -> None:
        self.write_bytes(self.encode(data))

    def write_bytes(self, payload: bytes) -> None:
        write_file_atomically(self._path, payload)

    def close(self) -> None:
        """Nothing stays open between reads and writes."""


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


def _changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether a transaction changed anything: a table it did not write is the same object as before,
    and a table it wrote compares document by document, most of them the same objects."""
    return before.keys() != after.keys() or any(after[k] is not before[k] and after[k] != before[k] for k in after)


def _version(path: Path) -> tuple[int, ...] | None:
    """What identifies one written version of the file (None: no file yet)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class StateStore:
    """The state of one data directory. Safe across threads and processes."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / STATE_FILE
        self._lock_path = self.data_dir / LOCK_FILE
        self._storage = AtomicJSONStorage(self.path)
        self._thread_lock = threading.RLock()
        self._local = threading.local()
        # The last version read or written: (its file identity, its tables, its bytes).
        self._cached: tuple[tuple[int, ...] | None, dict[str, Any], bytes] | None = None
        self._derived: dict[tuple[str, Callable[..., Any]], tuple[dict[str, Any], Any]] = {}

    @contextmanager
    def transaction(self) -> Iterator[TinyDB]:
        """Exclusive read-modify-write. Nested calls in one thread join the outer transaction."""
        current = getattr(self._local, "db", None)
        if current is not None:
            yield current
            return
        with self._thread_lock:
            lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
                before = self._committed()
                db = _TransactionDB(storage=_TransactionStorage)
                db.storage.memory = dict(before)
                self._local.db = db
                try:
                    yield db
                finally:
                    self._local.db = None
                after = db.storage.memory or {}
                if _changed(before, after):
                    payload = self._storage.encode(after)
                    self._cached = None
                    self._storage.write_bytes(payload)
                    # The transaction's tables are the new version: no reader needs to parse it.
                    self._cached = (_version(self.path), after, payload)
            finally:
                os.close(lock_fd)  # closing the descriptor releases the flock

    def _committed(self) -> dict[str, Any]:
        """The committed version, under the writers' lock: the cached parse when the file still holds
        exactly the bytes it was parsed from (compared whole: an inode can be reused and a file's times
        are coarse, and a stale start here would lose another process's write), else a new parse."""
        raw = self._storage.read_bytes()
        cached = self._cached
        if cached is not None and cached[2] == raw:
            return cached[1]
        parsed = self._storage.parse(raw) or {}
        self._cached = (_version(self.path), parsed, raw)
        return parsed

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
        """A read-only view of the last committed state (no lock: the file is always whole).

        Inside a transaction, that transaction's own state. Otherwise the file is parsed only when its
        version differs from the one parsed last; readers of one version share it, so it is read-only
        (`ReadOnlyStorage`).
        """
        current = getattr(self._local, "db", None)
        if current is not None:
            return current
        version = _version(self.path)
        cached = self._cached
        if cached is None or cached[0] != version or version is None:
            raw = self._storage.read_bytes()
            cached = (version, self._storage.parse(raw) or {}, raw)
            if version is not None and version == _version(self.path):   # not replaced while being read
                self._cached = cached
        db = SnapshotDB(storage=ReadOnlyStorage)
        db.storage.memory = cached[1]
        return db
