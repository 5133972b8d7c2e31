"""The daemon as a real process: local mode, schedule at start, one per data directory, clean stop."""
from __future__ import annotations

import signal
import time
from pathlib import Path

from store import job_runs
from store.state import StateStore
from tests.conftest import run_cli
from tests.foundation.daemon_process import DaemonProcess


def test_daemon_starts_in_local_mode_and_logs_its_schedule(config_file: Path, tmp_path: Path):
    daemon = DaemonProcess(config_file, tmp_path / "var")
    try:
        assert "local mode: no SLACK_BOT_TOKEN set" in daemon.wait_for("local mode")
        assert " next " in daemon.wait_for("schedule: export ")        # built: jobs/export/scheduled.py
        for job, at in (("sweep", "08:30"), ("summary", "09:00")):     # built: jobs/sweep/scheduled.py
            line = daemon.wait_for(f"schedule: {job} ")
            assert " next " in line and at in line
        assert " next Mon " in daemon.wait_for("schedule: weekly_review ")
        assert "(4 jobs)" in daemon.wait_for("scheduler running")
        assert not [line for line in daemon.lines if " INFO apscheduler" in line]   # its per-run chatter
    finally:
        assert daemon.stop() == 0
    assert (tmp_path / "var" / "outbox.delivery").read_text() == "local\n"   # how commands beside it queue


def test_a_second_daemon_on_the_same_data_directory_is_refused(config_file: Path, tmp_path: Path):
    first = DaemonProcess(config_file, tmp_path / "var")
    try:
        first.wait_for("scheduler running")
        second = DaemonProcess(config_file, tmp_path / "var")
        assert second.proc.wait(timeout=30) == 1
        second.wait_for("another chatops daemon")
        refusal = next(l for l in second.lines if "another chatops daemon" in l)
        assert f"(pid {first.proc.pid})" in refusal and "--data-dir" in refusal
        again = run_cli("--data-dir", str(tmp_path / "var"), "daemon", config=config_file)
        assert again.returncode == 1 and not again.stdout      # the refusal is an error: stderr, one line
        assert again.stderr.strip().splitlines()[-1].startswith("chatops: another chatops daemon (pid ")
    finally:
        first.stop()


def test_sigterm_and_sigint_stop_the_daemon_within_five_seconds(config_file: Path, tmp_path: Path):
    for signum in (signal.SIGTERM, signal.SIGINT):
        daemon = DaemonProcess(config_file, tmp_path / f"var-{signum}")
        daemon.wait_for("scheduler running")
        started = time.monotonic()
        daemon.proc.send_signal(signum)
        assert daemon.proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        daemon.wait_for("stopping")


def test_a_killed_daemon_leaves_no_stale_lock(config_file: Path, tmp_path: Path):
    first = DaemonProcess(config_file, tmp_path / "var")
    first.wait_for("scheduler running")
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    second = DaemonProcess(config_file, tmp_path / "var")
    try:
        second.wait_for("scheduler running")
    finally:
        assert second.stop() == 0


def test_jobs_whose_work_is_not_built_claim_no_slot_and_sign_no_job_entry(config_file: Path, tmp_path: Path):
    daemon = DaemonProcess(config_file, tmp_path / "var")
    try:
        daemon.wait_for("scheduler running")
    finally:
        assert daemon.stop() == 0
    store = StateStore(tmp_path / "var")
    assert job_runs.recent_runs(store) == [] and job_runs.missed_runs(store) == []
    operations = tmp_path / "var" / "operations" / "ledger.jsonl"
    assert not operations.exists() or '"kind":"job.' not in operations.read_text()
