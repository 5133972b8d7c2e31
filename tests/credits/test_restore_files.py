"""Run files a crash lost after their ledger commit are rewritten from the ledger at start, exactly."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import orjson
import pytest
from freezegun import freeze_time

from jobs.audit import verify_ledgers
from jobs.credits.intake.file_writers import WriteBehindFileWriter
from jobs.credits.intake.recorder import Recorder
from jobs.credits.intake.restore_files import restore_run_files
from jobs.credits.intake.schema import validate_run
from store import artifacts
from store.runs_index import LEDGER, entries_after
from tests.conftest import run_cli
from tests.credits.conftest import START, entries, raw_run, set_baseline

RUNS = {   # one of each kind of file the recorder writes
    "run_ok": dict(credits=100.0),
    "run_sev2": dict(credits=250.0, Risk_Flags=["batch_job"]),
    "run_sev1": dict(credits=600.0, Risk_Flags=["retry_loop"]),
    "run_sev0": dict(credits=1500.0, Risk_Flags=["pii_exposure"]),
    "run_new": dict(credits=80.0, scenario="scn-unbaselined"),
}


def record_all(ctx, runs=RUNS) -> dict[str, bytes]:
    """Recorded as the daemon records (write-behind, synced); returns each run's file bytes by Run_ID."""
    writer = WriteBehindFileWriter(ctx.data_dir, ctx.now)
    recorder = Recorder(ctx, writer)
    try:
        for run_id, extra in runs.items():
            recorder.record([validate_run(raw_run(run_id=run_id, **extra))])
        assert writer.flush(10)
    finally:
        writer.close()
    return {run_id: file_of(ctx, run_id).read_bytes() for run_id in runs}


def file_of(ctx, run_id: str):
    where = {e["Run_ID"]: e["data"]["new_path"] for e in entries(ctx) if e["kind"] == "quarantine.moved"}
    recorded = next(e for e in entries(ctx) if e["kind"] == "run.recorded" and e["Run_ID"] == run_id)
    return ctx.data_dir / where.get(run_id, recorded["artifact"])


def mark_at(ctx, seq: int) -> None:
    """The durable mark as the daemon writes it, at the entry `seq` of the credit ledger."""
    [entry] = [e for e in entries(ctx) if e["seq"] == seq]
    artifacts.write_durable_mark(ctx.data_dir, seq, START, entry["ts"])


def artifacts_verify(ctx):
    [report] = verify_ledgers(ctx.settings, ctx.data_dir, "credit", artifacts_days=7,
                              now=datetime(2026, 11, 23, tzinfo=timezone.utc))
    return report


@freeze_time(START)
def test_lost_empty_and_half_written_files_after_the_mark_are_rewritten_byte_for_byte(ctx):
    set_baseline(ctx, "scn-invoice", 100.0)
    written = record_all(ctx)
    first_run_seq = min(e["seq"] for e in entries(ctx) if e["kind"] == "run.recorded")
    mark_at(ctx, first_run_seq - 1)                                           # the sync never happened
    file_of(ctx, "run_ok").unlink()                                           # gone
    file_of(ctx, "run_sev2").write_bytes(b"")                                 # created, data never written
    file_of(ctx, "run_sev1").write_bytes(written["run_sev1"][:40])            # cut short
    artifacts.sidecar_of(file_of(ctx, "run_sev0")).unlink()                   # quarantined run's sidecar gone
    assert not artifacts_verify(ctx).ok

    restored = restore_run_files(ctx)

    assert sorted(restored.rewritten) == ["run_ok", "run_sev0", "run_sev1", "run_sev2"]
    assert restored.checked == 5 and restored.unrecoverable == ()
    for run_id, data in written.items():
        assert file_of(ctx, run_id).read_bytes() == data
    assert artifacts_verify(ctx).ok
    note = entries(ctx)[-1]
    assert note["kind"] == "artifacts.restored" and note["data"]["rewritten"] == 4
    assert note["data"]["after_seq"] == first_run_seq - 1
    assert artifacts.read_durable_mark(ctx.data_dir).through_seq == note["seq"]


@freeze_time(START)
def test_whole_files_after_the_mark_are_only_checked_and_the_mark_moves_to_the_end(ctx):
    set_baseline(ctx, "scn-invoice", 100.0)
    record_all(ctx)
    mark_at(ctx, 0)
    before = len(entries(ctx))
    restored = restore_run_files(ctx)
    assert restored.rewritten == () and restored.checked == 5
    assert len(entries(ctx)) == before                       # nothing to record
    assert restored.through_seq == entries(ctx)[-1]["seq"] == artifacts.read_durable_mark(ctx.data_dir).through_seq
    assert restore_run_files(ctx).checked == 0               # next start: nothing after the mark


@freeze_time(START)
def test_without_a_mark_every_recorded_run_is_checked_once(ctx):
    set_baseline(ctx, "scn-invoice", 100.0)
    written = record_all(ctx)
    (ctx.data_dir / artifacts.DURABLE_MARK).unlink()
    file_of(ctx, "run_ok").unlink()
    restored = restore_run_files(ctx)
    assert restored.checked == 5 and restored.rewritten == ("run_ok",)
    assert file_of(ctx, "run_ok").read_bytes() == written["run_ok"]


