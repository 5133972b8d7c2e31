"""The runs index on disk (`store.run_lookup`): found without reading the ledger, never answered from stale.

`gate dispatch RUN_ID` and `runs show RUN_ID` find their run through it. Every test records real runs
into the real signed credit ledger; "another process" is a real `chatops runs record` subprocess.
"""
from __future__ import annotations

import os
import sqlite3

import orjson
import pytest
from freezegun import freeze_time

from jobs.credits.intake.schema import validate_run
from store.errors import Damaged
from store.run_lookup import INDEX, RunLookup, open_runs
from store.runs_index import LEDGER, RunsIndex
from tests.conftest import run_cli
from tests.credits.conftest import START, raw_run, set_baseline


def record(recorder, *run_ids: str, **extra) -> None:
    recorder.record([validate_run(raw_run(run_id=run_id, **extra)) for run_id in run_ids])


def meta(data_dir) -> dict[str, str]:
    with sqlite3.connect(data_dir / INDEX) as db:
        return dict(db.execute("SELECT key, value FROM meta"))


@freeze_time(START)
def test_the_index_answers_as_the_ledger_does_and_is_kept_on_disk(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    record(recorder, "run_n")
    record(recorder, "run_q", credits=1500.0, Risk_Flags=["pii_exposure"])
    lookup, memory = RunLookup.open(ctx.data_dir), RunsIndex.open(ctx.data_dir)
    for run_id in ("run_n", "run_q"):
        assert lookup.get(run_id) == memory.get(run_id)
        assert lookup.entry(run_id) == memory.entry(run_id)
        assert lookup.artifact_of(run_id) == memory.artifact_of(run_id)
    assert lookup.artifact_of("run_q")[0] == "runs/QUARANTINE/run_q/run_q.json"
    assert lookup.get("run_missing") is None and lookup.scenarios == {"scn-invoice"}
    assert list(lookup.recent_run_ids(5)) == ["run_q", "run_n"]
    assert int(meta(ctx.data_dir)["offset"]) == (ctx.data_dir / LEDGER).stat().st_size
    assert RunLookup.open(ctx.data_dir).sync() == 0          # up to date: nothing read again


@freeze_time(START)
def test_a_stale_index_reads_only_the_ledgers_new_tail_before_answering(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    record(recorder, "run_a")
    RunLookup.open(ctx.data_dir).close()
    covered = int(meta(ctx.data_dir)["offset"])
    record(recorder, "run_b", scenario="scn-new")
    lookup = RunLookup.open(ctx.data_dir)
    assert lookup.get("run_b").scenario_id == "scn-new" and lookup.get("run_a") is not None
    assert int(meta(ctx.data_dir)["offset"]) > covered
    assert lookup.scenarios == {"scn-invoice", "scn-new"}


def test_a_run_recorded_by_another_process_is_found(config_file, tmp_path):
    run_file = tmp_path / "run.json"
    run_file.write_bytes(orjson.dumps(raw_run(run_id="run_first")))
    assert run_cli("runs", "record", str(run_file), "--as", "ana", config=config_file).returncode == 0
    data_dir = tmp_path / "var"
    lookup = RunLookup.open(data_dir)
    assert lookup.get("run_first") is not None and lookup.get("run_other") is None
    run_file.write_bytes(orjson.dumps(raw_run(run_id="run_other")))
    assert run_cli("runs", "record", str(run_file), "--as", "ana", config=config_file).returncode == 0
    assert RunLookup.open(data_dir).get("run_other") is not None
    shown = run_cli("runs", "show", "run_other", config=config_file)     # and by a third process, via the CLI
    assert shown.returncode == 0 and "run_other" in shown.stdout
    gate = run_cli("gate", "dispatch", "run_other", config=config_file)
    assert gate.returncode == 0 and gate.stdout.startswith("allowed: run_other")


@freeze_time(START)
def test_an_index_of_a_replaced_ledger_is_rebuilt_and_its_old_runs_are_not_found(ctx, recorder):
    """A reseal starts a new ledger file: what the index says about the old one is never answered."""
    set_baseline(ctx, "scn-invoice", 100.0)
    record(recorder, "run_a")
    record(recorder, "run_b")
    RunLookup.open(ctx.data_dir).close()
    ledger = ctx.data_dir / LEDGER
    lines = ledger.read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if b'"run_b"' not in line]
    replacement = ledger.with_name("replacement")
    replacement.write_bytes(b"".join(kept))
    os.replace(replacement, ledger)                   # another file (inode), as a reseal makes
    lookup = RunLookup.open(ctx.data_dir)
    assert lookup.get("run_b") is None and lookup.get("run_a") is not None


@freeze_time(START)
def test_a_ledger_whose_last_covered_line_changed_in_place_is_damage_not_indexed_again(ctx, recorder, config_file):
    set_baseline(ctx, "scn-invoice", 100.0)
    record(recorder, "run_a")
    record(recorder, "run_b")
    RunLookup.open(ctx.data_dir).close()
    ledger = ctx.data_dir / LEDGER
    data = ledger.read_bytes()
    changed = data.replace(b'"run_b"', b'"run_c"')
    assert len(changed) == len(data)
    with open(ledger, "r+b") as f:                   # same file, same size, another last line
        f.write(changed)
    with pytest.raises(Damaged, match="changed in place"):
        RunLookup.open(ctx.data_dir)
    gate = run_cli("gate", "dispatch", "run_c", config=config_file)
    assert gate.returncode == 8 and "changed in place" in gate.stderr and "allowed" not in gate.stdout


@freeze_time(START)
def test_a_damaged_index_file_is_rebuilt_never_trusted(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    record(recorder, "run_a")
    RunLookup.open(ctx.data_dir).close()
    (ctx.data_dir / INDEX).write_bytes(b"not a database at all" * 200)
    lookup = RunLookup.open(ctx.data_dir)
    assert lookup.get("run_a").seq == RunsIndex.open(ctx.data_dir).get("run_a").seq


@freeze_time(START)
def test_an_index_pointing_at_another_runs_line_is_rebuilt_before_it_answers(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    record(recorder, "run_a", scenario="scn-a")
    record(recorder, "run_b", scenario="scn-b")
    RunLookup.open(ctx.data_dir).close()
    with sqlite3.connect(ctx.data_dir / INDEX) as db:
        (b_offset,) = db.execute("SELECT offset FROM runs WHERE run_id = 'run_b'").fetchone()
        db.execute("UPDATE runs SET offset = ? WHERE run_id = 'run_a'", (b_offset,))
    assert RunLookup.open(ctx.data_dir).get("run_a").scenario_id == "scn-a"


@freeze_time(START)
def test_an_index_that_lost_runs_is_rebuilt_before_it_says_no_such_run(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    record(recorder, "run_a", "run_b")
    RunLookup.open(ctx.data_dir).close()
    with sqlite3.connect(ctx.data_dir / INDEX) as db:
        db.execute("DELETE FROM runs WHERE run_id = 'run_b'")
    assert RunLookup.open(ctx.data_dir).get("run_b") is not None


def test_without_a_ledger_there_is_no_run_and_the_index_follows_a_new_ledger(ctx, recorder):
    (ctx.data_dir / INDEX).parent.mkdir(parents=True, exist_ok=True)
    assert RunLookup.open(ctx.data_dir).get("run_a") is None
    with freeze_time(START):
        set_baseline(ctx, "scn-invoice", 100.0)
        record(recorder, "run_a")
    assert RunLookup.open(ctx.data_dir).get("run_a") is not None


def test_a_data_directory_with_nothing_recorded_reads_the_ledger_instead(tmp_path):
    """No runs folder yet: nothing to index, and nothing is created by a read."""
    runs = open_runs(tmp_path)
    assert isinstance(runs, RunsIndex) and runs.get("run_a") is None
    assert not (tmp_path / INDEX).exists()


@freeze_time(START)
@pytest.mark.parametrize("edit", [(b'"Scenario_ID":"scn-a"', b'"Scenario_ID":"scn-z"'),
                                  (b'"Scenario_ID":"scn-a"', b'"Scenario_ID":"scn-abc"')],
                         ids=["same-length", "longer"])
def test_a_run_line_edited_in_place_is_damage_never_answered_nor_indexed_again(ctx, recorder, edit):
    set_baseline(ctx, "scn-invoice", 100.0)
    record(recorder, "run_a", scenario="scn-a")
    record(recorder, "run_b", scenario="scn-b")
    RunLookup.open(ctx.data_dir).close()
    ledger = ctx.data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    before, after = edit
    data = ledger.read_bytes()
    assert data.count(before) == 1
    with open(ledger, "r+b") as f:          # in place: the same file, as an editor saving over it would not
        f.write(data.replace(before, after))
    with pytest.raises(Damaged, match="changed in place"):
        RunLookup.open(ctx.data_dir).get("run_a")
