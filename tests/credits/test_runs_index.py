"""The runs index is read from the credit ledger itself: complete lines only, quarantine moves followed."""
from __future__ import annotations

import gc

from freezegun import freeze_time

from jobs.credits.intake.schema import validate_run
from store.runs_index import RunsIndex
from tests.credits.conftest import START, raw_run, set_baseline


@freeze_time(START)
def test_index_finds_runs_their_entry_and_where_a_quarantined_file_is_now(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    recorder.record([validate_run(raw_run(run_id="run_q", credits=1500.0, Risk_Flags=["pii_exposure"])),
                     validate_run(raw_run(run_id="run_n", credits=100.0))])
    index = RunsIndex.open(ctx.data_dir)
    assert index.get("run_q").severity == "SEV0" and index.get("run_n").severity == "NORMAL"
    assert index.entry("run_n")["artifact"] == "runs/CREDIT_MONITORING/2026-11-22/run_n.json"
    path, sha = index.artifact_of("run_q")
    assert path == "runs/QUARANTINE/run_q/run_q.json" and sha == index.entry("run_q")["artifact_sha256"]
    assert index.get("run_missing") is None and index.refresh() == 0


def test_a_partial_line_is_read_only_once_it_is_complete(tmp_path):
    ledger = tmp_path / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    ledger.parent.mkdir(parents=True)
    line = (b'{"Run_ID":"r1","Scenario_ID":"s","Severity":"SEV2","Started_At":"2026-11-22T16:30:00+00:00",'
            b'"kind":"run.recorded","seq":0}')
    ledger.write_bytes(line[:40])
    index = RunsIndex.open(tmp_path)
    assert index.get("r1") is None
    with ledger.open("ab") as f:
        f.write(line[40:] + b"\n")
    assert index.refresh() == 1 and index.get("r1").seq == 0 and len(index.sev2_times["s"]) == 1


def test_the_garbage_collector_never_walks_the_indexed_runs(tmp_path):
    """A full collection walks every tracked container; a dict of strings is never tracked, however many
    runs it holds, so the daemon's pauses do not grow with its ledger."""
    ledger = tmp_path / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    ledger.parent.mkdir(parents=True)
    line = b'{"Run_ID":"r%d","Scenario_ID":"odd\\u0000id","Severity":"NORMAL","kind":"run.recorded","seq":%d}'
    lines = [line % (n, n) for n in range(50)]
    ledger.write_bytes(b"\n".join(lines) + b"\n")
    index = RunsIndex.open(tmp_path)
    assert not gc.is_tracked(index.runs) and len(index.runs) == 50
    info = index.get("r49")
    assert (info.scenario_id, info.severity, info.seq, info.offset, info.length) == (
        "odd\x00id", "NORMAL", 49, sum(len(line) + 1 for line in lines[:49]), len(lines[49]))
