"""A run of a scenario with no baseline fails safe: PII/regulatory exposure is SEV0 (quarantined), a misconfig
signal SEV1 with its downstream dispatch held until an O3 resolves the case, and neither is ever baseline
evidence. `runs record` says where a SEV0 run's file is: in quarantine, with dispatch blocked."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from freezegun import freeze_time

from jobs.credits import gates

from jobs.credits.cases import flows
from jobs.credits.cases.service import all_cases
from jobs.credits.records import RootCause, Severity
from jobs.credits.intake.schema import validate_run
from store.outbox import Outbox
from tests.conftest import run_cli
from tests.credits.conftest import START, entries, raw_run, set_baseline
from tests.credits.test_intake import _cli_with_input


def alerts(data_dir: Path) -> list[dict]:
    return [m.item["notice"] for m in Outbox(data_dir).messages() if m.item["notice"]["kind"] == "credits.alert"]


def test_a_pii_run_of_a_scenario_with_no_baseline_is_sev0_quarantined_and_says_where_its_file_is(config_file):
    data_dir = config_file.parent / "var"
    run = raw_run(run_id="run_pii", scenario="scn-new", credits=3.0, Risk_Flags=["pii_exposure"])
    done = _cli_with_input(config_file, json.dumps(run), "runs", "record", "-", "--as", "ana", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    [outcome] = json.loads(done.stdout)
    assert outcome["Severity"] == "SEV0" and outcome["Case_ID"] == "CASE-1"
    assert outcome["artifact"] == "runs/QUARANTINE/run_pii/run_pii.json"
    assert outcome["quarantined"] is True and outcome["dispatch_blocked"] is True
    assert (data_dir / outcome["artifact"]).is_file()
    assert not list((data_dir / "runs" / "CREDIT_MONITORING").glob("*/run_pii.json"))
    gate = run_cli("gate", "dispatch", "run_pii", config=config_file)
    assert gate.returncode == 1 and "run run_pii is quarantined (CASE-1)" in gate.stdout
    [alert] = alerts(data_dir)
    assert alert["channel"] == "#ops-critical" and "(no baseline)" in alert["text"]
    assert any("scn-new has no baseline" in r for r in alert["fields"]["required"])


def test_runs_record_of_a_sev0_run_prints_the_quarantine_path_and_that_dispatch_is_blocked(config_file):
    run_cli("baseline", "set", "--scenario", "scn-invoice", "--credits", "100", "--reason", "test", "--as", "ana",
            config=config_file)
    run = raw_run(run_id="run_7f3a", credits=1500.0, Risk_Flags=["pii_exposure"])
    done = _cli_with_input(config_file, json.dumps(run), "runs", "record", "-", "--as", "ana")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "quarantined to runs/QUARANTINE/run_7f3a/, downstream dispatch blocked" in done.stdout
    assert "file: runs/QUARANTINE/run_7f3a/run_7f3a.json" in done.stdout
    assert "CREDIT_MONITORING" not in done.stdout


@freeze_time(START)
def test_a_misconfig_run_with_no_baseline_is_sev1_and_its_dispatch_is_held_until_an_o3_resolves_the_case(
        ctx, recorder):
    [outcome] = recorder.record([validate_run(raw_run(run_id="run_loop", scenario="scn-new", retry_count=9))])
    assert outcome.severity == "SEV1" and outcome.case_id == "CASE-1" and outcome.dispatch_blocked
    assert not outcome.quarantined and "held until an O3 resolves the case" in outcome.message
    run_entry = next(e for e in entries(ctx) if e["kind"] == "run.recorded")
    assert run_entry["dispatch_blocked"] is True and run_entry["Baseline_Credits"] is None
    blocked = next(e for e in entries(ctx) if e["kind"] == "dispatch.blocked")
    assert blocked["Run_ID"] == "run_loop" and blocked["data"]["case"] == "CASE-1"
    [alert] = ctx.notifier.sent
    assert alert.channel == "#ops-alerts"
    assert alert.fields["done"] == ["downstream dispatch of run_loop held", "CASE-1 opened"]

    gate = gates.run_gate(ctx, "run_loop", recorder.index)
    assert not gate.allowed and "waits until an O3 resolves CASE-1" in gate.describe()
    ana, ben = ctx.people.by_name("ana"), ctx.people.by_name("ben")
    flows.ack(ctx, ben, "CASE-1")
    flows.root_cause(ctx, ana, "CASE-1", RootCause.MISCONFIG, "retry loop in the new scenario")
    assert not gates.run_gate(ctx, "run_loop", recorder.index).allowed      # ACK and a root cause are not enough
    flows.resolve(ctx, ana, "CASE-1", "retries capped; baseline to be set")
    assert gates.run_gate(ctx, "run_loop", recorder.index).allowed
    assert [c.severity for c in all_cases(ctx)] == [Severity.SEV1]


@freeze_time(START)
def test_a_clean_run_with_no_baseline_stays_unbaselined_with_dispatch_allowed(ctx, recorder):
    [outcome] = recorder.record([validate_run(raw_run(run_id="run_ok", scenario="scn-new"))])
    assert outcome.severity == "UNBASELINED" and not outcome.dispatch_blocked and all_cases(ctx) == []
    assert gates.run_gate(ctx, "run_ok", recorder.index).allowed
    assert [n.kind for n in ctx.notifier.sent] == ["credits.unbaselined"]


def test_baseline_calculate_counts_clean_unbaselined_runs_and_never_the_flagged_ones(config_file):
    at = datetime.now(timezone.utc) - timedelta(days=1)
    runs = [raw_run(run_id=f"run_ok{n}", scenario="scn-new", credits=100.0 + n, Started_At=at.isoformat())
            for n in range(3)]
    runs += [raw_run(run_id="run_pii", scenario="scn-new", credits=9000.0, Risk_Flags=["pii_exposure"],
                     Started_At=at.isoformat()),
             raw_run(run_id="run_loop", scenario="scn-new", credits=8000.0, retry_count=9, Started_At=at.isoformat())]
    done = _cli_with_input(config_file, json.dumps(runs), "runs", "record", "-", "--as", "ana")
    assert done.returncode == 0, done.stdout + done.stderr
    calc = run_cli("baseline", "calculate", "--scenario", "scn-new", "--as", "ben", config=config_file)
    assert calc.returncode == 0, calc.stdout + calc.stderr
    assert "Calculated baseline for scn-new: 101.00 (from 3 healthy runs)" in calc.stdout
