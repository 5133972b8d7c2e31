"""`chatops daemon` as a real process in Socket Mode against the stand-in; half-configured modes refused."""
from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from chatops.slack.mode import Mode, SlackModeError, select_mode
from tests.conftest import PEOPLE_TOML, run_cli
from tests.foundation.daemon_process import DaemonProcess
from tests.standins.slack import APP_TOKEN, BOT_TOKEN, SlackStandIn


def _config(tmp_path: Path, standin: SlackStandIn) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'data_dir = "var/"\n[slack]\napi_url = "{standin.api_url}"\n' + PEOPLE_TOML)
    return path


def test_daemon_delivers_what_was_queued_while_it_was_down_then_serves_slash_commands(tmp_path, standin):
    config = _config(tmp_path, standin)
    queued = run_cli("killswitch", "on", "--for", "1h", "--reason", "API", "outage", "--as", "ana",
                     config=config, env={"SLACK_BOT_TOKEN": BOT_TOKEN})
    assert queued.returncode == 0, queued.stderr
    assert standin.calls == []
    daemon = DaemonProcess(config, tmp_path / "var", env={"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN})
    try:
        assert "Slack Socket Mode via" in daemon.wait_for("Slack Socket Mode")
        daemon.wait_for("scheduler running")
        assert not [line for line in daemon.lines if " WARNING " in line or " ERROR " in line]
        posts = standin.wait_for(lambda s: len(s.calls_to("chat.postMessage")) >= 2 and s.calls_to("chat.postMessage"))
        assert [p.params["channel"] for p in posts] == ["#ops-critical", "#ops-alerts"]
        assert "Kill switch ON by ana" in posts[0].params["text"]
        url = standin.response_url()
        envelope = standin.deliver("slash_commands", {
            "team_id": "T0STANDIN", "api_app_id": "A0STANDIN", "user_id": "U0CLEO0003", "command": "/ops",
            "text": "killswitch status", "response_url": url, "channel_id": "C0OPS", "trigger_id": "1"}, 30)
        assert standin.wait_ack(envelope, 30).seconds < 3
        answer = standin.wait_for(lambda s: s.responses, 30)[0]
        assert answer["text"].startswith("kill switch is ON until")
        # an O3 in a shell without any Slack token, beside the Slack-mode daemon: still posted to Slack
        lifted = run_cli("killswitch", "off", "--as", "ana", config=config)
        assert lifted.returncode == 0, lifted.stderr
        standin.wait_for(lambda s: [p for p in s.calls_to("chat.postMessage") if "Kill switch lifted by ana"
                                    in p.params["text"]], 30)
    finally:
        assert daemon.stop() == 0


def test_half_configured_slack_environment_is_refused_naming_the_variable(tmp_path, standin):
    daemon = DaemonProcess(_config(tmp_path, standin), tmp_path / "var", env={"SLACK_BOT_TOKEN": BOT_TOKEN})
    assert daemon.proc.wait(timeout=30) == 2
    assert "SLACK_APP_TOKEN is not" in daemon.wait_for("SLACK_APP_TOKEN")


@pytest.mark.parametrize("environ, http_port, expected", [
    ({}, None, Mode.LOCAL),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, None, Mode.SOCKET),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, 3000, Mode.HTTP),
])
def test_the_environment_chooses_the_mode(environ, http_port, expected):
    assert select_mode(environ, http_port) == expected


@pytest.mark.parametrize("environ, http_port, message", [
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, None, "SLACK_BOT_TOKEN is set but SLACK_APP_TOKEN is not"),
    ({"SLACK_APP_TOKEN": "xapp-1"}, None, "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not"),
    ({"SLACK_SIGNING_SECRET": "s"}, None, "SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, 3000, "--http 3000 needs SLACK_SIGNING_SECRET"),
    ({}, 3000, "--http 3000 needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"),
])
def test_a_half_configured_environment_is_never_a_silent_local_mode(environ, http_port, message):
    with pytest.raises(SlackModeError, match=re.escape(message)):
        select_mode(environ, http_port)


def test_sigterm_stops_a_slack_mode_daemon_within_five_seconds_while_slack_hangs(tmp_path, standin):
    config = _config(tmp_path, standin)
    daemon = DaemonProcess(config, tmp_path / "var", env={"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN})
    try:
        daemon.wait_for("scheduler running")
        standin.hang(1)
        assert run_cli("killswitch", "on", "--for", "1h", "--reason", "storm", "--as", "ana",
                       config=config).returncode == 0
        standin.wait_for(lambda s: [c for c in s.calls if c.method == "chat.postMessage" and c.status == 0], 30)
        started = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
    finally:
        daemon.stop()
