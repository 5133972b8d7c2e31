"""Messages that used to mislead (issue 19): each now says what is true — the right command, mode and zone."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from freezegun import freeze_time

from chatops.config import load_config
from jobs import killswitch
from jobs.compose import build_context
from jobs.notices import Notice
from store.outbox import Outbox
from tests.conftest import run_cli
from tests.credits.conftest import raw_run


def _notice_texts(data_dir: Path, kind: str) -> list[str]:
    return [m.item["notice"]["text"] for m in Outbox(data_dir).messages() if m.item["notice"]["kind"] == kind]


def test_the_kill_switch_notice_in_local_mode_points_at_the_shell_command(config_file: Path, tmp_path: Path):
    done = run_cli("killswitch", "on", "--for", "2h", "--reason", "API outage", "--as", "ana", config=config_file)
    assert done.returncode == 0, done.stderr
    [text, _] = _notice_texts(tmp_path / "var", "killswitch.on")     # one per alert channel
    assert "Lift it early with `chatops killswitch off --as NAME` (an O3)." in text
    assert "/ops" not in text


def test_the_digest_and_the_notice_give_every_time_in_the_configured_zone_with_its_offset(
        config_file: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    loaded = load_config(config_file)
    ctx = build_context(loaded.settings, loaded.data_dir)
    ana = ctx.people.by_name("ana")
    with freeze_time("2026-11-22 18:00:00"):
        killswitch.turn_on(ctx, ana, killswitch.parse_duration("2h", 24), "API outage")
        ctx.notifier.send(Notice(kind="credits.alert", subject="CASE-1", text="SEV1 alert", channel="#ops-alerts"))
        killswitch.turn_off(ctx, ana)
    [on, _] = _notice_texts(ctx.data_dir, "killswitch.on")
    [digest, _] = _notice_texts(ctx.data_dir, "killswitch.digest")
    assert "until 2026-11-22 12:00 PST (UTC-0800)" in on
    assert "• 2026-11-22 10:00 PST (UTC-0800) #ops-alerts CASE-1 (credits.alert): SEV1 alert" in digest
    assert "18:00" not in digest


def test_baseline_show_counts_the_runs_of_a_scenario_with_a_manual_baseline(config_file: Path, tmp_path: Path):
    run_cli("baseline", "set", "--scenario", "scn-invoice", "--credits", "100", "--reason", "initial", "--as", "ana",
            config=config_file)
    (tmp_path / "runs.json").write_text(json.dumps([raw_run(f"run_{n}") for n in range(3)]))
    assert run_cli("runs", "record", str(tmp_path / "runs.json"), "--as", "ana", config=config_file).returncode == 0
    shown = run_cli("baseline", "show", "--as", "cleo", config=config_file)
    assert "MANUAL" in shown.stdout and "set by hand, not from runs (3 runs recorded)" in shown.stdout
    assert "no runs" not in shown.stdout


def test_update_approve_without_a_proposal_says_there_is_none_and_how_to_make_one(config_file: Path):
    result = run_cli("baseline", "update", "--scenario", "scn-invoice", "--approve", "--reason", "stable",
                     "--as", "ana", config=config_file)
    assert result.returncode == 3
    assert result.stderr.splitlines()[-1].startswith(
        "chatops: refused: there is no pending proposal for scn-invoice to approve")
    assert "`chatops baseline propose --scenario scn-invoice --reason … --as ana`" in result.stderr
    assert "proposed themselves" not in result.stderr


def test_calculate_names_the_step_that_applies_it_here_a_proposal_when_self_approval_is_off(
        config_file: Path, tmp_path: Path):
    (tmp_path / "runs.json").write_text(json.dumps([raw_run(f"run_{n}") for n in range(3)]))
    assert run_cli("runs", "record", str(tmp_path / "runs.json"), "--as", "ana", config=config_file).returncode == 0
    result = run_cli("baseline", "calculate", "--scenario", "scn-invoice", "--as", "ben", config=config_file)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith(
        "Nothing was changed. To apply: propose it with `chatops baseline propose --scenario scn-invoice --reason … "
        "--as NAME`; another O3 approves it (`chatops baseline approve <id>` or the button).")
