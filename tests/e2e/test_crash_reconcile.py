"""Nothing lost on a crash: a recorder killed between its ledger commit and its state write loses no case
and no alert.

The daemon's start queues a lost alert (once, never twice across restarts); a case the state never
received is restored from the ledger, with its quarantine, whether or not its alert was queued.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import orjson

from chatops.config import load_config
from jobs.compose import build_context
from jobs.context import Context
from jobs.credits import gates
from jobs.credits.cases.service import all_cases
from jobs.credits.intake.recorder import Recorder
from jobs.credits.intake.reconcile import queue_lost_alerts
from jobs.credits.intake.schema import validate_run
from store.outbox import Outbox
from store.runs_index import RunsIndex
from tests.conftest import REPO, run_cli
from tests.credits.conftest import raw_run
from tests.e2e.conftest import credit_entries
from tests.foundation.daemon_process import DaemonProcess

CHILD = Path(__file__).with_name("crash_child.py")


def kill_recorder(config: Path, tmp_path: Path, run: dict, when: str = "before-outbox") -> None:
    run_file = tmp_path / f"{run['Run_ID']}.json"
    run_file.write_text(json.dumps(run))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    child = subprocess.run([sys.executable, str(CHILD), str(config), str(run_file), when], capture_output=True,
                           text=True, env={**env, "PYTHONPATH": str(REPO)}, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr


def baselined_context(config: Path) -> Context:
    """The test daemon's context, after `chatops baseline set` gave scn-invoice a baseline of 100 credits."""
    assert run_cli("baseline", "set", "--scenario", "scn-invoice", "--credits", "100", "--reason", "manual",
                   "--as", "ana", config=config).returncode == 0
    loaded = load_config(config)
    return build_context(loaded.settings, loaded.data_dir)


def case_alerts(data_dir: Path) -> list[dict]:
    return [m.item["notice"] for m in Outbox(data_dir).messages() if m.item["notice"]["kind"] == "credits.alert"]


def test_alert_lost_by_a_killed_recorder_is_queued_once_by_the_daemon_start(config_file: Path, tmp_path: Path):
    data_dir = tmp_path / "var"
    assert run_cli("baseline", "set", "--scenario", "scn-invoice", "--credits", "100", "--reason", "manual",
                   "--as", "ana", config=config_file).returncode == 0
    kill_recorder(config_file, tmp_path, raw_run(run_id="run_lost", credits=640.0))
    assert [e["data"]["case"] for e in credit_entries_at(data_dir) if e["kind"] == "alert.queued"] == ["CASE-1"]
    assert case_alerts(data_dir) == []                       # the crash: in the ledger, not in the outbox

    for start in (1, 2):
        daemon = DaemonProcess(config_file, data_dir)
        try:
            daemon.wait_for("scheduler running")
        finally:
            assert daemon.stop() == 0
        [alert] = case_alerts(data_dir)
        assert alert["subject"] == "CASE-1" and alert["channel"] == "#ops-alerts"
        assert alert["fields"]["notice_id"] == "credits.alert/CASE-1/run_lost"
        assert alert["text"].startswith("SEV1 CASE-1: run run_lost of scn-invoice")
        assert "640.00 credits vs baseline 100.00 (6.4×)" in alert["text"]
        if start == 1:
            assert "restored from the ledger: CASE-1" in daemon.wait_for("start-up reconciliation")
            assert "were in the ledger but not in the outbox" in daemon.wait_for(
                "queued now: credits.alert/CASE-1/run_lost")
        else:
            assert not [line for line in daemon.lines if "start-up reconciliation" in line]
    recovered = [e for e in credit_entries_at(data_dir) if e["kind"] == "alert.recovered"]
    assert [(e["actor"], e["data"]["notice_id"]) for e in recovered] == [("daemon", "credits.alert/CASE-1/run_lost")]


def test_case_and_quarantine_the_state_never_received_are_restored_before_the_alert(config_file: Path,
                                                                                   tmp_path: Path):
    ctx = baselined_context(config_file)
    state = ctx.data_dir / "state.json"
    before = tmp_path / "state.before.json"
    shutil.copyfile(state, before)
    kill_recorder(config_file, tmp_path, raw_run(run_id="run_pii", credits=1500.0, Risk_Flags=["pii_exposure"]))
    assert state.read_bytes() == before.read_bytes()       # the state write of the batch never happened
    assert all_cases(ctx) == [] and (ctx.data_dir / "runs" / "QUARANTINE" / "run_pii" / "run_pii.json").is_file()
    held = gates.dispatch_gate(ctx, "run_pii", RunsIndex.open(ctx.data_dir))   # the ledger says dispatch_blocked
    assert not held.allowed and "recorded SEV0 with downstream dispatch blocked" in held.describe()

    found = queue_lost_alerts(ctx)
    assert found.alerts == ("credits.alert/CASE-1/run_pii",) and found.restored == ("CASE-1",)
    [case] = all_cases(ctx)
    assert (case.case_id, case.run_id, case.severity.value, case.awaiting_ack) == ("CASE-1", "run_pii", "SEV0", True)
    assert case.quarantined_run_ids == ("run_pii",) and case.rerun_gate
    gate = gates.dispatch_gate(ctx, "run_pii", RunsIndex.open(ctx.data_dir))
    assert not gate.allowed and "quarantined (CASE-1)" in gate.describe()
    [alert] = case_alerts(ctx.data_dir)
    assert alert["channel"] == "#ops-critical" and "artifacts quarantined to runs/QUARANTINE/run_pii/" in alert["text"]
    assert [a["command"] for a in alert["fields"]["actions"]] == ["case ack", "rerun approve", "rerun deny"]

    assert queue_lost_alerts(ctx).alerts == () and len(case_alerts(ctx.data_dir)) == 1
    [outcome] = Recorder(ctx).record([validate_run(raw_run(run_id="run_b", credits=900.0))])
    assert outcome.case_id == "CASE-2"                                   # CASE-1 is never handed out again
    assert [e["kind"] for e in credit_entries(ctx)].count("case.restored") == 1


