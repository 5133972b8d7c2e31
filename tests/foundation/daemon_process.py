"""Start `chatops daemon` as a real process and read its log lines as they come."""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import REPO


class DaemonProcess:
    def __init__(self, config: Path, data_dir: Path, env: dict[str, str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        full_env.update({"PYTHONPATH": str(REPO), **(env or {})})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chatops", "--config", str(config), "--data-dir", str(data_dir), "daemon"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env, cwd=REPO)
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put("")

    def wait_for(self, text: str, timeout: float = 30) -> str:
        """The first log line containing `text`; fails after `timeout` seconds."""
        for line in self.lines:
            if text in line:
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.lines.append(line)
            if text in line:
                return line
            if line == "" and self.proc.poll() is not None:
                break
        raise AssertionError(f"daemon never logged {text!r}; log so far:\n" + "\n".join(self.lines))

    def stop(self, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=timeout)
