"""One run, one file: Run_IDs that name the same run file are refused, never written over each other;
and a batch that changes no case leaves the state file as it was."""
from __future__ import annotations

import os

import pytest
from freezegun import freeze_time

from jobs.compose import build_context
from jobs.credits.cases.service import all_cases
from jobs.credits.intake.schema import validate_run
from store import artifacts
from tests.credits.conftest import START, entries, raw_run, set_baseline

DAY = ("runs", "CREDIT_MONITORING", "2026-11-22")


@freeze_time(START)
def test_a_run_id_naming_a_recorded_runs_file_is_refused_and_the_file_kept(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    [first] = recorder.record([validate_run(raw_run(run_id="run_7f3a", credits=90.0))])
    path = ctx.data_dir.joinpath(*DAY, "run_7f3a.json")
    before = path.read_bytes()
    [second] = recorder.record([validate_run(raw_run(run_id="RUN-7f3a", credits=95.0))])
    assert first.recorded and not second.recorded
    assert "run_7f3a.json, the run file of run_7f3a" in second.message and "Run_ID of its own" in second.message
    assert path.read_bytes() == before
    assert [e["Run_ID"] for e in entries(ctx) if e["kind"] == "run.recorded"] == ["run_7f3a"]


@freeze_time(START)
def test_two_run_ids_of_one_file_in_one_batch_record_the_first_only(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    outcomes = recorder.record([validate_run(raw_run(run_id=run_id, credits=90.0)) for run_id in ("7f3a", "RUN-7f3a")])
    assert [o.recorded for o in outcomes] == [True, False]
    assert b'"Run_ID": "7f3a"' in ctx.data_dir.joinpath(*DAY, "run_7f3a.json").read_bytes()


@freeze_time(START)
def test_a_file_left_by_a_crashed_attempt_is_nobodys_and_is_replaced(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    path = ctx.data_dir.joinpath(*DAY, "run_7f3a.json")
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"Run_ID": "RUN-7f3a", "Credits_Total": 1')      # written, never committed
    [outcome] = recorder.record([validate_run(raw_run(run_id="run_7f3a", credits=90.0))])
    assert outcome.recorded
    [entry] = [e for e in entries(ctx) if e["kind"] == "run.recorded"]
    assert artifacts.sha256_hex(path.read_bytes()) == entry["artifact_sha256"]


def test_a_move_never_replaces_a_file_already_at_its_destination(tmp_path):
    data = b'{"Run_ID": "run_a"}\n'
    source = tmp_path / "q" / "run_a.json"
    source.parent.mkdir()
    source.write_bytes(data)
    artifacts.sidecar_of(source).write_bytes(artifacts.sidecar_line(source.name, artifacts.sha256_hex(data)))
    (tmp_path / "day").mkdir()
    (tmp_path / "day" / "run_a.json").write_bytes(b"another run's file")
    with pytest.raises(artifacts.ArtifactError, match="already exists"):
        artifacts.move(tmp_path, source.relative_to(tmp_path), tmp_path.joinpath("day").relative_to(tmp_path),
                       artifacts.sha256_hex(data))
    assert (tmp_path / "day" / "run_a.json").read_bytes() == b"another run's file" and source.exists()


def state_files(data_dir) -> list[tuple[int, int, int] | None]:
    """state.json's and state.journal's (inode, size, mtime): any write changes one of them."""
    found = []
    for name in ("state.json", "state.journal"):
        try:
            st = os.stat(data_dir / name)
        except FileNotFoundError:
            found.append(None)
        else:
            found.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return found


@freeze_time(START)
def test_a_batch_that_touches_no_case_leaves_the_state_files_alone(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    before = state_files(ctx.data_dir)
    outcomes = recorder.record([validate_run(raw_run(run_id=f"run_{n}", credits=90.0 + n)) for n in range(5)])
    assert all(o.recorded and o.severity == "NORMAL" for o in outcomes)
    assert state_files(ctx.data_dir) == before
    [spike] = recorder.record([validate_run(raw_run(run_id="run_spike", credits=700.0, Risk_Flags=["retry_loop"]))])
    assert spike.severity == "SEV1" and spike.case_id == "CASE-1"          # planned again in a transaction
    assert state_files(ctx.data_dir) != before
    assert [c.case_id for c in all_cases(build_context(ctx.settings, ctx.data_dir))] == ["CASE-1"]
