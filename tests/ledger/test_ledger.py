"""The append protocol, recovery and verify on real files (docs/ledger.md §2, §5–§7)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from store.ledger.entry import EntryInvalid
from store.ledger.ledger import LedgerDamaged, read_sig_lines
from store.ledger.note import open_checkpoint
from store.ledger.verify import SinceCheckpoint
from tests.ledger.helpers import failures, fill, make_ledger, make_signer, verify, warnings


@pytest.fixture
def signer(tmp_path):
    return make_signer(tmp_path / "keys")


@pytest.fixture
def ledger_dir(tmp_path):
    return tmp_path / "runs" / "CREDIT_MONITORING"


def _lines(ledger_dir):
    return (ledger_dir / "ledger.jsonl").read_bytes().splitlines()


def test_run_records_stay_flat_so_the_runbooks_jq_fields_are_top_level(ledger_dir, signer):
    ledger = make_ledger(ledger_dir, signer)
    entry = ledger.append("run.recorded", "daemon", None, {
        "Run_ID": "run_20261122_0830_7f3a", "Scenario_ID": "scn-invoice-sync", "Severity": "SEV1",
        "Credits_Total": 1734.5, "Risk_Flags": ["retry_loop"]})
    assert entry.seq == 1          # entry 0 is ledger.created
    first, second = (json.loads(line) for line in _lines(ledger_dir))
    assert first["kind"] == "ledger.created" and first["data"]["origin"] == signer.name
    assert second["Severity"] == "SEV1" and second["Risk_Flags"] == ["retry_loop"]
    assert {"v", "seq", "ts", "kind", "actor"} <= set(second) and "role" not in second
    assert _lines(ledger_dir)[1] == json.dumps(second, sort_keys=True, separators=(",", ":"),
                                               ensure_ascii=False).encode()
    assert second["ts"].endswith("Z") and len(second["ts"]) == len("2026-11-22T16:30:01.482113Z")


@pytest.mark.parametrize("kind, fields, message", [
    ("alert.acked", {"Severity": "SEV1"}, "only run.recorded keeps record fields flat"),
    ("run.recorded", {"seq": 5}, "envelope field"),
    ("run.recorded", {"bad-key": 1}, "must match"),
    ("run.recorded", {"n": 2**53 + 1}, r"within ±2\^53"),
    ("run.recorded", {"x": float("nan")}, "NaN"),
    ("run.recorded", {"big": "x" * 70_000}, "at most 65,536"),
    ("Run.Recorded", {}, "dotted lower-case"),
    ("run.recorded", {"s": "\ud800"}, "lone surrogate"),
])
def test_entries_that_break_the_format_rules_are_refused_with_the_rule(ledger_dir, signer, kind, fields, message):
    ledger = make_ledger(ledger_dir, signer)
    with pytest.raises(EntryInvalid, match=message):
        ledger.append(kind, "daemon", None, fields)


def test_a_multi_entry_commit_is_one_write_and_one_checkpoint(ledger_dir, signer):
    ledger = make_ledger(ledger_dir, signer)
    with ledger.commit() as c:
        run = c.append("run.recorded", "daemon", None, {"Run_ID": "r1", "Severity": "SEV1"})
        alert = c.append("alert.posted", "daemon", None, {"Run_ID": "r1", "data": {"channel": "#ops-alerts"}})
    assert (run.seq, alert.seq) == (1, 2)
    sigs, _, _ = read_sig_lines(ledger_dir / "ledger.sigs")
    assert [s.size for s in sigs] == [3]
    assert verify(ledger_dir, signer).ok


def test_a_commit_whose_block_raises_writes_nothing(ledger_dir, signer):
    ledger = make_ledger(ledger_dir, signer)
    fill(ledger, 2)
    before = (ledger_dir / "ledger.jsonl").read_bytes()
    with pytest.raises(RuntimeError):
        with ledger.commit() as c:
            c.append("run.recorded", "daemon", None, {"Run_ID": "never"})
            raise RuntimeError("domain step failed")
    assert (ledger_dir / "ledger.jsonl").read_bytes() == before
    assert ledger.append("alert.acked", "U0ANA00001", "O2", {"Run_ID": "r"}).seq == 3


def test_a_second_writer_object_catches_up_with_what_the_first_appended(ledger_dir, signer):
    daemon, cli = make_ledger(ledger_dir, signer), make_ledger(ledger_dir, signer)
    fill(daemon, 3)
    assert cli.append("alert.acked", "U0ANA00001", "O2", {"Run_ID": "r"}).seq == 4
    assert daemon.append("alert.acked", "U0ANA00001", "O2", {"Run_ID": "r"}).seq == 5
    assert verify(ledger_dir, signer).ok


def test_verify_reports_size_root_signature_and_commit_signatures(ledger_dir, signer):
    fill(make_ledger(ledger_dir, signer), 5)
    report = verify(ledger_dir, signer)
    text = report.text()
    assert report.ok and report.entries == 6
    assert "entries     6 (seq 0–5)" in text and "signature OK" in text and "OK          6 entries verified" in text
    assert json.loads(json.dumps(report.as_json()))["ok"] is True


def test_torn_tail_is_a_warning_for_verify_and_is_repaired_and_recorded_on_recovery(ledger_dir, signer):
    fill(make_ledger(ledger_dir, signer), 3)
    with open(ledger_dir / "ledger.jsonl", "ab") as handle:
        handle.write(b'{"actor":"daemon","kind":"run.rec')
    report = verify(ledger_dir, signer)
    assert report.ok
    assert any("ends with 33 bytes that are not a complete entry" in w for w in warnings(report))
    recovery = make_ledger(ledger_dir, signer).recover()
    assert recovery.torn_bytes == 33 and recovery.torn_file.read_bytes().startswith(b'{"actor"')
    last = json.loads(_lines(ledger_dir)[-1])
    assert last["kind"] == "ledger.recovered" and last["seq"] == 4
    assert last["data"]["bytes_removed"] == 33 and last["data"]["saved_to"].startswith("ledger.jsonl.torn-")
    assert verify(ledger_dir, signer).ok and not warnings(verify(ledger_dir, signer))


def test_nul_run_after_a_power_loss_is_cut_as_a_torn_tail(ledger_dir, signer):
    fill(make_ledger(ledger_dir, signer), 2)
    with open(ledger_dir / "ledger.jsonl", "ab") as handle:
        handle.write(b"\0" * 512 + b"\n")
    assert make_ledger(ledger_dir, signer).recover().torn_bytes == 513
    assert verify(ledger_dir, signer).ok


def test_complete_lines_written_before_a_crash_at_the_checkpoint_are_kept_and_signed(ledger_dir, signer):
    ledger = make_ledger(ledger_dir, signer)
    fill(ledger, 2)
    checkpoint = (ledger_dir / "ledger.checkpoint").read_bytes()
    fill(ledger, 2)
    (ledger_dir / "ledger.checkpoint").write_bytes(checkpoint)   # as if the crash came before step 6
    sigs = (ledger_dir / "ledger.sigs").read_bytes().splitlines(keepends=True)
    (ledger_dir / "ledger.sigs").write_bytes(b"".join(sigs[:2]))
    report = verify(ledger_dir, signer)
    assert report.ok and any("2 entries after the last checkpoint" in w for w in warnings(report))
    recovery = make_ledger(ledger_dir, signer).recover()
    assert recovery.signed_pending == 2 and recovery.torn_bytes == 0
    assert len(_lines(ledger_dir)) == 5 and verify(ledger_dir, signer).ok


def test_damage_inside_the_signed_range_refuses_to_write_with_the_verify_message(ledger_dir, signer):
    fill(make_ledger(ledger_dir, signer), 4)
    lines = _lines(ledger_dir)
    lines[2] = lines[2].replace(b'"Severity":"SEV2"', b'"Severity":"SEV3"')
    (ledger_dir / "ledger.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(LedgerDamaged, match=r"entries 0–4 do not match the signed checkpoint of size 5"):
        make_ledger(ledger_dir, signer).append("alert.acked", "daemon", None, {})
    report = verify(ledger_dir, signer)
    assert not report.ok
    assert failures(report)[0].startswith("entries 0–4 do not match the signed checkpoint of size 5 (root ")
    assert "an entry between seq 2 and 2 was changed (signed checkpoint 2 still matches)" in failures(report)[0]


def test_truncation_inside_the_signed_range_names_how_many_entries_were_removed(ledger_dir, signer):
    fill(make_ledger(ledger_dir, signer), 9)
    lines = _lines(ledger_dir)
    (ledger_dir / "ledger.jsonl").write_bytes(b"\n".join(lines[:7]) + b"\n")
    expected = "ledger has 7 entries but the checkpoint signed for it covers 10: 3 entries were removed from the end."
    assert failures(verify(ledger_dir, signer)) == [expected]
    with pytest.raises(LedgerDamaged, match="3 entries were removed"):
        make_ledger(ledger_dir, signer).recover()


def test_a_rolled_back_checkpoint_is_caught_by_the_commit_signatures(ledger_dir, signer):
    ledger = make_ledger(ledger_dir, signer)
    fill(ledger, 2)
    old_checkpoint = (ledger_dir / "ledger.checkpoint").read_bytes()
    size_then = len(_lines(ledger_dir))
    fill(ledger, 3)
    lines = _lines(ledger_dir)[:size_then]
    (ledger_dir / "ledger.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (ledger_dir / "ledger.checkpoint").write_bytes(old_checkpoint)
    assert any("the checkpoint was rolled back" in f for f in failures(verify(ledger_dir, signer)))
    with pytest.raises(LedgerDamaged, match="3 entries were removed"):
        make_ledger(ledger_dir, signer).recover()


def test_an_altered_checkpoint_signature_and_a_foreign_key_are_reported(ledger_dir, signer, tmp_path):
    fill(make_ledger(ledger_dir, signer), 2)
    path = ledger_dir / "ledger.checkpoint"
    text = path.read_text()
    path.write_text(text.replace("\n3\n", "\n2\n", 1))
    message = failures(verify(ledger_dir, signer))[0]
    assert message.startswith(f"ledger.checkpoint: signature by {signer.verifier.short} does not verify: "
                              "the checkpoint file was altered.")
    path.write_text(text)
    stranger = make_signer(tmp_path / "other-keys")
    message = failures(verify(ledger_dir, stranger))[0]
    assert message.startswith("ledger.checkpoint is not signed by a trusted key (found: ")
    assert message.endswith("Trusted keys come from config.toml [ledger] trusted_vkeys.")


def test_since_accepts_an_earlier_checkpoint_and_flags_a_rewritten_history_and_equivocation(ledger_dir, signer):
    ledger = make_ledger(ledger_dir, signer)
    fill(ledger, 3)
    yesterday = SinceCheckpoint("yesterday.checkpoint", (ledger_dir / "ledger.checkpoint").read_text())
    fill(ledger, 4)
    report = verify(ledger_dir, signer, since=yesterday)
    assert ("since", "yesterday.checkpoint (size 4): append-only, +4 entries") in report.rows
    # The log key signs another history of the same size (what a stolen key could do).
    other_dir = ledger_dir.parent / "other"
    other = make_ledger(other_dir, signer)
    for n in range(3):
        other.append("run.recorded", "daemon", None, {"Run_ID": f"rewritten_{n}"})
    forged = SinceCheckpoint("yesterday.checkpoint", (other_dir / "ledger.checkpoint").read_text())
    message = failures(verify(ledger_dir, signer, since=forged))[0]
    assert message.startswith("two validly signed checkpoints for size 4 have different roots "
                              "(ledger.sigs vs yesterday.checkpoint): the log key signed two histories.")


def test_published_checkpoints_are_checked_and_witness_cosignatures_reported(ledger_dir, signer):
    ledger = make_ledger(ledger_dir, signer)
    fill(ledger, 3)
    published = ledger.publish()
    assert published.name == "4.checkpoint" and ledger.publish() == published
    fill(ledger, 2)
    report = verify(ledger_dir, signer)
    assert ("published", "1 checkpoints (sizes 4 … 4): all match this ledger") in report.rows
    signed = open_checkpoint(published.read_text(), [signer.verifier], signer.name)
    assert signed.checkpoint.size == 4


def test_an_altered_commit_signature_in_ledger_sigs_is_reported(ledger_dir, signer):
    fill(make_ledger(ledger_dir, signer), 3)
    path = ledger_dir / "ledger.sigs"
    lines = path.read_text().splitlines(keepends=True)
    size, root, signature = lines[1].split()
    lines[1] = f"{size} {root} {signature[:10]}{'A' if signature[10] != 'A' else 'B'}{signature[11:]}\n"
    path.write_text("".join(lines))
    assert failures(verify(ledger_dir, signer)) == [
        f"ledger.sigs line 2 (size {size}): no signature by a trusted key verifies: the line was altered or "
        "signed by an unknown key."]


def test_a_clock_that_goes_back_more_than_five_minutes_is_a_warning_only(ledger_dir, signer):
    ledger = make_ledger(ledger_dir, signer)
    fill(ledger, 2)
    ledger.clock.moment -= timedelta(minutes=10)
    fill(ledger, 1)
    report = verify(ledger_dir, signer)
    assert report.ok
    assert any("the clock went back (warning only)" in w and w.startswith("seq 3 has ts") for w in warnings(report))


def test_the_parallel_scan_gives_the_serial_result_and_falls_back_on_a_bad_line(ledger_dir, signer):
    from store.ledger.scan import scan_ledger

    fill(make_ledger(ledger_dir, signer), 40, per_commit=7)
    path = ledger_dir / "ledger.jsonl"
    sizes = {8, 22, 41}
    serial = scan_ledger(path, want_roots=sizes)
    parallel = scan_ledger(path, want_roots=sizes, parallel=True, parallel_min_bytes=0)
    assert (parallel.entries, parallel.roots, parallel.last_ts) == (serial.entries, serial.roots, serial.last_ts)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[30] = b'{"seq":30,\n'
    path.write_bytes(b"".join(lines))
    damaged = scan_ledger(path, want_roots=sizes, parallel=True, parallel_min_bytes=0)
    assert damaged.entries == 30 and damaged.problem.kind == "json" and damaged.problem.line_no == 31
    assert damaged.roots == {8: serial.roots[8], 22: serial.roots[22]}


def test_a_ledger_whose_checkpoint_and_sigs_were_deleted_fails_verify(ledger_dir, signer):
    fill(make_ledger(ledger_dir, signer), 4)
    lines = _lines(ledger_dir)
    lines[2] = lines[2].replace(b'"Severity":"SEV2"', b'"Severity":"SEV0"')
    (ledger_dir / "ledger.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (ledger_dir / "ledger.checkpoint").unlink()
    (ledger_dir / "ledger.sigs").unlink()
    report = verify(ledger_dir, signer)
    assert not report.ok
    assert failures(report) == [
        "ledger.jsonl has 5 entries but ledger.checkpoint and ledger.sigs are missing: none of them is signed. Keep "
        "every file as it is (evidence): the signature files were deleted, or the very first commit crashed "
        "before it was signed (then an O3 runs: chatops ledger repair)."]


def test_verify_claims_only_the_commit_signatures_it_could_compare(ledger_dir, signer):
    fill(make_ledger(ledger_dir, signer), 6)
    lines = _lines(ledger_dir)
    lines[3] = b'{"seq":3,'
    (ledger_dir / "ledger.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    report = verify(ledger_dir, signer)
    assert not report.ok
    assert ("signatures", "2 of 6 commit checkpoints in ledger.sigs verify and match; 4 cover entries past the 3 "
                          "readable ones") in report.rows
    assert not any("all verify and match" in text for _, text in report.rows)


def test_recovery_refuses_a_rollback_below_a_published_checkpoint(ledger_dir, signer):
    ledger = make_ledger(ledger_dir, signer)
    fill(ledger, 2)
    saved = {name: (ledger_dir / name).read_bytes() for name in ("ledger.jsonl", "ledger.checkpoint", "ledger.sigs")}
    fill(ledger, 3)
    ledger.publish()
    for name, data in saved.items():          # ledger, checkpoint and sigs rolled back together
        (ledger_dir / name).write_bytes(data)
    with pytest.raises(LedgerDamaged, match="ledger has 3 entries but the checkpoint signed for it covers 6"):
        make_ledger(ledger_dir, signer).append("alert.acked", "daemon", None, {})
    fill(make_ledger(ledger_dir.parent / "fork", signer), 5)   # the same key signed another history of size 6
    published = ledger_dir / "ledger.checkpoints" / "6.checkpoint"
    for name in saved:
        (ledger_dir / name).write_bytes((ledger_dir.parent / "fork" / name).read_bytes())
    assert published.exists()
    with pytest.raises(LedgerDamaged, match=r"published checkpoint 6.checkpoint \(root .{4}…\) does not match this "
                                            r"ledger at size 6: entries before 6 were changed"):
        make_ledger(ledger_dir, signer).recover()
