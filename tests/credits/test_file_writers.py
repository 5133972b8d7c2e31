"""The daemon's run-file writer process: it writes durably, survives its child being killed, and stops."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys

import pytest

from jobs.credits.file_writers import ProcessFileWriter, ThreadFileWriter
from tests.conftest import REPO


def files_for(directory, count: int):
    return [(directory / f"run_{n}.json", f'{{"n": {n}}}\n'.encode()) for n in range(count)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("kind", [ThreadFileWriter, ProcessFileWriter])
def test_every_file_is_written_with_its_bytes(tmp_path, kind):
    writer = kind(threads=4)
    try:
        writer.write(files_for(tmp_path, 40))
    finally:
        writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"run_{n}.json" for n in range(40))
    assert (tmp_path / "run_7.json").read_bytes() == b'{"n": 7}\n'


def test_a_killed_writer_process_is_replaced_and_the_batch_written_again(tmp_path):
    writer = ProcessFileWriter(threads=4)
    try:
        first = writer.child_pid()
        assert first != os.getpid()
        os.kill(first, signal.SIGKILL)
        writer.write(files_for(tmp_path, 10))
        assert len(list(tmp_path.iterdir())) == 10
        assert writer.child_pid() != first
    finally:
        writer.close()


def test_close_stops_the_writer_process(tmp_path):
    writer = ProcessFileWriter(threads=2)
    pid = writer.child_pid()
    writer.write(files_for(tmp_path, 3))
    writer.close()
    assert not alive(pid)


def test_an_existing_file_from_a_crashed_attempt_is_replaced_not_refused(tmp_path):
    (tmp_path / "run_0.json").write_bytes(b"half-writ")
    writer = ProcessFileWriter(threads=2)
    try:
        writer.write(files_for(tmp_path, 1))
    finally:
        writer.close()
    assert (tmp_path / "run_0.json").read_bytes() == b'{"n": 0}\n'


def test_the_writer_process_exits_when_its_daemon_is_killed():
    """SIGKILL gives the daemon no chance to stop its pool; the child must notice on its own."""
    script = ("import os, signal, sys\n"
              f"sys.path.insert(0, {str(REPO)!r})\n"
              "from jobs.credits.file_writers import ProcessFileWriter\n"
              "writer = ProcessFileWriter(threads=2)\n"
              "print(writer.child_pid(), flush=True)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL
    child = int(done.stdout.split()[0])
    try:
        handle = os.pidfd_open(child)
    except ProcessLookupError:
        return                                     # already gone
    try:
        readable, _, _ = select.select([handle], [], [], 10)
    finally:
        os.close(handle)
    assert readable, f"writer process {child} still running 10 s after its parent was killed"
