"""The run log `runs/CREDIT_MONITORING/ledger.jsonl`: one line per run, each the signed `run.recorded` entry of
the credit ledger (`runs/CREDIT_MONITORING/audit/ledger.jsonl`), kept so after a crash, checked by verify,
rebuilt by repair, and moved out of the way of an old data directory's signed ledger."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import orjson
from freezegun import freeze_time

from chatops.config import load_config
from jobs.audit import start_ledgers
from jobs.compose import build_context
from jobs.credits.intake.recorder import Recorder
from jobs.credits.intake.schema import validate_run
from tests.conftest import run_cli
from tests.credits.conftest import START, RecordingNotifier, raw_run, set_baseline

RUN_LOG = Path("runs/CREDIT_MONITORING/ledger.jsonl")
SIGNED = Path("runs/CREDIT_MONITORING/audit/ledger.jsonl")


def run_records(data_dir: Path) -> list[bytes]:
    lines = (data_dir / SIGNED).read_bytes().splitlines()
    return [line for line in lines if orjson.loads(line)["kind"] == "run.recorded"]


def another_process(config_file: Path):
    """A second context on the same data directory: what a CLI command or a restarted daemon opens."""
    loaded = load_config(config_file)
    ctx = build_context(loaded.settings, loaded.data_dir)
    ctx.notifier = RecordingNotifier()
    return ctx


@freeze_time(START)
def test_the_run_log_holds_each_run_record_byte_for_byte_and_no_action(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    recorder.record([validate_run(raw_run(run_id="run_a", credits=1200.0, Risk_Flags=["pii_exposure"])),
                     validate_run(raw_run(run_id="run_b", credits=100.0))])
    log_lines = (ctx.data_dir / RUN_LOG).read_bytes().splitlines()
    assert log_lines == run_records(ctx.data_dir) and len(log_lines) == 2
    assert {orjson.loads(line)["Severity"] for line in log_lines} == {"SEV0", "NORMAL"}


@freeze_time(START)
def test_lines_a_crash_kept_out_of_the_run_log_are_added_by_the_next_writer_and_at_start(ctx, recorder, config_file):
    set_baseline(ctx, "scn-invoice", 100.0)
    recorder.record([validate_run(raw_run(run_id=f"run_{n}", credits=100.0)) for n in range(3)])
    log = ctx.data_dir / RUN_LOG
    kept = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(kept[:1]) + kept[1][:20])       # the process died while writing the view
    other = another_process(config_file)
    Recorder(other).record([validate_run(raw_run(run_id="run_3", credits=100.0))])
    assert log.read_bytes().splitlines() == run_records(ctx.data_dir) and len(run_records(ctx.data_dir)) == 4
    log.unlink()                                              # lost entirely: the daemon's start derives it again
    start_ledgers(another_process(config_file))
    assert log.read_bytes().splitlines() == run_records(ctx.data_dir)


@freeze_time(START)
def test_verify_fails_on_an_edited_run_log_line_and_repair_writes_it_again_keeping_the_edit(ctx, recorder, config_file):
    set_baseline(ctx, "scn-invoice", 100.0)
    recorder.record([validate_run(raw_run(run_id=f"run_{n}", credits=100.0 + n)) for n in range(3)])
    log = ctx.data_dir / RUN_LOG
    log.write_bytes(log.read_bytes().replace(b'"Severity":"NORMAL"', b'"Severity":"SEV2"', 1))
    verified = run_cli("ledger", "verify", config=config_file)
    assert verified.returncode == 1
    assert "runs/CREDIT_MONITORING/ledger.jsonl line 1 is not the signed entry it stands for" in verified.stdout
    assert "chatops ledger repair --as <O3>" in verified.stdout
    repaired = run_cli("--as", "ana", "ledger", "repair", config=config_file)
    assert repaired.returncode == 0 and "written again from the signed ledger (3 lines)" in repaired.stdout
    assert log.read_bytes().splitlines() == run_records(ctx.data_dir)
    [kept] = log.parent.glob("ledger.jsonl.damaged-*")
    assert b'"Severity":"SEV2"' in kept.read_bytes() and stat.S_IMODE(kept.stat().st_mode) & 0o222 == 0
    assert run_cli("ledger", "verify", config=config_file).returncode == 0


@freeze_time(START)
def test_verify_warns_when_the_run_log_lags_and_fails_when_it_has_a_line_the_ledger_lacks(ctx, recorder, config_file):
    set_baseline(ctx, "scn-invoice", 100.0)
    recorder.record([validate_run(raw_run(run_id=f"run_{n}", credits=100.0)) for n in range(2)])
    log = ctx.data_dir / RUN_LOG
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0])
    lagging = run_cli("ledger", "verify", config=config_file)
    assert lagging.returncode == 0 and "lacks the last 1 run.recorded entries" in lagging.stdout
    log.write_bytes(b"".join(lines) + lines[0])               # a line added by hand: a run that was never signed
    added = run_cli("ledger", "verify", config=config_file)
    assert added.returncode == 1 and "line 3 is not in the signed ledger" in added.stdout


@freeze_time(START)
def test_an_old_data_directory_is_verified_where_it_is_and_moved_into_audit_by_the_next_writer(ctx, recorder,
                                                                                                config_file):
    set_baseline(ctx, "scn-invoice", 100.0)
    recorder.record([validate_run(raw_run(run_id="run_old", credits=100.0))])
    folder = ctx.data_dir / "runs/CREDIT_MONITORING"
    (folder / "ledger.jsonl").unlink()
    for path in (folder / "audit").iterdir():                 # the layout before the run log
        os.replace(path, folder / path.name)
    (folder / "audit").rmdir()
    before = (folder / "ledger.jsonl").read_bytes()
    verified = run_cli("ledger", "verify", config=config_file)
    assert verified.returncode == 0 and "is the signed credit ledger itself" in verified.stdout
    assert (folder / "ledger.jsonl").read_bytes() == before            # verify moved nothing
    other = another_process(config_file)
    Recorder(other).record([validate_run(raw_run(run_id="run_new", credits=100.0))])
    assert (folder / "audit/ledger.jsonl").read_bytes().startswith(before)
    assert not (folder / "ledger.checkpoint").exists() and not (folder / "ledger.sigs").exists()
    assert [orjson.loads(line)["Run_ID"] for line in (folder / "ledger.jsonl").read_bytes().splitlines()] == [
        "run_old", "run_new"]
    assert run_cli("ledger", "verify", config=config_file).returncode == 0


@freeze_time(START)
def test_reseal_archives_the_run_log_with_the_ledger_and_starts_an_empty_one(ctx, recorder, config_file):
    set_baseline(ctx, "scn-invoice", 100.0)
    recorder.record([validate_run(raw_run(run_id="run_x", credits=100.0))])
    done = run_cli("--as", "ana", "ledger", "reseal", "--ledger", "credit", "--reason", "drill", config=config_file)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = ctx.data_dir / "runs/CREDIT_MONITORING"
    [archived] = folder.glob("ledger.jsonl.damaged-*")
    assert b"run_x" in archived.read_bytes()
    assert (folder / "ledger.jsonl").read_bytes() == b""
