"""The daemon picks up inbox files within seconds and serves the loopback intake (a real process)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import REPO, run_cli
from tests.credits.conftest import raw_run
from tests.credits.conftest import free_port


def wait_for(condition, timeout: float = 20.0) -> bool:
    """Poll a condition with a deadline (the daemon works on its own clock; nothing is timed here)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_daemon_records_inbox_files_and_http_runs(config_file: Path):
    port = free_port()
    with config_file.open("a") as f:
        f.write(f"\n[credits]\ninbox_poll_seconds = 0.2\nintake_port = {port}\n")
    run_cli("baseline", "set", "--scenario", "scn-invoice", "--credits", "100", "--reason", "t", "--as", "ana",
            config=config_file)
    data_dir = config_file.parent / "var"
    env = {**os.environ, "PYTHONPATH": str(REPO), "CHATOPS_INTAKE_TOKEN": "tok-123"}
    env.pop("SLACK_BOT_TOKEN", None)
    daemon = subprocess.Popen([sys.executable, "-m", "chatops", "--config", str(config_file), "daemon"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        inbox = data_dir / "inbox" / "runs"
        inbox.mkdir(parents=True, exist_ok=True)
        (inbox / "r1.json.tmp").write_text(json.dumps(raw_run(run_id="run_inbox", credits=650.0)))
        os.replace(inbox / "r1.json.tmp", inbox / "r1.json")
        ledger = data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
        assert wait_for(lambda: b'"Run_ID":"run_inbox"' in ledger.read_bytes()), "inbox file not picked up"
        assert wait_for(lambda: not (inbox / "r1.json").exists())

        def post() -> bool:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/runs", method="POST",
                                             data=json.dumps(raw_run(run_id="run_http")).encode(),
                                             headers={"Authorization": "Bearer tok-123"})
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return response.status == 200
            except OSError:
                return False
        assert wait_for(post), "HTTP intake did not answer"
        assert b'"Run_ID":"run_http"' in ledger.read_bytes()
    finally:
        daemon.send_signal(signal.SIGTERM)
        output = daemon.communicate(timeout=30)[0]
    assert daemon.returncode == 0, output
    assert "credit intake listening on http://127.0.0.1" in output
