"""Who writes a batch's run files and sidecars: threads of this process, or a child process (the daemon).

Each run costs two new durable files (create, write, fsync). Many at once share journal commits, so
they are written `WRITERS` at a time. In one process, though, every one of those system calls gives
the interpreter lock away and takes it back, and the recording thread (and in the daemon, the HTTP
event loop) waits in that queue: bench/credits_bench.py measured the intake process at 116–124 % of a
core with writer threads, 46–50 % with the same writes in a child process.

`ThreadFileWriter` is for one-shot callers (`chatops runs record`, tests): no process to start.
`ProcessFileWriter` is the daemon's: one child process with its own writer threads, one task per
batch. The child only writes the files it is given; the parent still fsyncs the directories and
commits the ledger afterwards, so a crash of either leaves at worst files no ledger entry names (the
next attempt replaces them). A child that dies is replaced and the batch is given to the new one once;
a child whose daemon dies (even by SIGKILL) exits too.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Protocol

from store import artifacts

log = logging.getLogger("chatops.credits.files")

#: Files written at once: measured on this machine, 16 to 32 concurrent durable writes record twice to
#: three times the files per second of one.
WRITERS = 32

Files = list[tuple[Path, bytes]]


class FileWriter(Protocol):
    def start(self) -> None:
        """Be ready to write (a daemon calls it at start)."""

    def write(self, files: Files) -> None:
        """Every file created and fsynced (directories are the caller's), or an exception."""

    def close(self) -> None:
        """Stop the writer's threads or process."""


def write_dealt_out(pool: ThreadPoolExecutor, files: Files, lanes: int) -> None:
    """Deal `files` out to at most `lanes` tasks (not one task per file: each task is a future and a
    thread wake-up) and wait for all of them."""
    lanes = max(1, min(lanes, len(files)))
    for task in [pool.submit(_write_each, files[k::lanes]) for k in range(lanes)]:
        task.result()


def _write_each(files: Files) -> None:
    for path, data in files:
        artifacts.write_new_durable(path, data)


class ThreadFileWriter:
    """Writer threads in this process."""

    def __init__(self, threads: int = WRITERS) -> None:
        self.threads = threads
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="run-files")

    def start(self) -> None:
        """Nothing to do: threads start with the first batch, in well under a millisecond."""

    def write(self, files: Files) -> None:
        write_dealt_out(self.pool, files, self.threads)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


class _ChildPool:
    """The writer threads of the child process, made once by the pool's initializer: state that lives
    only in the child, for the life of the child."""

    pool: ThreadPoolExecutor | None = None


def _start_child(threads: int) -> None:
    _ChildPool.pool = ThreadPoolExecutor(threads, thread_name_prefix="run-files")
    threading.Thread(target=_exit_with_parent, name="parent-watch", daemon=True).start()


def _exit_with_parent() -> None:
    """A daemon killed with SIGKILL never shuts its pool down: the child would wait for work forever.
    The parent's sentinel becomes readable when the parent is gone, whatever way it went."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()
        os._exit(0)


def _write_in_child(files: Files, threads: int) -> None:
    assert _ChildPool.pool is not None, "the child's initializer makes the pool"
    write_dealt_out(_ChildPool.pool, files, threads)


class ProcessFileWriter:
    """Writer threads in one child process (started on first use with `forkserver`: never a fork of a
    daemon that already runs threads)."""

    def __init__(self, threads: int = WRITERS) -> None:
        self.threads = threads
        self._executor: ProcessPoolExecutor | None = None

    def _child(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"),
                                                 initializer=_start_child, initargs=(self.threads,))
        return self._executor

    def write(self, files: Files) -> None:
        if not files:
            return
        try:
            self._child().submit(_write_in_child, files, self.threads).result()
        except BrokenProcessPool:
            log.warning("the run-file writer process died; starting a new one and writing the batch again")
            self._executor = None
            self._child().submit(_write_in_child, files, self.threads).result()

    def start(self) -> None:
        """Start the child now (about 0.3 s), not in the middle of the first batch."""
        self.child_pid()

    def child_pid(self) -> int:
        """The writer process's id (starting it if needed): for `ps`, and for tests that stop it."""
        return self._child().submit(os.getpid).result()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
