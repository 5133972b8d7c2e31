"""`chatops daemon` as a real process in Socket Mode against the stand-in; half-configured modes refused."""
from __future__ import annotations

from pathlib import Path

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