@freeze_time(START)
def test_files_before_the_mark_are_not_rewritten_a_deleted_one_stays_a_finding(ctx):
    set_baseline(ctx, "scn-invoice", 100.0)
    record_all(ctx)                      # synced: the mark is at the end
    file_of(ctx, "run_ok").unlink()      # lost after it was durable: tampering or a disk fault, not a crash
    restored = restore_run_files(ctx)
    assert restored.checked == 0 and not file_of(ctx, "run_ok").exists()
    assert "missing" in artifacts_verify(ctx).text()


@freeze_time(START)
def test_an_entry_that_cannot_reproduce_its_recorded_hash_is_named_never_guessed(ctx):
    set_baseline(ctx, "scn-invoice", 100.0)
    record_all(ctx, {"run_ok": {}})
    mark = artifacts.read_durable_mark(ctx.data_dir).through_seq
    odd = {**raw_run(run_id="run_odd"), "artifact": "runs/CREDIT_MONITORING/2026-11-22/run_odd.json",
           "artifact_sha256": "0" * 64}
    ctx.ledgers.credit.append("run.recorded", "daemon", None, odd)
    restored = restore_run_files(ctx)
    assert restored.unrecoverable == ("run_odd",) and restored.rewritten == ()
    assert not (ctx.data_dir / odd["artifact"]).exists()
    note = entries(ctx)[-1]
    assert note["kind"] == "artifacts.restored" and note["data"]["unrecoverable"] == ["run_odd"]
    assert note["data"]["after_seq"] == mark


def test_entries_after_reads_from_the_end_across_chunks_and_skips_a_partial_last_line(tmp_path):
    path = tmp_path / "ledger.jsonl"
    lines = [orjson.dumps({"seq": n, "ts": f"t{n}", "pad": "x" * 300}) for n in range(600)]   # several chunks
    path.write_bytes(b"\n".join(lines) + b"\n" + b'{"seq": 600, "pa')
    assert [e["seq"] for e in entries_after(path, 590, "t590")] == list(range(591, 600))
    assert [e["seq"] for e in entries_after(path, -1, "")] == list(range(600))
    assert entries_after(path, 599, "t599") == []
    assert entries_after(tmp_path / "none.jsonl", -1, "") == []


def test_a_mark_written_for_another_ledger_is_not_trusted(tmp_path):
    """A resealed ledger starts again from seq 0: a mark from the old one must not hide its entries."""
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"seq": n, "ts": f"new{n}"}) + b"\n" for n in range(5)))
    assert [e["seq"] for e in entries_after(path, 3, "old3")] == [0, 1, 2, 3, 4]      # same seq, other entry
    assert [e["seq"] for e in entries_after(path, 10_000, "old")] == [0, 1, 2, 3, 4]  # beyond the new ledger


@pytest.mark.parametrize("run_id", list(RUNS))
@freeze_time(START)
def test_every_kind_of_run_file_is_the_view_of_its_ledger_entry(ctx, run_id):
    set_baseline(ctx, "scn-invoice", 100.0)
    written = record_all(ctx, {run_id: RUNS[run_id]})
    [entry] = [e for e in entries(ctx) if e["kind"] == "run.recorded"]
    rebuilt = artifacts.run_file_bytes(artifacts.payload_of_entry(entry))
    assert rebuilt == written[run_id]
    assert hashlib.sha256(rebuilt).hexdigest() == entry["artifact_sha256"]
    assert (ctx.data_dir / LEDGER).exists()


@freeze_time(START)
def test_an_o3_restores_without_the_daemon_and_an_o2_is_refused_and_recorded(ctx, config_file):
    set_baseline(ctx, "scn-invoice", 100.0)
    written = record_all(ctx, {"run_ok": {}, "run_sev1": RUNS["run_sev1"]})
    mark_at(ctx, 0)
    file_of(ctx, "run_ok").unlink()

    refused = run_cli("runs", "restore-files", "--as", "ben", config=config_file)
    assert refused.returncode != 0 and "O3" in refused.stdout + refused.stderr
    assert not file_of(ctx, "run_ok").exists()
    assert entries(ctx)[-1]["kind"] == "command.refused" and entries(ctx)[-1]["actor"] == ctx.people.by_name("ben").slack_id

    done = run_cli("runs", "restore-files", "--as", "ana", config=config_file)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checked the files of 2 run(s)" in done.stdout and "rewritten: run_ok" in done.stdout
    assert file_of(ctx, "run_ok").read_bytes() == written["run_ok"]
    assert entries(ctx)[-1]["kind"] == "artifacts.restored" and entries(ctx)[-1]["actor"] == ctx.people.by_name("ana").slack_id
    again = run_cli("runs", "restore-files", "--as", "ana", config=config_file)
    assert "checked the files of 0 run(s)" in again.stdout
