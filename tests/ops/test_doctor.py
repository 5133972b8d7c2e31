"""`chatops doctor`: one line per check, a fix for each problem, exit code by the worst; each failure
injected for real (the Slack stand-in, file modes, an edited ledger, the config's thresholds, the clock)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from freezegun import freeze_time

from chatops.cli import main
from chatops.config import load_config
from chatops.daemon import LOCK_NAME, DaemonLock
from chatops.doctor import CHECKS, diagnose
from chatops.slack.doctor import SCOPES
from jobs.compose import build_context
from jobs.doctor import Probe, Result, Status
from jobs.notices import Notice
from store.outbox import FinalOp, Outbox
from tests.conftest import REPO
from tests.ops.conftest import cli, doctor


def _data(config: Path) -> Path:
    return config.parent / "var"


@pytest.fixture
def daemon_running(install):
    """The daemon's lock held, as a running daemon holds it."""
    lock = DaemonLock(_data(install) / LOCK_NAME).acquire()
    yield
    lock.release()


def test_a_healthy_installation_is_all_ok_and_exits_0(install, daemon_running, capsys):
    code = cli(install, "doctor")
    out = capsys.readouterr().out.splitlines()
    assert code == 0, out
    assert out[-1] == f"doctor: OK ({len(CHECKS) + 1} checks)"
    assert all(line.startswith("OK    ") for line in out[:-1])
    assert any("slack channels: #ops-critical, #ops-alerts, #ops-review, #security-incidents exist" in l for l in out)
    assert any(re.search(r"clock skew: \d+ s (ahead of|behind) Slack's clock", l) for l in out)


def test_no_daemon_running_is_a_warning_with_its_fix_and_exits_1(install, capsys):
    code, checks = doctor(install, capsys)
    assert code == 1
    assert checks["daemon"]["status"] == "WARN" and "chatops service install" in checks["daemon"]["fix"]


