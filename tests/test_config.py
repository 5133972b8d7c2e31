"""config.toml: every error class gives one line naming the key, the value and what is expected."""
from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from chatops.config import ConfigError, load_config, parse_settings, resolve_config_path
from tests.conftest import run_cli


def test_defaults_follow_the_seeds():
    settings = parse_settings({})
    assert str(settings.timezone) == "America/Los_Angeles"
    assert settings.data_dir == "var/"
    assert settings.schedule.export == time(5, 0)
    assert settings.schedule.pr_deadline == time(6, 0)
    assert settings.schedule.sweep == time(8, 30)
    assert str(settings.schedule.weekly_review) == "mon 10:00"
    assert settings.slack.channels.ops_critical == "#ops-critical"
    assert settings.slack.channels.security_incidents == "#security-incidents"


@pytest.mark.parametrize("raw, message", [
    ({"schedule": {"sweep": "8:3O"}}, 'schedule.sweep = "8:3O": expected HH:MM'),
    ({"schedule": {"export": 5}}, "schedule.export = 5: expected HH:MM"),
    ({"schedule": {"weekly_review": "monday 10"}}, 'schedule.weekly_review = "monday 10": expected "<mon|'),
    ({"schedule": {"swep": "08:30"}}, "schedule.swep: unknown key; did you mean 'sweep'?"),
    ({"colour": "blue"}, "colour: unknown key; expected one of"),
    ({"timezone": "Mars/Base"}, 'timezone = "Mars/Base": expected an IANA time zone name'),
    ({"data_dir": 3}, "data_dir = 3: expected a string"),
    ({"schedule": "05:00"}, 'schedule = "05:00": expected a table'),
    ({"slack": {"api_url": "slack.com"}}, 'slack.api_url = "slack.com": expected an http(s) URL'),
    ({"slack": {"channels": {"ops_critical": "ops"}}}, 'slack.channels.ops_critical = "ops": expected a Slack channel'),
    ({"people": {"ana": {"roles": ["O4"]}}}, "people.ana.roles = [\"O4\"]: unknown role 'O4'"),
    ({"people": {"ana": {"slack_id": "U0ANA00001"}}}, "people.ana.roles: missing; expected roles"),
    ({"people": {"ana": {"roles": ["O3"], "slack_id": "ana"}}}, 'people.ana.slack_id = "ana": expected a Slack user id'),
    ({"people": {"ana": {"roles": ["O3"], "email": "a@b"}}}, "people.ana.email: unknown key"),
    ({"people": {"daemon": {"roles": ["O1"]}}}, "people.daemon: the name 'daemon' is reserved"),
    ({"people": {"ana": {"roles": ["O1"], "slack_id": "U0ANA00001"}, "eve": {"roles": ["O3"], "slack_id": "U0ANA00001"}}},
     'people.eve.slack_id = "U0ANA00001": already the slack_id of people.ana'),
])
def test_each_config_error_is_one_line_naming_key_value_and_expectation(raw, message):
    with pytest.raises(ConfigError) as err:
        parse_settings(raw)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(message), text


def test_toml_syntax_error_names_the_file(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text("[schedule\nexport = 1\n")
    with pytest.raises(ConfigError, match=r"config.toml: not valid TOML"):
        load_config(path)


def test_missing_config_file_says_how_to_point_at_one(tmp_path: Path):
    with pytest.raises(ConfigError, match="pass --config PATH or set CHATOPS_CONFIG"):
        load_config(tmp_path / "nope.toml")


def test_data_dir_is_relative_to_the_config_file_and_overridable(tmp_path: Path, monkeypatch):
    path = tmp_path / "etc" / "config.toml"
    path.parent.mkdir()
    path.write_text('data_dir = "state/"\n')
    assert load_config(path).data_dir == tmp_path / "etc" / "state"
    monkeypatch.chdir(tmp_path)
    assert load_config(path, "other").data_dir == tmp_path / "other"


def test_config_path_from_flag_then_environment_then_default(monkeypatch):
    monkeypatch.setenv("CHATOPS_CONFIG", "/etc/chatops.toml")
    assert str(resolve_config_path("x.toml")) == "x.toml"
    assert str(resolve_config_path(None)) == "/etc/chatops.toml"
    monkeypatch.delenv("CHATOPS_CONFIG")
    assert str(resolve_config_path(None)) == "config.toml"


def test_config_check_prints_settings_and_the_schedule_state_of_every_job(config_file: Path):
    result = run_cli("config", "check", config=config_file)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert 'export = "05:00"' in out and 'sweep = "08:30"' in out
    assert any(l.startswith("export ") and "next " in l for l in out.splitlines())   # built: jobs/export
    for job, at in (("sweep", "08:30"), ("summary", "09:00")):   # jobs/sweep/scheduled.py
        assert any(l.startswith(job + " ") and " next " in l and at in l for l in out.splitlines())
    assert any(l.startswith("weekly_review ") and " next Mon " in l and "10:00" in l for l in out.splitlines())


def test_config_check_refuses_a_bad_file_with_the_one_line(config_file: Path):
    config_file.write_text(config_file.read_text() + '\n[schedule]\nsweep = "8:3O"\n')
    result = run_cli("config", "check", config=config_file)
    assert result.returncode == 2
    assert result.stderr.strip() == 'chatops: schedule.sweep = "8:3O": expected HH:MM (24-hour, e.g. "05:00")'


def test_the_shipped_config_is_valid():
    repo_config = Path(__file__).resolve().parent.parent / "config.toml"
    settings = load_config(repo_config).settings
    assert settings.people, "the shipped config should show example people"
