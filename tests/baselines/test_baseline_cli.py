"""`chatops baseline …` as an operator runs it: real subprocess, real config, role checks, bad input."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.baselines.conftest import make_context, record_run
from tests.conftest import run_cli


@pytest.fixture
def setup(config_file):
    ctx = make_context(config_file.parent / "var")
    now = datetime.now(timezone.utc)
    for i, value in enumerate([1200.0, 1250.5, 1300.0, 1250.5]):
        record_run(ctx, f"r{i}", "BINDER_EXPORT_WEEKLY", value, now - timedelta(days=i + 1))
    return config_file, ctx


def test_o2_calculates_and_sees_the_runbook_line_cv_window_and_change(setup):
    config, _ = setup
    result = run_cli("baseline", "calculate", "--scenario", "BINDER_EXPORT_WEEKLY", "--as", "ben", config=config)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Calculated baseline for BINDER_EXPORT_WEEKLY: 1250.50 (from 4 healthy runs)"
    assert lines[1].startswith("Coefficient of variation: 0.03 (stable")
    assert lines[2].startswith("Window: last 30 days, ")
    assert lines[3] == "Change from current baseline: none yet (this would be the first)"
    assert "Nothing was changed" in result.stdout


def test_roles_o1_may_calculate_in_the_shell_o2_may_not_update_unknown_person_is_refused(setup):
    config, _ = setup
    o1 = run_cli("baseline", "calculate", "--scenario", "BINDER_EXPORT_WEEKLY", "--as", "cleo", config=config)
    anonymous = run_cli("baseline", "calculate", "--scenario", "BINDER_EXPORT_WEEKLY", config=config)
    assert o1.returncode == anonymous.returncode != 3 and o1.stdout == anonymous.stdout   # read-only: as nobody
    o2 = run_cli("baseline", "update", "--scenario", "BINDER_EXPORT_WEEKLY", "--approve", "--reason", "x",
                 "--as", "ben", config=config)
    assert o2.returncode == 3 and "baseline update needs role O3" in o2.stderr
    nobody = run_cli("baseline", "show", "--as", "mallory", config=config)
    assert nobody.returncode == 2 and "unknown person 'mallory'" in nobody.stderr
    o1_show = run_cli("baseline", "show", "--as", "cleo", config=config)
    assert o1_show.returncode == 0 and "no baselines yet" in o1_show.stdout


def test_bad_input_is_one_clear_message_without_traceback(setup):
    config, _ = setup
    days = run_cli("baseline", "calculate", "--scenario", "BINDER_EXPORT_WEEKLY", "--days", "0", "--as", "ben",
                   config=config)
    assert days.returncode == 2 and "--days '0' is not a whole number of days from 1 to 36,500" in days.stderr
    credits = run_cli("baseline", "set", "--scenario", "X", "--credits", "-3", "--reason", "r", "--as", "ana",
                      config=config)
    assert credits.returncode == 2 and "--credits '-3' is not a positive number of credits" in credits.stderr
    unknown = run_cli("baseline", "calculate", "--scenario", "BINDER_EXPORT_WEKLY", "--as", "ben", config=config)
    assert unknown.returncode == 6   # not found
    assert "closest known: BINDER_EXPORT_WEEKLY" in unknown.stderr
    for result in (days, credits, unknown):
        assert "Traceback" not in result.stderr


def test_set_then_show_lists_the_manual_baseline_and_the_export_matches(setup):
    config, ctx = setup
    result = run_cli("baseline", "set", "--scenario", "BINDER_EXPORT_WEEKLY", "--credits", "1250.5", "--reason",
                     "insufficient data", "--as", "ana", config=config)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = run_cli("baseline", "show", "--as", "cleo", config=config)
    assert "BINDER_EXPORT_WEEKLY" in shown.stdout and "MANUAL" in shown.stdout
    assert "1 manual baseline" in shown.stdout and "WARNING" not in shown.stdout
    exported = json.loads((ctx.data_dir / "config" / "credit-baselines.json").read_text())
    assert [b["scenario_id"] for b in exported["baselines"]] == ["BINDER_EXPORT_WEEKLY"]