def test_a_revoked_token_fails_and_the_checks_that_need_it_say_so(install, daemon_running, capsys, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    code, checks = doctor(install, capsys)
    assert code == 2
    assert checks["slack token"]["status"] == "FAIL" and checks["slack token"]["line"] == "auth.test: invalid_auth"
    assert "reinstall the app" in checks["slack token"]["fix"]
    assert checks["slack scopes"]["line"] == "not checked: the token does not work"


def test_slack_unreachable_fails_naming_the_api_url(install, daemon_running, capsys, standin):
    standin.go_down()
    code, checks = doctor(install, capsys)
    assert code == 2 and "Slack unreachable at http://127.0.0.1" in checks["slack token"]["line"]
    standin.come_up()


def test_a_missing_scope_is_named(install, daemon_running, capsys, standin):
    standin.scopes.discard("files:write")
    code, checks = doctor(install, capsys)
    assert code == 2 and checks["slack scopes"]["line"] == "the bot lacks files:write"


def test_a_missing_channel_and_a_channel_without_the_bot_fail(install, daemon_running, capsys, standin):
    del standin.channels["ops-review"]
    code, checks = doctor(install, capsys)
    assert code == 2 and checks["slack channels"]["line"] == "#ops-review not found"
    standin.channels["ops-review"] = True
    standin.channels["ops-alerts"] = False
    code, checks = doctor(install, capsys)
    assert code == 2 and checks["slack channels"]["fix"] == "/invite @chatops in #ops-alerts"


def test_a_bad_app_token_or_no_way_to_connect_fails(install, daemon_running, capsys, monkeypatch):
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-wrong")
    code, checks = doctor(install, capsys)
    assert code == 2 and checks["slack connection"]["line"] == "apps.connections.open: invalid_auth"
    monkeypatch.delenv("SLACK_APP_TOKEN")
    code, checks = doctor(install, capsys)
    assert code == 2 and "neither SLACK_APP_TOKEN" in checks["slack connection"]["line"]
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cr3t-signing")
    code, checks = doctor(install, capsys)
    assert code == 0 and checks["slack connection"]["line"].startswith("HTTP mode")


def test_without_a_bot_token_slack_is_not_checked_and_that_is_a_warning(install, daemon_running, capsys, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, checks = doctor(install, capsys)
    assert code == 1
    assert checks["slack token"]["status"] == "WARN" and checks["clock skew"]["status"] == "WARN"
    assert checks["slack channels"]["line"].startswith("not checked")


def test_a_key_file_others_can_read_fails_with_the_chmod(install, daemon_running, capsys):
    key = next((_data(install) / "keys").iterdir())
    key.chmod(0o644)
    code, checks = doctor(install, capsys)
    assert code == 2 and checks["keys"]["status"] == "FAIL" and checks["keys"]["fix"] == f"chmod 600 {key}"
    (_data(install) / "keys").chmod(0o755)
    code, checks = doctor(install, capsys)
    assert checks["keys"]["line"].endswith("is mode 0755, open to others")


def test_an_edited_ledger_fails(install, daemon_running, capsys):
    assert cli(install, "killswitch", "on", "--for", "1h", "--reason", "drill", "--as", "ana") == 0
    ledger = _data(install) / "operations" / "ledger.jsonl"
    ledger.write_text(ledger.read_text().replace("drill", "DRILL"))
    code, checks = doctor(install, capsys)
    assert code == 2 and checks["ledgers"]["status"] == "FAIL" and "operations" in checks["ledgers"]["line"]


def test_too_little_disk_fails_by_the_configured_threshold(install, daemon_running, capsys):
    install.write_text(install.read_text() + "\n[ops]\nmin_free_mb = 1000000000\n")
    code, checks = doctor(install, capsys)
    assert code == 2 and "below [ops] min_free_mb = 1,000,000,000" in checks["disk"]["line"]


def test_a_clock_far_from_slacks_fails(install, daemon_running, capsys):
    with freeze_time("2031-01-01 12:00:00", ignore=["aiohttp", "tests.standins"]):
        code, checks = doctor(install, capsys)
    assert code == 2 and checks["clock skew"]["status"] == "FAIL"
    assert "ahead of Slack's clock (more than [ops] max_clock_skew_seconds = 30)" in checks["clock skew"]["line"]


def test_a_clock_behind_the_last_ledger_entry_fails(install, daemon_running, capsys):
    with freeze_time("2020-01-01 12:00:00", ignore=["aiohttp", "tests.standins"]):
        code, checks = doctor(install, capsys)
    assert code == 2 and "behind the last" in checks["clock"]["line"]


def test_a_parked_outbox_item_warns(install, daemon_running, capsys):
    loaded = load_config(install)
    ctx = build_context(loaded.settings, loaded.data_dir)
    ctx.notifier.send(Notice(kind="x", subject="S-1", text="hello", channel="#ops-alerts", suppressible=False))
    [item] = Outbox(ctx.data_dir).messages()
    Outbox(ctx.data_dir).finish(item.id, FinalOp.UNDELIVERABLE, "2026-01-01T00:00:00+00:00", {"error": "channel_not_found"})
    code, checks = doctor(install, capsys)
    assert code == 1 and checks["outbox"]["line"] == "1 parked item(s), 0 pending"


def test_a_webhook_that_is_not_https_fails(install, daemon_running, capsys, monkeypatch):
    monkeypatch.setenv("SLACK_WEBHOOK_URL_SEV1", "hooks.slack.com/services/T/B/x")
    code, checks = doctor(install, capsys)
    assert code == 2 and checks["webhooks"]["line"] == "SLACK_WEBHOOK_URL_SEV1 is not an https:// URL"


def test_an_invalid_config_fails_first_and_nothing_else_runs(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text('timezone = "Mars/Olympus"\n')
    code = main(["--config", str(config), "doctor"])
    out = capsys.readouterr().out
    assert code == 2 and out.startswith("FAIL  config: timezone = \"Mars/Olympus\"")
    assert "the other checks were not run" in out


def always_warn(probe: Probe) -> Result:
    return Result("area", Status.WARN, f"contributed for {probe.ctx.data_dir.name}", "nothing")


def raises(probe: Probe) -> Result:
    raise RuntimeError("broken on purpose")


def test_an_area_contributes_checks_by_name_and_a_broken_check_is_a_fail_not_a_crash(install, daemon_running):
    loaded = load_config(install)
    results = diagnose(loaded, dict(os.environ), checks=("tests.ops.test_doctor:always_warn",
                                                         "tests.ops.test_doctor:raises",
                                                         "jobs.doctor_checks:disk"))
    assert [(r.check, r.status) for r in results] == [("config", Status.OK), ("area", Status.WARN),
                                                      ("raises", Status.FAIL), ("disk", Status.OK)]
    assert "RuntimeError: broken on purpose" in results[2].line


def test_the_manifest_grants_exactly_the_scopes_the_code_declares():
    text = (REPO / "slack-manifest.yml").read_text()
    block = text.split("    bot:\n", 1)[1].split("\nsettings:", 1)[0]      # oauth_config.scopes.bot (no YAML library)
    assert {m.group(1) for m in re.finditer(r"^\s+- ([a-z:.]+)", block, re.M)} == SCOPES


def test_github_and_notion_are_ok_when_not_used_and_say_so(install, daemon_running, capsys):
    _code, checks = doctor(install, capsys)
    assert checks["github"]["status"] == "OK" and "not used" in checks["github"]["line"]
    assert checks["notion"]["status"] == "OK" and "dry run" in checks["notion"]["line"]


def test_the_github_provider_without_its_token_fails_and_with_it_passes(install, daemon_running, capsys,
                                                                        monkeypatch):
    from tests.standins.github import TOKEN, GitHubStandIn

    server = GitHubStandIn().start()
    try:
        install.write_text(install.read_text() + f'\n[export.github]\nrepo = "acme/exports"\n'
                                                 f'api_url = "{server.api_url}"\n')
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        code, checks = doctor(install, capsys)
        assert code == 2 and checks["github"]["status"] == "FAIL" and "GITHUB_TOKEN is not set" in checks["github"]["line"]
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        code, checks = doctor(install, capsys)
        assert checks["github"]["status"] == "OK" and "acme/exports" in checks["github"]["line"], checks["github"]
    finally:
        server.stop()


def test_a_live_notion_mirror_with_a_wrong_token_fails_naming_it(install, daemon_running, capsys, monkeypatch):
    from jobs.notion.records import CASES_DB_ENV, RUNS_DB_ENV, TOKEN_ENV
    from tests.standins.notion import CASES_DB, RUNS_DB, TOKEN, NotionStandIn

    server = NotionStandIn().start()
    try:
        install.write_text(install.read_text() + f'\n[notion]\napi_url = "{server.api_url}"\n')
        monkeypatch.setenv(RUNS_DB_ENV, RUNS_DB)
        monkeypatch.setenv(CASES_DB_ENV, CASES_DB)
        monkeypatch.setenv(TOKEN_ENV, TOKEN)
        _code, checks = doctor(install, capsys)
        assert checks["notion"]["status"] == "OK", checks["notion"]
        monkeypatch.setenv(TOKEN_ENV, "secret_wrong")
        code, checks = doctor(install, capsys)
        assert code == 2 and checks["notion"]["status"] == "FAIL" and "notion check" in checks["notion"]["fix"]
    finally:
        server.stop()
