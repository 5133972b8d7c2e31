"""Durable file writes shared by every store: whole writes, fsync, atomic replacement.

One implementation, because each caller's crash guarantee rests on the same three steps: write every
byte (`os.write` may be partial), fsync the file, and for a replacement rename a fully written temp
file over the target and fsync the directory, so readers and crashes see the old or the new bytes.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` to `fd`, looping over partial writes."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path_for(path: Path) -> Path:
    """A hidden temp name beside `path`, unique per process and thread."""
    return path.with_name(f".{path.name}.tmp.{os.getpid()}.{threading.get_ident()}")


def write_synced(path: Path, data: bytes, mode: int = 0o644, *, exclusive: bool = False) -> None:
    """Create (or truncate) `path`, write `data` and fsync it; on failure remove what was written.

    `exclusive=True` refuses an existing file (`FileExistsError`) instead of truncating it.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, mode)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def write_file_atomically(path: Path, data: bytes, mode: int = 0o644, *, sync_directory: bool = True) -> None:
    """Replace `path` with `data` so readers and crashes see the old or the new bytes, never a mix.

    `sync_directory=False` leaves the directory fsync to a caller that batches several files.
    """
    tmp = temp_path_for(path)
    write_synced(tmp, data, mode)
    os.replace(tmp, path)
    if sync_directory:
        fsync_directory(path.parent)
