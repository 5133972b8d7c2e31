"""Durable file writes shared by every store: whole writes, fsync, atomic replacement.

One implementation, because each caller's crash guarantee rests on the same three steps: write every
byte (`os.write` may be partial), fsync the file, and for a replacement rename a fully written temp
file over the target and fsync the directory, so readers and crashes see the old or the new bytes.

Every file of the data directory is created here (`write_synced`, `write_file_atomically`,
`open_creating`), with the mode its directory calls for (store/access.py) set by `fchmod`, never left
to the umask.
"""
from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from pathlib import Path

from store.access import file_mode_in


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` to `fd`, looping over partial writes."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def fsync_path(path: Path, *, directory: bool = False) -> None:
    """fsync a file, or a directory (its entries), by name."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(directory: Path) -> None:
    fsync_path(directory, directory=True)


def temp_path_for(path: Path) -> Path:
    """A hidden temp name beside `path`, unique per process and thread."""
    return path.with_name(f".{path.name}.tmp.{os.getpid()}.{threading.get_ident()}")


@functools.cache
def _libc_syncfs():
    """libc's `syncfs`, looked up on first use: most commands never sync a file system, and `ctypes`
    costs them start-up time (`ctypes.util.find_library` alone imports shutil, subprocess and tempfile,
    so the symbol is taken from the process's own libc, `CDLL(None)`, as store/snapshot.py does)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    function = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
    if function is not None:
        function.argtypes = [ctypes.c_int]
        function.restype = ctypes.c_int
    return function


def can_sync_filesystem() -> bool:
    """Whether `sync_filesystem` is available here (Linux: `syncfs(2)`)."""
    return _libc_syncfs() is not None


def sync_filesystem(fd: int) -> None:
    """`syncfs(2)`: write back and commit everything dirty on the file system holding `fd`, and wait.

    One call makes thousands of new files durable with one journal commit, where an fsync per file
    costs a commit each (bench/credits_bench.py). Since Linux 5.8 it reports a write-back error that
    happened on the file system since `fd` last saw one, so callers keep `fd` open between calls.
    """
    syncfs = _libc_syncfs()
    if syncfs is None:
        raise OSError("syncfs(2) is not available on this system; fsync each file instead")
    if syncfs(fd) != 0:
        import ctypes

        errno = ctypes.get_errno()
        raise OSError(errno, f"syncfs failed: {os.strerror(errno)}")


def sync_files(directory: Path, paths: list[Path]) -> None:
    """Make `paths` and their directory entries durable: one `syncfs` of `directory`'s file system where
    there is one (a start-up check may have touched millions of files), else an fsync per file and
    directory."""
    if can_sync_filesystem():
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            sync_filesystem(fd)
        finally:
            os.close(fd)
        return
    for path in paths:
        fsync_path(path)
    for parent in sorted({path.parent for path in paths}):
        fsync_directory(parent)


def open_creating(path: Path, flags: int, mode: int | None = None) -> int:
    """Open `path` with `flags`; when it is missing, create it with `mode` (default: what its directory
    calls for, `file_mode_in`), whatever the umask. An existing file is opened as it is."""
    flags &= ~os.O_CREAT
    with contextlib.suppress(FileNotFoundError):
        return os.open(path, flags)
    mode = file_mode_in(Path(path).parent) if mode is None else mode
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:              # created by another writer meanwhile
        return os.open(path, flags)
    os.fchmod(fd, mode)
    return fd


def write_synced(path: Path, data: bytes, mode: int | None = None, *, exclusive: bool = False,
                 sync: bool = True) -> None:
    """Create (or truncate) `path`, write `data` and fsync it; on failure remove what was written.

    `mode` defaults to what the directory calls for (`file_mode_in`), set whatever the umask.
    `exclusive=True` refuses an existing file (`FileExistsError`) instead of truncating it.
    `sync=False` leaves the fsync to a caller that makes many files durable at once (`sync_files`).
    """
    mode = file_mode_in(Path(path).parent) if mode is None else mode
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)
        write_all(fd, data)
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def write_file_atomically(path: Path, data: bytes, mode: int | None = None, *, sync_directory: bool = True,
                          sync: bool = True) -> None:
    """Replace `path` with `data` so readers and crashes see the old or the new bytes, never a mix.

    `sync_directory=False` leaves the directory fsync to a caller that batches several files;
    `sync=False` leaves every fsync to one (readers still never see a mix).
    """
    tmp = temp_path_for(path)
    write_synced(tmp, data, mode, sync=sync)
    os.replace(tmp, path)
    if sync and sync_directory:
        fsync_directory(path.parent)
