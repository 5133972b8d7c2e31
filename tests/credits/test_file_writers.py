"""Run-file writers: durable before the commit (CLI), or written before and synced after it (daemon),
with the durable mark moved only once a sync has returned."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from jobs.credits.intake.file_writers import DurableFileWriter, WriteBehindFileWriter
from store import artifacts

NOW = datetime(2026, 11, 22, 16, 30, tzinfo=timezone.utc)


def files_for(directory: Path, count: int, first: int = 0):
    return [(directory / f"run_{n}.json", f'{{"n": {n}}}\n'.encode()) for n in range(first, first + count)]


def mark(data_dir: Path) -> int | None:
    found = artifacts.read_durable_mark(data_dir)
    return found.through_seq if found else None


class GatedSync:
    """A sync that notes what it was given and, while closed, waits: a slow disk, under the test's control."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[list[Path]] = []
        self.open = threading.Event()
        self.entered = threading.Event()
        self.fail_first = fail_first

    def __call__(self, paths: list[Path]) -> None:
        self.calls.append(list(paths))
        self.entered.set()
        assert self.open.wait(10), "the test never let the sync finish"
        if len(self.calls) <= self.fail_first:
            raise OSError(5, "Input/output error")


def test_the_durable_writer_writes_every_file_with_its_bytes(tmp_path):
    writer = DurableFileWriter(threads=4)
    try:
        writer.write(files_for(tmp_path, 40))
        writer.committed(7, [])
    finally:
        writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"run_{n}.json" for n in range(40))
    assert (tmp_path / "run_7.json").read_bytes() == b'{"n": 7}\n'
    assert mark(tmp_path) is None       # nothing waits for a sync: no mark to keep


def test_write_behind_files_exist_at_once_and_the_mark_follows_the_sync(tmp_path):
    sync = GatedSync()
    writer = WriteBehindFileWriter(tmp_path, lambda: NOW, sync=sync, delay=0)
    try:
        files = files_for(tmp_path, 10)
        writer.write(files)
        assert (tmp_path / "run_3.json").read_bytes() == b'{"n": 3}\n'    # readable before the commit
        writer.committed(12, [path for path, _ in files], "2026-11-22T16:30:00.000000Z")
        assert sync.entered.wait(10)
        assert mark(tmp_path) is None and writer.durable_through == -1     # the sync has not returned
        sync.open.set()
        assert writer.flush(10)
        assert mark(tmp_path) == 12 and writer.durable_through == 12
        assert artifacts.read_durable_mark(tmp_path).at == NOW.isoformat()
        assert artifacts.read_durable_mark(tmp_path).entry_ts == "2026-11-22T16:30:00.000000Z"   # whose seq 12
        assert sync.calls == [[path for path, _ in files]]
    finally:
        sync.open.set()
        writer.close()


def test_commits_made_during_a_sync_are_synced_together_by_the_next(tmp_path):
    sync = GatedSync()
    writer = WriteBehindFileWriter(tmp_path, lambda: NOW, sync=sync, delay=0)
    try:
        first, second, third = files_for(tmp_path, 2), files_for(tmp_path, 2, 2), files_for(tmp_path, 2, 4)
        for batch in (first,):
            writer.write(batch)
        writer.committed(1, [p for p, _ in first])
        assert sync.entered.wait(10)
        writer.write(second)
        writer.committed(4, [p for p, _ in second])
        writer.write(third)
        writer.committed(6, [p for p, _ in third])
        sync.open.set()
        assert writer.flush(10)
        assert sync.calls == [[p for p, _ in first], [p for p, _ in second + third]]
        assert mark(tmp_path) == 6
    finally:
        sync.open.set()
        writer.close()


def test_a_failing_sync_keeps_the_mark_says_so_and_is_tried_again(tmp_path, caplog):
    sync = GatedSync(fail_first=1)
    sync.open.set()
    writer = WriteBehindFileWriter(tmp_path, lambda: NOW, sync=sync, delay=0, retry=0.01)
    files = files_for(tmp_path, 3)
    writer.write(files)
    with caplog.at_level(logging.ERROR, logger="chatops.credits.files"):
        writer.committed(3, [p for p, _ in files])
        assert writer.flush(10)
    writer.close()
    assert len(sync.calls) == 2 and sync.calls[0] == sync.calls[1]
    assert mark(tmp_path) == 3
    assert "could not be made durable" in caplog.text and "trying again" in caplog.text


def test_stopping_on_a_failing_disk_gives_up_after_one_more_try_and_leaves_the_mark(tmp_path, caplog):
    sync = GatedSync(fail_first=99)
    sync.open.set()
    writer = WriteBehindFileWriter(tmp_path, lambda: NOW, sync=sync, delay=0, retry=30)
    artifacts.write_durable_mark(tmp_path, 5, NOW)
    files = files_for(tmp_path, 2)
    writer.write(files)
    with caplog.at_level(logging.ERROR, logger="chatops.credits.files"):
        writer.committed(9, [p for p, _ in files])
        writer.close(timeout=10)
    assert len(sync.calls) == 2                      # the failure, then one more at stop; no 30 s wait
    assert mark(tmp_path) == 5                       # the daemon's next start checks seq 6 onwards
    assert "giving up at stop" in caplog.text


def test_close_syncs_everything_handed_over(tmp_path):
    writer = WriteBehindFileWriter(tmp_path, lambda: NOW, delay=5)
    files = files_for(tmp_path, 20)
    writer.write(files)
    writer.committed(30, [p for p, _ in files])
    writer.close(timeout=10)                          # does not wait out the 5 s gathering delay
    assert mark(tmp_path) == 30


@pytest.mark.parametrize("how", ["sync_file_system", "fsync_each"])
def test_both_real_syncs_take_files_that_moved_meanwhile(tmp_path, how):
    writer = WriteBehindFileWriter(tmp_path, lambda: NOW)
    files = files_for(tmp_path, 6)
    writer.write(files)
    moved = tmp_path / "QUARANTINE"
    moved.mkdir()
    files[0][0].rename(moved / files[0][0].name)
    try:
        getattr(writer, how)([p for p, _ in files])
    finally:
        writer.close()
    assert (moved / "run_0.json").read_bytes() == b'{"n": 0}\n'


def test_a_file_left_by_a_crashed_attempt_is_replaced_not_refused(tmp_path):
    stale = tmp_path / "run_1.json"
    stale.write_bytes(b"half a fi")
    writer = WriteBehindFileWriter(tmp_path, lambda: NOW)
    try:
        writer.write([(stale, b'{"n": 1}\n')])
    finally:
        writer.close()
    assert stale.read_bytes() == b'{"n": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_1.json"]

