"""`runs record` of a batch prints what needs a person and one summary, not two lines per run (issue 19)."""
from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.credits.conftest import raw_run


def _batch(config_file: Path, tmp_path: Path) -> Path:
    """200 runs of scn-invoice (baseline 100): run_7 and run_150 at 6× (SEV1), run_3 given twice."""
    done = run_cli("baseline", "set", "--scenario", "scn-invoice", "--credits", "100", "--reason", "test",
                   "--as", "ana", config=config_file)
    assert done.returncode == 0, done.stderr
    runs = [raw_run(f"run_{n}", credits=600.0 if n in (7, 150) else 100.0) for n in range(200)]
    runs.append(raw_run("run_3"))
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(runs))
    return path


def test_a_batch_lists_only_alerts_and_rejections_then_one_summary(config_file: Path, tmp_path: Path):
    result = run_cli("runs", "record", str(_batch(config_file, tmp_path)), "--as", "ana", config=config_file)
    assert result.returncode == 1, result.stderr          # one run was not recorded
    lines = result.stdout.splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("recorded run_7: SEV1") and lines[2].startswith("recorded run_150: SEV1")
    assert lines[4].startswith("not recorded: duplicate: run_3 is already recorded")
    assert lines[5] == ("recorded 200 of 201 runs: SEV1 2, NORMAL 198; in cases: CASE-1, CASE-2; not recorded: 1 "
                        "(listed above); details of the other 198 runs: add --verbose (or --json)")


def test_verbose_lists_every_run_of_the_batch_and_the_summary(config_file: Path, tmp_path: Path):
    result = run_cli("runs", "record", str(_batch(config_file, tmp_path)), "--verbose", "--as", "ana",
                     config=config_file)
    lines = result.stdout.splitlines()
    assert len(lines) == 200 * 2 + 1 + 1
    assert sum(line.startswith("recorded run_") for line in lines) == 200
    assert lines[-1] == "recorded 200 of 201 runs: SEV1 2, NORMAL 198; in cases: CASE-1, CASE-2; not recorded: 1 " \
                        "(listed above)"


def test_a_single_run_still_prints_its_line_and_file(config_file: Path, tmp_path: Path):
    run_cli("baseline", "set", "--scenario", "scn-invoice", "--credits", "100", "--reason", "t", "--as", "ana",
            config=config_file)
    (tmp_path / "one.json").write_text(json.dumps(raw_run("run_one")))
    result = run_cli("runs", "record", str(tmp_path / "one.json"), "--as", "ana", config=config_file)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "  file: runs/CREDIT_MONITORING/2026-11-22/run_one.json"
    assert "recorded 1 of 1" not in result.stdout


def test_a_batch_with_one_invalid_record_records_none_and_says_so(config_file: Path, tmp_path: Path):
    path = tmp_path / "batch.json"
    path.write_text(json.dumps([raw_run("run_good"), {"Run_ID": "run_bad"}]))
    result = run_cli("runs", "record", str(path), "--as", "ana", config=config_file)
    assert result.returncode == 2 and not result.stdout
    assert "rejected (" in result.stderr and "nothing from it was recorded" in result.stderr
    assert "[1] Scenario_ID: missing" in result.stderr
    shown = run_cli("runs", "show", "run_good", config=config_file)
    assert shown.returncode == 6, shown.stdout                # the valid record was not recorded either
