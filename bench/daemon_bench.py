"""Daemon start-up time to "scheduler running" and resident memory after a minute idle.

    .venv/bin/python bench/daemon_bench.py [--idle 60] [--starts 5]

Targets (issue 2): start < 2 s, idle RSS < 120 MB. Runs the real `chatops daemon` in a temporary
data directory with the shipped config.toml, in local mode.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def start_daemon(data_dir: Path) -> tuple[subprocess.Popen, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env["PYTHONPATH"] = str(REPO)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "chatops", "--config", str(REPO / "config.toml"),
                             "--data-dir", str(data_dir), "daemon"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    for line in proc.stderr:
        if "scheduler running" in line:
            return proc, time.perf_counter() - started
    raise SystemExit("daemon exited before the scheduler ran")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds idle before measuring RSS")
    parser.add_argument("--starts", type=int, default=5, help="start-ups to time")
    options = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(options.starts):
            proc, took = start_daemon(Path(tmp) / f"var{n}")
            times.append(took)
            if n < options.starts - 1:
                proc.terminate()
                proc.wait(timeout=10)
        time.sleep(options.idle)
        rss = rss_mb(proc.pid)
        proc.terminate()
        proc.wait(timeout=10)
    print(f"start-up to 'scheduler running': median {statistics.median(times):.3f} s, "
          f"max {max(times):.3f} s over {len(times)} starts (target < 2 s)")
    print(f"resident memory after {options.idle:.0f} s idle: {rss:.1f} MB (target < 120 MB)")


if __name__ == "__main__":
    main()
