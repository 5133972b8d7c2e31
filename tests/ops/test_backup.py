"""`chatops backup` / `chatops restore`: a consistent copy with a manifest of hashes; a restore that checks
every file and the ledgers' proofs before it swaps anything, refuses to roll back past what witnesses
cosigned unless told why, and is recorded."""
from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from freezegun import freeze_time

from chatops.daemon import LOCK_NAME, DaemonLock
from tests.ops.conftest import cli


def _data(config: Path) -> Path:
    return config.parent / "var"


def _ops(config: Path) -> list[dict]:
    return [json.loads(line) for line in (_data(config) / "operations" / "ledger.jsonl").read_text().splitlines()]


@pytest.fixture
def backed_up(install, tmp_path, capsys) -> Path:
    """The kill switch on (state and ledger entries), then a backup of that moment."""
    assert cli(install, "killswitch", "on", "--for", "2h", "--reason", "backup drill", "--as", "ana") == 0
    target = tmp_path / "backups" / "b1"
    assert cli(install, "backup", str(target), "--as", "ana") == 0
    capsys.readouterr()
    return target


def test_backup_then_restore_brings_the_state_back_and_both_are_recorded(install, backed_up, capsys):
    manifest = json.loads((backed_up / "MANIFEST.json").read_text())
    assert {"state.json", "operations/ledger.jsonl", "operations/ledger.checkpoint", "operations/ledger.sigs",
            "runs/CREDIT_MONITORING/audit/ledger.jsonl"} <= set(manifest["files"])
    assert not [f for f in manifest["files"] if f.endswith(".lock") or f.startswith("keys/")]
    created = _ops(install)[-1]
    assert created["kind"] == "backup.created" and created["data"]["dir"] == str(backed_up)
    assert cli(install, "killswitch", "off", "--as", "ana") == 0
    assert cli(install, "restore", str(backed_up), "--as", "ana") == 0
    out = capsys.readouterr().out
    assert "files verified" in out and ".before-restore-" in out
    capsys.readouterr()
    assert cli(install, "killswitch", "status") == 0
    assert "kill switch is ON" in capsys.readouterr().out
    restored = _ops(install)[-1]
    assert restored["kind"] == "backup.restored" and restored["data"]["reason"] == ""
    assert restored["data"]["manifest_sha256"] == created["data"]["manifest_sha256"]
    assert cli(install, "ledger", "verify") == 0          # the restored ledgers, with the kept key
    [previous] = install.parent.glob("var.before-restore-*")
    assert "killswitch.off" in (previous / "operations" / "ledger.jsonl").read_text()


def test_the_key_is_copied_only_when_asked_and_keeps_its_mode(install, tmp_path):
    target = tmp_path / "with-keys"
    assert cli(install, "backup", str(target), "--include-keys", "--as", "ana") == 0
    key = target / "keys" / "ledger.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes() == (_data(install) / "keys" / "ledger.key").read_bytes()


@pytest.mark.parametrize("damage", ["changed", "added", "removed"])
def test_a_changed_backup_is_refused_before_anything_is_replaced(install, backed_up, capsys, damage):
    state = backed_up / "state.json"
    if damage == "changed":
        state.write_bytes(state.read_bytes() + b" ")
    elif damage == "added":
        (backed_up / "runs" / "extra.json").write_text("{}")
    else:
        state.unlink()
    before = (_data(install) / "operations" / "ledger.jsonl").read_bytes()
    assert cli(install, "restore", str(backed_up), "--as", "ana") == 8
    err = capsys.readouterr().err
    assert f"backup {backed_up}" in err and "use another backup" in err
    assert (_data(install) / "operations" / "ledger.jsonl").read_bytes() == before
    assert not list(install.parent.glob("var.before-restore-*"))


def test_a_ledger_edited_with_its_manifest_rehashed_fails_the_proofs(install, backed_up, capsys):
    ledger = backed_up / "operations" / "ledger.jsonl"
    ledger.write_text(ledger.read_text().replace("backup drill", "nothing to see"))
    manifest = json.loads((backed_up / "MANIFEST.json").read_text())
    import hashlib

    manifest["files"]["operations/ledger.jsonl"]["sha256"] = hashlib.sha256(ledger.read_bytes()).hexdigest()
    (backed_up / "MANIFEST.json").write_text(json.dumps(manifest))
    assert cli(install, "restore", str(backed_up), "--as", "ana") == 8
    assert "the operations ledger does not verify" in capsys.readouterr().err


def test_a_backup_older_than_a_cosigned_checkpoint_needs_a_reason(install, backed_up, tmp_path, capsys):
    for n in range(3):
        assert cli(install, "killswitch", "on", "--for", "1h", "--reason", f"later {n}", "--as", "ana") == 0
    witness = tmp_path / "ben-witness"
    assert cli(install, "ledger", "witness", "--ledger", "operations", "--dir", str(witness), "--as", "ben") == 0
    vkey = capsys.readouterr().out.split("witnesses): ")[1].split()[0]
    install.write_text(install.read_text().replace("[ledger]\n", f'[ledger]\nwitnesses = ["{vkey}"]\n', 1))
    assert cli(install, "restore", str(backed_up), "--as", "ana") == 3
    err = capsys.readouterr().err
    assert re.search(r"its operations ledger has 2 entries but witnesses cosigned 6 here", err) and '--reason "…"' in err
    refused = _ops(install)[-1]
    assert refused["kind"] == "command.refused" and refused["data"]["subject_kind"] == "backup"
    assert cli(install, "restore", str(backed_up), "--reason", "host disk lost the last hour", "--as", "ana") == 0
    restored = _ops(install)[-1]
    assert restored["data"]["reason"] == "host disk lost the last hour"
    assert restored["data"]["rolled_back"][0]["ledger"] == "operations"


def test_restore_refuses_while_the_daemon_runs(install, backed_up, capsys):
    lock = DaemonLock(_data(install) / LOCK_NAME).acquire()
    try:
        assert cli(install, "restore", str(backed_up), "--as", "ana") == 7
        assert "stop it first" in capsys.readouterr().err
    finally:
        lock.release()


def test_backup_refuses_a_used_directory_or_one_inside_the_data_directory(install, tmp_path, capsys):
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("x")
    assert cli(install, "backup", str(used), "--as", "ana") == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert cli(install, "backup", str(_data(install) / "inner"), "--as", "ana") == 2
    assert "inside the data directory" in capsys.readouterr().err


def test_restore_of_a_directory_that_is_no_backup_is_named(install, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli(install, "restore", str(tmp_path / "empty"), "--as", "ana") == 8
    assert "not a chatops backup" in capsys.readouterr().err
    assert cli(install, "restore", str(tmp_path / "absent"), "--as", "ana") == 6


def test_two_restores_in_the_same_second_keep_both_previous_directories_and_record_both(install, backed_up, capsys):
    with freeze_time("2026-12-07 10:00:00"):
        assert cli(install, "restore", str(backed_up), "--as", "ana") == 0
        assert cli(install, "restore", str(backed_up), "--as", "ana") == 0
    err = capsys.readouterr().err
    assert "internal error" not in err
    kept = sorted(p.name for p in install.parent.glob("var.before-restore-*"))
    assert kept == ["var.before-restore-20261207T100000Z", "var.before-restore-20261207T100000Z-2"]
    assert _ops(install)[-1]["kind"] == "backup.restored"
    assert _ops(install)[-1]["data"]["previous"].endswith("-2")
