"""Real processes, real fsync: SIGKILL at random points, two writers at once, a disk-full write."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys

import pytest

from tests.ledger.helpers import REPO, fill, make_ledger, make_signer, verify

CHILD = [sys.executable, str(REPO / "tests" / "ledger" / "writer_child.py")]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.fixture
def setup(tmp_path):
    signer = make_signer(tmp_path / "keys")
    fill(make_ledger(tmp_path / "ledger", signer), 1)
    return tmp_path, signer


def _entries(directory):
    return [json.loads(line) for line in (directory / "ledger" / "ledger.jsonl").read_bytes().splitlines()]


def _assert_intact(directory, signer, acked: dict[int, str]) -> None:
    entries = _entries(directory)
    assert [e["seq"] for e in entries] == list(range(len(entries)))
    for seq, run_id in acked.items():
        assert entries[seq].get("Run_ID") == run_id, f"acknowledged entry seq {seq} was lost"
    report = verify(directory / "ledger", signer)
    assert report.ok, report.text()


def test_sigkill_at_random_points_never_loses_an_acknowledged_entry(setup):
    directory, signer = setup
    rng = random.Random(20261122)
    acked: dict[int, str] = {}
    for round_ in range(50):
        child = subprocess.Popen(CHILD + ["loop", str(directory), f"w{round_}", "0"], stdout=subprocess.PIPE,
                                 env=ENV, text=True)
        for _ in range(rng.randint(1, 12)):
            line = child.stdout.readline()
            assert line.startswith("ack "), line
            _, seq, run_id = line.split()
            acked[int(seq)] = run_id
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
        make_ledger(directory / "ledger", signer).recover()   # what the next daemon start does
        _assert_intact(directory, signer, acked)
    assert len(acked) >= 50


def test_two_writer_processes_at_once_interleave_without_gaps(setup):
    directory, signer = setup
    children = [subprocess.Popen(CHILD + ["loop", str(directory), name, "60"], stdout=subprocess.PIPE, env=ENV,
                                 text=True) for name in ("daemon", "cli")]
    acked = {}
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        for line in out.splitlines():
            _, seq, run_id = line.split()
            acked[int(seq)] = run_id
    assert len(acked) >= 120
    entries = _entries(directory)
    assert {e["actor"] for e in entries[2:]} == {"daemon", "cli"}
    _assert_intact(directory, signer, acked)


def test_a_write_beyond_the_file_size_limit_is_taken_back_and_the_next_commit_works(setup):
    directory, signer = setup
    result = subprocess.run(CHILD + ["fsize", str(directory)], capture_output=True, text=True, env=ENV, timeout=30)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["error"].startswith("could not write 1 entry to ") and "nothing was recorded" in outcome["error"]
    assert outcome["size_after"] == outcome["size_before"]
    entries = _entries(directory)
    assert [e.get("Run_ID") for e in entries][-1] == "fits" and "too_big" not in {e.get("Run_ID") for e in entries}
    assert outcome["small_seq"] == entries[-1]["seq"]
    _assert_intact(directory, signer, {})