def test_a_case_whose_alert_was_queued_but_whose_state_write_never_happened_is_restored(config_file: Path,
                                                                                       tmp_path: Path):
    ctx = baselined_context(config_file)
    kill_recorder(config_file, tmp_path, raw_run(run_id="run_pii", credits=1500.0, Risk_Flags=["pii_exposure"]),
                  when="after-outbox")
    [alert] = case_alerts(ctx.data_dir)                  # the alert went out ...
    assert alert["subject"] == "CASE-1" and alert["channel"] == "#ops-critical"
    assert all_cases(ctx) == []                          # ... and the state never got its case
    held = gates.dispatch_gate(ctx, "run_pii", RunsIndex.open(ctx.data_dir))   # the ledger says dispatch_blocked
    assert not held.allowed and "recorded SEV0 with downstream dispatch blocked" in held.describe()

    daemon = DaemonProcess(config_file, ctx.data_dir)
    try:
        assert "restored from the ledger: CASE-1" in daemon.wait_for("start-up reconciliation")
    finally:
        assert daemon.stop() == 0
    [case] = all_cases(ctx)
    assert (case.case_id, case.run_id, case.severity.value, case.awaiting_ack) == ("CASE-1", "run_pii", "SEV0", True)
    gate = gates.dispatch_gate(ctx, "run_pii", RunsIndex.open(ctx.data_dir))
    assert not gate.allowed and "quarantined (CASE-1)" in gate.describe()
    assert len(case_alerts(ctx.data_dir)) == 1                                   # not queued twice
    kinds = [e["kind"] for e in credit_entries(ctx)]
    assert kinds.count("case.restored") == 1 and "alert.recovered" not in kinds


def credit_entries_at(data_dir: Path) -> list[dict]:
    path = data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_run_files_lost_before_the_write_behind_sync_are_rewritten_by_the_daemon_start(config_file: Path,
                                                                                       tmp_path: Path):
    data_dir = tmp_path / "var"
    assert run_cli("baseline", "set", "--scenario", "scn-invoice", "--credits", "100", "--reason", "manual",
                   "--as", "ana", config=config_file).returncode == 0
    runs = [raw_run(run_id="run_calm", credits=90.0), raw_run(run_id="run_pii", credits=1500.0,
                                                               Risk_Flags=["pii_exposure"])]
    run_file = tmp_path / "runs.json"
    run_file.write_text(json.dumps(runs))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    child = subprocess.run([sys.executable, str(CHILD.with_name("sync_crash_child.py")), str(config_file),
                            str(run_file)], capture_output=True, text=True, env={**env, "PYTHONPATH": str(REPO)},
                           timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    recorded = {e["Run_ID"]: e for e in credit_entries_at(data_dir) if e["kind"] == "run.recorded"}
    calm = data_dir / recorded["run_calm"]["artifact"]
    quarantined = data_dir / "runs" / "QUARANTINE" / "run_pii" / "run_pii.json"
    # What a power loss before the sync leaves: a file never written back, another created but empty.
    calm.unlink()
    quarantined.write_bytes(b"")

    daemon = DaemonProcess(config_file, data_dir)
    try:
        line = daemon.wait_for("rewritten from the credit ledger")
    finally:
        assert daemon.stop() == 0
    assert "2 run file(s)" in line and "run_calm" in line and "run_pii" in line
    for run_id, path in (("run_calm", calm), ("run_pii", quarantined)):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == recorded[run_id]["artifact_sha256"]
    [restored] = [e for e in credit_entries_at(data_dir) if e["kind"] == "artifacts.restored"]
    assert sorted(restored["data"]["runs"]) == ["run_calm", "run_pii"] and restored["actor"] == "daemon"
    mark = orjson.loads((data_dir / "runs" / "CREDIT_MONITORING" / "run-files.durable").read_bytes())
    assert mark["through_seq"] >= restored["seq"]
