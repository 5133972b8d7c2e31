"""`chatops service`: the systemd user unit and the launchd agent as written, checked by `systemd-analyze
verify` where it is installed, the tokens only in a 0600 environment file that `sh` and systemd both read."""
from __future__ import annotations

import os
import plistlib
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.ops.conftest import cli


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def _verify(unit: Path) -> list[str]:
    """`systemd-analyze verify --user` of one unit: the lines it says about that unit (it also reads the
    machine's own user units, whose complaints are not ours)."""
    with tempfile.TemporaryDirectory(prefix="sd", dir="/tmp") as runtime:   # short: socket paths have a limit
        run = subprocess.run(["systemd-analyze", "verify", "--user", str(unit)], capture_output=True, text=True,
                             env={**os.environ, "XDG_RUNTIME_DIR": runtime}, timeout=60)
    assert run.returncode == 0 or unit.name in run.stderr, run.stderr
    return [line for line in run.stderr.splitlines() if unit.name in line]


def _install(config: Path, home: Path, platform: str, *extra: str) -> int:
    return cli(config, "service", "install", "--platform", platform, "--root", str(home), "--no-start", *extra,
               "--as", "ana")


def test_the_systemd_unit_restarts_on_failure_reads_the_env_file_and_verifies(install, home, capsys):
    assert _install(install, home, "linux") == 0
    unit = home / ".config" / "systemd" / "user" / "chatops.service"
    env_file = home / ".config" / "chatops" / "chatops.env"
    text = unit.read_text()
    assert f"ExecStart={sys.executable} -m chatops --config {install} daemon" in text
    assert "Restart=on-failure" in text and "RestartSec=5" in text and "WantedBy=default.target" in text
    assert f"EnvironmentFile={env_file}" in text and "StandardOutput=journal" in text
    assert "xoxb-" not in text                                      # tokens never in the unit
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "journalctl --user -u chatops" in capsys.readouterr().out
    if shutil.which("systemd-analyze"):          # Linux with systemd: the unit as systemd reads it
        assert _verify(unit) == []
        broken = unit.with_name("broken.service")    # and the check itself catches a unit systemd rejects
        broken.write_text(text.replace("Restart=on-failure", "Restart=sometimes"))
        assert any("restart specifier" in line for line in _verify(broken))
    else:                                        # no systemd here: the rendered unit is all there is to check
        assert text.startswith("[Unit]\n") and "\n[Service]\n" in text and "\n[Install]\n" in text


def test_the_launchd_agent_keeps_alive_on_failure_and_logs_under_library_logs(install, home):
    assert _install(install, home, "macos") == 0
    agent = plistlib.loads((home / "Library" / "LaunchAgents" / "com.chatops.chatops.plist").read_bytes())
    env_file = home / "Library" / "Application Support" / "chatops" / "chatops.env"
    assert agent["Label"] == "com.chatops.chatops" and agent["RunAtLoad"] is True
    assert agent["KeepAlive"] == {"SuccessfulExit": False}
    assert agent["StandardErrorPath"] == str(home / "Library" / "Logs" / "chatops" / "chatops.log")
    shell, flag, script = agent["ProgramArguments"]
    assert (shell, flag) == ("/bin/sh", "-c")
    assert f"exec {sys.executable} -m chatops --config {install} daemon" in script
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    # the agent's own shell line, run for real with `env` in place of the daemon: the tokens arrive
    probe = script.split("; exec ")[0] + "; exec env"
    run = subprocess.run(["/bin/sh", "-c", probe], capture_output=True, text=True, env={}, timeout=30)
    assert "SLACK_BOT_TOKEN=xoxb-standin-bot-token" in run.stdout.splitlines()


def test_the_env_file_keeps_earlier_values_takes_new_ones_and_refuses_unsafe_ones(install, home, monkeypatch, capsys):
    monkeypatch.setenv("SLACK_WEBHOOK_URL_SEV0", "https://hooks.slack.com/services/T/B/one")
    assert _install(install, home, "linux") == 0
    monkeypatch.delenv("SLACK_WEBHOOK_URL_SEV0")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-rotated")
    assert _install(install, home, "linux") == 0
    text = (home / ".config" / "chatops" / "chatops.env").read_text()
    assert "SLACK_WEBHOOK_URL_SEV0='https://hooks.slack.com/services/T/B/one'" in text
    assert "SLACK_BOT_TOKEN='xoxb-rotated'" in text and "xoxb-standin" not in text
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "it's")
    assert _install(install, home, "linux") == 2
    assert "SLACK_SIGNING_SECRET contains a quote" in capsys.readouterr().err


def test_status_names_the_files_and_a_loose_env_file_and_uninstall_removes_them(install, home, capsys):
    assert _install(install, home, "linux") == 0
    env_file = home / ".config" / "chatops" / "chatops.env"
    env_file.chmod(0o644)
    capsys.readouterr()
    assert cli(install, "service", "status", "--platform", "linux", "--root", str(home)) == 0
    out = capsys.readouterr().out
    assert f"(0644 — looser than 0600: chmod 600 {env_file})" in out and "SLACK_APP_TOKEN, SLACK_BOT_TOKEN" in out
    assert "platform says: " in out
    assert cli(install, "service", "uninstall", "--platform", "linux", "--root", str(home), "--no-stop",
               "--as", "ana") == 0
    assert not env_file.exists() and not (home / ".config" / "systemd" / "user" / "chatops.service").exists()


def test_a_bad_name_is_refused(install, home, capsys):
    assert _install(install, home, "linux", "--name", "../etc") == 2
    assert "--name '../etc': expected letters, digits" in capsys.readouterr().err
