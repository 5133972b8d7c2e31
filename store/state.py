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

No TinyDB call happens outside `store/`: the rest of the code uses the typed functions in the
`store.*` modules, which open transactions here.
"""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson
from tinydb import TinyDB
from tinydb.storages import MemoryStorage, Storage
from tinydb.table import Table

from store.files import write_file_atomically

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
        self._cached: tuple[tuple[int, ...] | None, dict[str, Any]] | None = None   # (version, parsed)

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
                raw = self._storage.read_bytes()
                db = TinyDB(storage=MemoryStorage)
                db.storage.write(self._storage.parse(raw) or {})
                self._local.db = db
                try:
                    yield db
                finally:
                    self._local.db = None
                # Parse once, compare encodings: cheaper than keeping a second parsed copy to compare.
                data = db.storage.read() or {}
                after = self._storage.encode(data)
                if after != (raw if raw.strip() else self._storage.encode({})):
                    self._cached = None
                    self._storage.write_bytes(after)
                    # The transaction's copy is the new version: the next snapshot needs no parse.
                    self._cached = (_version(self.path), data)
            finally:
                os.close(lock_fd)  # closing the descriptor releases the flock

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
            parsed = self._storage.read() or {}
            cached = (version, parsed)
            if version is not None and version == _version(self.path):   # not replaced while being read
                self._cached = cached
        db = SnapshotDB(storage=ReadOnlyStorage)
        db.storage.memory = cached[1]
        return db
