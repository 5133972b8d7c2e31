"""The dispatch and rerun gates fail closed: an id that is neither a recorded run nor a known scenario is
blocked (exit 6, HTTP 404) and the answer names the closest known ids; each gate answers its own question."""
from __future__ import annotations

import json

import orjson
import pytest
from freezegun import freeze_time

from jobs.credits import gates
from jobs.credits.intake.schema import validate_run
from tests.conftest import run_cli
from tests.credits.conftest import START, raw_run, set_baseline
from tests.credits.test_intake import _cli_with_input, call


@pytest.fixture
def recorded(config_file):
    """A baseline for scn-invoice and one NORMAL run of it, through the real CLI."""
    run_cli("baseline", "set", "--scenario", "scn-invoice", "--credits", "100", "--reason", "test", "--as", "ana",
            config=config_file)
    done = _cli_with_input(config_file, json.dumps(raw_run(run_id="RUN-2026-7f3a")), "runs", "record", "-",
                           "--as", "ana")
    assert done.returncode == 0, done.stdout + done.stderr
    return config_file


def test_gate_dispatch_of_a_mistyped_run_id_is_blocked_with_exit_6_and_the_closest_run_ids(recorded):
    answer = run_cli("gate", "dispatch", "RUN-2026-7f3b", config=recorded)
    assert answer.returncode == 6
    assert answer.stdout.startswith("blocked: RUN-2026-7f3b: no run RUN-2026-7f3b is recorded")
    assert "closest known: RUN-2026-7f3a" in answer.stdout
    as_json = run_cli("gate", "dispatch", "RUN-THAT-DOES-NOT-EXIST", "--json", config=recorded)
    assert as_json.returncode == 6
    assert json.loads(as_json.stdout)["allowed"] is False and json.loads(as_json.stdout)["known"] is False


def test_gate_dispatch_answers_only_for_runs_and_points_a_scenario_to_gate_rerun(recorded):
    assert run_cli("gate", "dispatch", "RUN-2026-7f3a", config=recorded).returncode == 0
    scenario = run_cli("gate", "dispatch", "scn-invoice", config=recorded)
    assert scenario.returncode == 6 and "ask `chatops gate rerun scn-invoice`" in scenario.stdout


def test_gate_rerun_of_an_unknown_scenario_is_blocked_and_names_the_closest_scenarios(recorded):
    assert run_cli("gate", "rerun", "scn-invoice", config=recorded).returncode == 0
    typo = run_cli("gate", "rerun", "scn-invoce", config=recorded)
    assert typo.returncode == 6 and "no scenario scn-invoce is known" in typo.stdout
    assert "closest known: scn-invoice" in typo.stdout
    run = run_cli("gate", "rerun", "RUN-2026-7f3a", config=recorded)
    assert run.returncode == 6 and "ask `chatops gate dispatch RUN-2026-7f3a`" in run.stdout


def test_a_scenario_with_only_a_baseline_is_known_to_the_rerun_gate(config_file):
    run_cli("baseline", "set", "--scenario", "scn-new", "--credits", "100", "--reason", "before its first run",
            "--as", "ana", config=config_file)
    assert run_cli("gate", "rerun", "scn-new", config=config_file).returncode == 0


@freeze_time(START)
def test_single_id_gate_blocks_an_unknown_id_and_an_id_that_is_both_run_and_scenario(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    recorder.record([validate_run(raw_run(run_id="run_1")), validate_run(raw_run(run_id="scn-invoice"))])
    unknown = gates.dispatch_gate(ctx, "run_2", recorder.index)
    assert not unknown.allowed and not unknown.known and "closest known: run_1" in unknown.describe()
    both = gates.dispatch_gate(ctx, "scn-invoice", recorder.index)
    assert not both.allowed and "both a recorded Run_ID and a Scenario_ID" in both.describe()
    assert gates.dispatch_gate(ctx, "run_1", recorder.index).allowed


def test_http_intakes_answer_404_blocked_for_unknown_ids_on_every_form(http_intake):
    assert call(f"{http_intake}/runs", orjson.dumps(raw_run(run_id="run_h")))[0] == 200
    assert call(f"{http_intake}/gate/dispatch/run_h") == (
        200, {"subject": "run_h", "allowed": True, "known": True, "reasons": []})
    assert call(f"{http_intake}/gate/rerun/scn-invoice")[0] == 200
    for path in ("gate/RUN-THAT-DOES-NOT-EXIST", "gate/dispatch/run_x", "gate/rerun/scn-invoce"):
        status, body = call(f"{http_intake}/{path}")
        assert status == 404 and body["allowed"] is False and body["known"] is False, path
    assert "closest known: run_h" in call(f"{http_intake}/gate/dispatch/run_x")[1]["reasons"][0]
    assert "closest known: scn-invoice" in call(f"{http_intake}/gate/rerun/scn-invoce")[1]["reasons"][0]


def test_other_lookups_of_an_unknown_id_refuse_and_name_the_closest_known_ones(recorded):
    pii = raw_run(run_id="RUN-2026-9c1d", credits=1500.0, Risk_Flags=["pii_exposure"])
    assert _cli_with_input(recorded, json.dumps(pii), "runs", "record", "-", "--as", "ana").returncode == 0
    release = run_cli("quarantine", "release", "RUN-2026-9c1e", "--finding", "false-positive", "--reason", "ok",
                      "--as", "ana", config=recorded)
    assert release.returncode == 3 and "closest in quarantine: RUN-2026-9c1d" in release.stderr
    assert "nothing was moved" in release.stderr
    case = run_cli("case", "ack", "CASE-11", "--as", "ben", config=recorded)
    assert case.returncode == 6 and "no case CASE-11 (closest known: CASE-1)" in case.stderr
    shown = run_cli("runs", "show", "RUN-2026-7f3b", config=recorded)
    assert shown.returncode == 6 and not shown.stdout
    assert shown.stderr.strip().startswith("chatops: no run ") and "closest known: RUN-2026-7f3a" in shown.stderr


def test_a_setting_for_a_scenario_nothing_knows_says_so_and_names_the_closest(recorded):
    typo = run_cli("scenario", "set", "scn-invoce", "max_items", "1000", "--as", "ana", config=recorded)
    assert typo.returncode == 0
    assert "note: scn-invoce has no recorded run, baseline or case yet (closest known: scn-invoice)" in typo.stdout
    known = run_cli("scenario", "set", "scn-invoice", "max_items", "1000", "--as", "ana", config=recorded)
    assert known.returncode == 0 and "note:" not in known.stdout
    backfill = run_cli("backfill", "on", "scn-invoics", "--until", "6h", "--reason", "reprocess", "--as", "ana",
                       config=recorded)
    assert backfill.returncode == 0 and "closest known: scn-invoice" in backfill.stdout
    assert run_cli("gate", "rerun", "scn-invoce", config=recorded).returncode == 6      # settings never make it known
