"""Who writes a batch's run files and sidecars, and when they become durable.

A run is durable when its credit-ledger commit is: the `run.recorded` entry holds every byte of the
run file and its hash (store/artifacts.py). The files are written before that commit, so the ledger
never names a file that is not there, and they become durable either before the commit or shortly after:

* `DurableFileWriter` (`chatops runs record`, one-shot callers): each file created and fsynced, 32 at a
  time (concurrent fsyncs share journal commits), then its directory, all before the commit.
* `WriteBehindFileWriter` (the daemon): each file created without a sync; after the commit, a sync
  thread makes everything committed meanwhile durable at once, then moves the durable mark
  (`runs/CREDIT_MONITORING/run-files.durable`). If the machine stops first, the next start rewrites the
  files after the mark from the ledger (jobs/credits/intake/restore_files.py).

Why the daemon writes behind: an fsync of a new file costs a journal commit, and at 1,000 runs/s that
is 2,000 of them a second, each commit waiting for the ones before. On this machine the recorder then
fell behind and alerts waited seconds (bench/credits_bench.py, README "Credit monitoring"). One
`syncfs(2)` every 100 ms makes the same files durable with one commit, off the alert's path.
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Callable, Protocol, Sequence

from store import artifacts
from store.files import can_sync_filesystem, fsync_directory, fsync_path, sync_filesystem

log = logging.getLogger("chatops.credits.files")

#: Files fsynced at once where each is synced on its own: measured on this machine, 16 to 32
#: concurrent durable writes record two to three times the files per second of one.
WRITERS = 32
#: How long the write-behind sync waits for more commits before syncing: at most this much of the
#: newest runs' files (never their ledger entries) is rewritten from the ledger after a power loss.
SYNC_DELAY = 0.1
#: After a failed sync (a disk error), how long before it is tried again.
RETRY_SECONDS = 5.0

Files = list[tuple[Path, bytes]]


class FileWriter(Protocol):
    def start(self) -> None:
        """Be ready to write (a daemon calls it at start)."""

    def write(self, files: Files) -> None:
        """Before the ledger commit: every file created (durable or not, by kind), or an exception."""

    def committed(self, through_seq: int, paths: Sequence[Path], through_ts: str = "") -> None:
        """After the ledger commit up to `through_seq` (whose entry has `ts` `through_ts`): these files
        (where they are now) are its files."""

    def close(self) -> None:
        """Everything handed over made durable, threads stopped."""


def _dealt_out(pool: ThreadPoolExecutor, work: Callable[[list], None], items: list, lanes: int) -> None:
    """Deal `items` out to at most `lanes` tasks (not one task per item: each task is a future and a
    thread wake-up) and wait for all of them."""
    lanes = max(1, min(lanes, len(items)))
    for task in [pool.submit(work, items[k::lanes]) for k in range(lanes)]:
        task.result()


def _write_each(files: Files) -> None:
    for path, data in files:
        artifacts.write_new_durable(path, data)


def _fsync_each(paths: list[Path]) -> None:
    for path in paths:
        try:
            fsync_path(path)
        except FileNotFoundError:
            continue     # moved since (a quarantine move syncs the file before it moves it)


class DurableFileWriter:
    """Every file durable before the ledger commit: for processes that may exit right after it."""

    def __init__(self, threads: int = WRITERS) -> None:
        self.threads = threads
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="run-files")

    def start(self) -> None:
        """Nothing to do: threads start with the first batch, in well under a millisecond."""

    def write(self, files: Files) -> None:
        if not files:
            return
        _dealt_out(self.pool, _write_each, files, self.threads)
        for directory in sorted({path.parent for path, _ in files}):
            fsync_directory(directory)

    def committed(self, through_seq: int, paths: Sequence[Path], through_ts: str = "") -> None:
        """Nothing to do: the files were durable before the commit."""

    def close(self) -> None:
        self.pool.shutdown(wait=True)


Sync = Callable[[list[Path]], None]


class WriteBehindFileWriter:
    """Files written now, made durable together shortly after their commit, the mark moved after each sync.

    `sync` makes the given files (and their directory entries) durable; by default `syncfs(2)` where
    the system has it, else an fsync per file and directory. Tests pass their own to see a failing disk.
    """

    def __init__(self, data_dir: Path, clock: Callable[[], datetime], sync: Sync | None = None,
                 delay: float = SYNC_DELAY, retry: float = RETRY_SECONDS) -> None:
        self.data_dir = Path(data_dir)
        self.clock = clock
        self.delay = delay
        self.retry = retry
        self._sync = sync or self._default_sync
        self._changed = threading.Condition()
        self._pending: list[tuple[int, str, Sequence[Path]]] = []     # (seq, its entry's ts, files)
        self._handed = -1            # highest seq handed over by `committed`
        self._durable = -1           # highest seq whose files are durable (and the mark says so)
        self._hurry = False          # flush() or close() waits: sync without the delay
        self._closing = False
        self._thread: threading.Thread | None = None
        self._fs_fd: int | None = None
        self._pool: ThreadPoolExecutor | None = None

    # ---- the recorder's side -----------------------------------------------------------------

    def start(self) -> None:
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="run-files-sync", daemon=True)
                self._thread.start()

    def write(self, files: Files) -> None:
        for path, data in files:
            artifacts.write_new_pending(path, data)

    def committed(self, through_seq: int, paths: Sequence[Path], through_ts: str = "") -> None:
        self.start()
        with self._changed:
            self._pending.append((through_seq, through_ts, list(paths)))
            self._handed = max(self._handed, through_seq)
            if len(self._pending) == 1:
                self._changed.notify_all()      # wake the idle sync thread; later commits wait with it

    @property
    def durable_through(self) -> int:
        """The highest ledger seq whose files this writer has made durable (-1: none yet)."""
        return self._durable

    def flush(self, timeout: float | None = None) -> bool:
        """Sync now whatever was handed over, and wait for it; False if that did not happen in `timeout`."""
        with self._changed:
            target = self._handed
            if self._durable >= target:
                return True
            self._hurry = True
            self._changed.notify_all()
            return self._changed.wait_for(lambda: self._durable >= target or self._thread is None, timeout) \
                and self._durable >= target

    def close(self, timeout: float | None = 60.0) -> None:
        """Sync what is left (once more if a sync fails), then stop; what still failed is checked at start."""
        with self._changed:
            self._closing = True
            self._hurry = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        if self._fs_fd is not None:
            os.close(self._fs_fd)
            self._fs_fd = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # ---- the sync thread ---------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while True:
            with self._changed:
                while not self._pending and not self._closing:
                    self._changed.wait()
                if not self._pending:
                    self._thread = None
                    self._changed.notify_all()
                    return
                if failures and not self._closing:
                    self._changed.wait(self.retry)      # a failing disk is not retried in a tight loop
                elif not self._hurry and not self._closing:
                    # Let the next few commits join this sync (a commit only wakes an idle thread).
                    self._changed.wait(self.delay)
                taken, self._pending = self._pending, []
            through, through_ts, _ = max(taken, key=lambda item: item[0])
            try:
                self._sync([path for _, _, paths in taken for path in paths])
                artifacts.write_durable_mark(self.data_dir, through, self.clock(), through_ts)
            except OSError as exc:
                failures += 1
                with self._changed:
                    self._pending[:0] = taken
                    give_up = self._closing and failures > 1
                    if give_up:
                        self._pending.clear()
                log.error("run files up to credit-ledger seq %d are written but could not be made durable "
                          "(%s)%s; the ledger has them, and the daemon's next start rewrites any that are lost",
                          through, exc, "; giving up at stop" if give_up else f"; trying again in {self.retry:g} s")
                continue
            failures = 0
            with self._changed:
                self._durable = max(self._durable, through)
                if self._durable >= self._handed:
                    self._hurry = False
                self._changed.notify_all()

    def _default_sync(self, paths: list[Path]) -> None:
        if can_sync_filesystem():
            self.sync_file_system(paths)
        else:
            self.fsync_each(paths)

    def sync_file_system(self, paths: list[Path]) -> None:
        """One `syncfs(2)` for the data directory's file system: every file written before it is durable."""
        if self._fs_fd is None:    # kept open: syncfs reports write-back errors since it last did
            self._fs_fd = os.open(self.data_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        sync_filesystem(self._fs_fd)

    def fsync_each(self, paths: list[Path]) -> None:
        """Where there is no `syncfs`: each file and directory, 32 at a time (a file moved since was
        synced by the move)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="run-files-sync")
        if paths:
            _dealt_out(self._pool, _fsync_each, paths, WRITERS)
        for directory in sorted({path.parent for path in paths}):
            if directory.exists():
                fsync_directory(directory)
