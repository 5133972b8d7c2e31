"""`case list` filters and `--json`, and `runs list` (issue 19, "Consistent commands"), through the real CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.credits.conftest import raw_run


@pytest.fixture
def recorded(config_file: Path, tmp_path: Path) -> Path:
    """scn-invoice (baseline 100): run_0 SEV1 on 11-20, run_1 normal on 11-21, run_2 SEV1 on 11-22 (UTC
    16:00, so 08:00 in Los Angeles the same day); scn-other has no baseline: run_3 UNBASELINED on 11-21 at 18:00 UTC."""
    done = run_cli("baseline", "set", "--scenario", "scn-invoice", "--credits", "100", "--reason", "test",
                   "--as", "ana", config=config_file)
    assert done.returncode == 0, done.stderr
    runs = [raw_run("run_0", credits=700.0, Started_At="2026-11-20T16:00:00Z"),
            raw_run("run_1", credits=100.0, Started_At="2026-11-21T16:00:00Z"),
            raw_run("run_2", credits=600.0, Started_At="2026-11-22T16:00:00Z"),
            raw_run("run_3", scenario="scn-other", credits=100.0, Started_At="2026-11-21T18:00:00Z")]
    (tmp_path / "runs.json").write_text(json.dumps(runs))
    done = run_cli("runs", "record", str(tmp_path / "runs.json"), "--as", "ana", config=config_file)
    assert done.returncode == 0, done.stderr
    acked = run_cli("case", "ack", "CASE-1", "--as", "ben", config=config_file)
    assert acked.returncode == 0, acked.stderr
    return config_file


def _json(*args: str, config: Path):
    result = run_cli(*args, "--json", config=config)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_case_list_json_carries_the_runbook_fields_and_filters_narrow_it(recorded: Path):
    cases = _json("case", "list", config=recorded)
    assert [(c["Case_ID"], c["Severity"], c["Status"], c["Run_ID"]) for c in cases] == [
        ("CASE-1", "SEV1", "Investigating", "run_0"), ("CASE-2", "SEV1", "Open", "run_2")]
    assert cases[0]["ACKed_By"] == "ben" and cases[1]["ACKed_By"] is None
    assert [c["Case_ID"] for c in _json("case", "list", "--status", "open", config=recorded)] == ["CASE-2"]
    assert [c["Case_ID"] for c in _json("case", "list", "--severity", "SEV0", config=recorded)] == []
    assert [c["Case_ID"] for c in _json("case", "list", "--scenario", "scn-invoice", config=recorded)] == [
        "CASE-1", "CASE-2"]
    assert run_cli("case", "list", "--scenario", "scn-other", config=recorded).stdout == "no cases match\n"


def test_case_list_refuses_an_unknown_status_naming_the_allowed_ones(recorded: Path):
    result = run_cli("case", "list", "--status", "closed", config=recorded)
    assert result.returncode == 2
    assert "status 'closed': expected one of Open, Investigating, Resolved" in result.stderr


def test_runs_list_is_newest_started_first_and_filters_by_day_scenario_and_severity(recorded: Path):
    every = _json("runs", "list", config=recorded)
    assert [r["Run_ID"] for r in every] == ["run_2", "run_3", "run_1", "run_0"]
    assert every[1] == {"Run_ID": "run_3", "Scenario_ID": "scn-other", "Severity": "UNBASELINED",
                        "Started_At": "2026-11-21T18:00:00+00:00", "ledger_seq": every[1]["ledger_seq"]}
    assert [r["Run_ID"] for r in _json("runs", "list", "--date", "2026-11-21", config=recorded)] == [
        "run_3", "run_1"]
    assert [r["Run_ID"] for r in _json("runs", "list", "--severity", "sev1", config=recorded)] == [
        "run_2", "run_0"]
    assert [r["Run_ID"] for r in _json("runs", "list", "--scenario", "scn-other", config=recorded)] == ["run_3"]
    assert [r["Run_ID"] for r in _json("runs", "list", "--since", "2026-11-21T12:00:00Z", config=recorded)] == [
        "run_2", "run_3", "run_1"]


def test_runs_list_text_shows_local_times_with_offset_and_says_what_the_limit_left_out(recorded: Path):
    result = run_cli("runs", "list", "--limit", "2", config=recorded)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2].split() == ["run_3", "UNBASELINED", "scn-other", "2026-11-21", "10:00", "-0800"]
    assert lines[-1] == "… 2 more match (newest Started_At first; --limit 0 lists all)"
