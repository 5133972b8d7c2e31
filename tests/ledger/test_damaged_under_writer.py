"""A ledger changed under its running writer: the writer notices before its next commit, stops every
writer, alerts #ops-critical through the outbox, and stays closed until an O3 reopens or reseals it."""
from __future__ import annotations

import json
import subprocess

import pytest

from chatops.config import load_config
from jobs import audit
from jobs.compose import build_context
from store.errors import Damaged
from store.ledger.ledger import LedgerDamaged
from store.outbox import Outbox
from tests.conftest import run_cli

LEDGER = "runs/CREDIT_MONITORING/audit/ledger.jsonl"


def _ctx(config_file):
    loaded = load_config(config_file)
    return build_context(loaded.settings, loaded.data_dir)


def _writer(config_file):
    """The daemon's side: one context, one Ledger object that stays up and keeps its tree in memory."""
    ctx = _ctx(config_file)
    for n in range(3):
        ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": f"run_{n}"})
    return ctx


def _overwrite_byte(path, offset: int, byte: bytes) -> None:
    """From outside, as an operator's tool would: `dd conv=notrunc` writes one byte in place."""
    subprocess.run(["dd", f"of={path}", "bs=1", f"seek={offset}", "conv=notrunc", "status=none"], input=byte,
                   check=True)


def _alerts(ctx) -> list[dict]:
    return [m.item for m in Outbox(ctx.data_dir).messages() if m.item["notice"]["kind"] == "ledger.damaged"]


def test_one_byte_edited_under_the_running_writer_stops_it_alerts_and_names_the_next_step(config_file):
    ctx = _writer(config_file)
    path = ctx.data_dir / LEDGER
    offset = path.read_bytes().rindex(b"run_2") + 4
    _overwrite_byte(path, offset, b"9")
    with pytest.raises(LedgerDamaged) as refused:
        ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "run_3"})
    message = str(refused.value)
    assert isinstance(refused.value, Damaged)
    assert message.startswith(f"{LEDGER} was changed under the running writer: its last committed entry (seq 3")
    assert "chatops ledger verify --ledger credit" in message
    assert 'chatops ledger reopen --ledger credit --reason "…" --as <O3>' in message
    assert b"run_3" not in path.read_bytes()
    [alert] = _alerts(ctx)
    assert alert["to"] == "#ops-critical" and LEDGER in alert["notice"]["text"]
    with pytest.raises(LedgerDamaged, match="is marked damaged since"):     # every later write, same writer
        ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "run_4"})
    with pytest.raises(LedgerDamaged, match="is marked damaged since"):     # and any other process
        _ctx(config_file).ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "run_5"})
    assert len(_alerts(ctx)) == 1                                          # alerted once, not per refusal
    with pytest.raises(audit.StartRefused, match="The daemon refuses to start"):   # a restart does not clear it
        audit.start_ledgers(_ctx(config_file))


def test_an_o3_reopens_only_once_the_ledger_verifies_again_and_writing_resumes(config_file):
    ctx = _writer(config_file)
    path = ctx.data_dir / LEDGER
    offset = path.read_bytes().rindex(b"run_2") + 4
    _overwrite_byte(path, offset, b"9")
    with pytest.raises(LedgerDamaged):
        ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "run_3"})
    _overwrite_byte(path, offset, b"2")                                    # restored to what was signed
    marked = run_cli("ledger", "verify", "--ledger", "credit", config=config_file)
    assert marked.returncode == 0 and "is marked damaged (ledger.damaged" in marked.stdout + marked.stderr
    _overwrite_byte(path, offset, b"9")
    still = run_cli("ledger", "reopen", "--ledger", "credit", "--reason", "restored", "--as", "ana", config=config_file)
    assert still.returncode == 1 and "still does not match what was signed" in still.stdout + still.stderr
    assert run_cli("ledger", "reopen", "--ledger", "credit", "--reason", "x", "--as", "ben",
                   config=config_file).returncode == 3                    # an O2 may not
    _overwrite_byte(path, offset, b"2")                                    # restored to what was signed
    reopened = run_cli("ledger", "reopen", "--ledger", "credit", "--reason", "byte restored from backup; ana decided",
                       "--as", "ana", config=config_file)
    assert reopened.returncode == 0, reopened.stdout + reopened.stderr
    assert "writing resumes" in reopened.stdout
    ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "run_3"})   # the same running writer
    kinds = [json.loads(line)["kind"] for line in path.read_bytes().splitlines()]
    assert kinds[-2:] == ["ledger.reopened", "run.recorded"]
    assert run_cli("ledger", "verify", "--ledger", "credit", config=config_file).returncode == 0


def test_an_earlier_entry_rewritten_by_an_editor_is_caught_by_the_full_check(config_file):
    ctx = _writer(config_file)
    path = ctx.data_dir / LEDGER
    subprocess.run(["sed", "-i", "s/run_0/run_X/", str(path)], check=True)   # a new file renamed over it
    with pytest.raises(LedgerDamaged) as refused:
        ctx.ledgers.operations.append("job.started", "daemon", None, {"data": {"job": "x"}})   # the other ledger goes on
        ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "run_3"})
    assert "it was replaced by another file, and" in str(refused.value)
    assert "do not match the signed checkpoint" in str(refused.value)


def test_a_reseal_archives_the_damage_mark_and_the_running_writer_writes_the_new_ledger(config_file):
    ctx = _writer(config_file)
    path = ctx.data_dir / LEDGER
    with open(path, "r+b") as handle:     # cut the last entry off
        handle.truncate(len(path.read_bytes()) - 10)
    with pytest.raises(LedgerDamaged, match="truncated after it was signed"):
        ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "run_3"})
    assert run_cli("ledger", "reseal", "--ledger", "credit", "--reason", "tail cut; ana decided", "--as", "ana",
                   config=config_file).returncode == 0
    assert not (path.parent / "ledger.damaged").exists()
    assert list(path.parent.glob("ledger.damaged.damaged-*"))
    ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "run_3"})   # the same running writer
    assert [json.loads(line)["kind"] for line in path.read_bytes().splitlines()] == ["ledger.created", "run.recorded"]
