"""The ledgers as chatops uses them: auto-initialisation, refusals recorded, daemon start checks, and the
`chatops ledger …` commands with their messages and exit codes (docs/ledger.md §7–§10)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import subprocess

import pytest

from chatops.cli import main
from chatops.config import load_config
from jobs import audit
from jobs.actors import Permission, PermissionDenied, authorize, refused_role
from jobs.compose import build_context
from tests.conftest import run_cli


def _ctx(config_file):
    loaded = load_config(config_file)
    return build_context(loaded.settings, loaded.data_dir)


def _cli(config_file, *args):
    return main(["--config", str(config_file), *args])


def _entries(path):
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_first_append_initialises_key_origin_and_trust_file_without_a_manual_init(config_file, caplog):
    ctx = _ctx(config_file)
    with caplog.at_level(logging.INFO, logger="chatops.audit"):
        entry = ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "run_1", "Severity": "SEV2"})
    assert entry.seq == 1
    key_dir = ctx.data_dir / "keys"
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((key_dir / "ledger.key").stat().st_mode) == 0o600
    vkey = (ctx.data_dir / "runs/CREDIT_MONITORING/audit/ledger.vkey").read_text().strip()
    assert vkey.startswith("ecomonetize.com/chatops/credit-ledger/")
    assert sum("initialised runs/CREDIT_MONITORING/audit/ledger.jsonl" in r.message for r in caplog.records) == 1
    first = _entries(ctx.data_dir / "runs/CREDIT_MONITORING/audit/ledger.jsonl")[0]
    assert first["kind"] == "ledger.created" and first["data"]["vkey"] == [vkey]


def test_a_refused_command_is_recorded_in_the_operations_ledger_and_still_refused(config_file, capsys):
    assert _cli(config_file, "ledger", "rotate-key", "--as", "cleo", "--reason", "routine") == 3
    assert "refused: ledger rotate-key needs role O3; you have O1" in capsys.readouterr().err
    data_dir = config_file.parent / "var"
    last = _entries(data_dir / "operations/ledger.jsonl")[-1]
    assert (last["kind"], last["actor"], last["role"]) == ("command.refused", "U0CLEO0003", "O1")
    assert last["data"] == {"command": "ledger rotate-key", "permission": "ledger.admin", "person": "cleo",
                            "reason": "ledger rotate-key needs role O3; you have O1", "roles": ["O1"],
                            "subject_kind": "ledger", "subject": "credit+operations"}
    assert not (data_dir / "keys" / "ledger.key.new").exists()


@pytest.mark.parametrize(("slack_id", "role", "roles"), [
    ("U0BEN00002", "O2", ["O2", "chief.staff"]),
    ("U0LEE00005", None, ["code.platform", "legal.exec", "security.ops"]),
    ("U0STRANGER", None, []),
], ids=["ben O2", "lee no tier", "unknown Slack user"])
def test_a_refusal_names_the_refused_persons_highest_tier_and_every_role_they_hold(config_file, slack_id, role,
                                                                                   roles):
    ctx = _ctx(config_file)
    actor = ctx.people.by_slack_id(slack_id)
    assert refused_role(actor) == (role or "")
    with pytest.raises(PermissionDenied):
        authorize(ctx, actor, Permission.LEDGER_ADMIN, "ledger rotate-key", audit.LEDGERS_SUBJECT)
    last = _entries(ctx.data_dir / "operations/ledger.jsonl")[-1]
    assert (last["kind"], last["actor"], last["data"]["subject"]) == ("command.refused", slack_id, "credit+operations")
    assert (last.get("role"), last["data"]["roles"]) == (role, roles)   # no tier: the entry has no role


def test_init_prints_and_writes_the_vkeys_into_config_and_verify_then_trusts_config_without_warning(
        config_file, capsys):
    ctx = _ctx(config_file)
    ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "r"})   # auto-initialised, unpinned
    assert _cli(config_file, "ledger", "verify") == 0
    assert "not config.toml" in capsys.readouterr().out          # trust from the data directory: warned
    config_file.write_text(config_file.read_text() + '\n[ledger]\ncompany_domain = "ecomonetize.com"\n'
                           'credit_origin = ""   # pinned by init\ntrusted_vkeys = []\n')
    assert _cli(config_file, "ledger", "init", "--as", "ana") == 0
    out = capsys.readouterr().out
    assert "credit_origin = \"ecomonetize.com/chatops/credit-ledger/" in out and "trusted_vkeys = [" in out
    assert f"wrote credit_origin, operations_origin, trusted_vkeys into {config_file} [ledger]" in out
    text = config_file.read_text()
    assert '# pinned by init' in text and text.count("[ledger]") == 1 and '[people.ana]' in text
    created = _entries(config_file.parent / "var/operations/ledger.jsonl")[0]
    assert (created["kind"], created["actor"], created["role"]) == ("ledger.created", "U0ANA00001", "O3")
    assert _cli(config_file, "ledger", "init", "--as", "ana") == 0
    assert "already pins these origins and keys" in capsys.readouterr().out
    assert _cli(config_file, "ledger", "verify", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] and [r["ledger"] for r in result["ledgers"]] == [
        "runs/CREDIT_MONITORING/audit/ledger.jsonl", "operations/ledger.jsonl"]
    assert all(r["findings"] == [] for r in result["ledgers"])
    assert "(from config.toml)" in result["ledgers"][0]["summary"]["origin"]
    assert _cli(config_file, "ledger", "rotate-key", "--reason", "yearly", "--as", "ana") == 0
    assert f"wrote trusted_vkeys into {config_file} [ledger]" in capsys.readouterr().out
    assert _cli(config_file, "ledger", "verify", "--json") == 0       # the new key is trusted, from config
    assert all(r["findings"] == [] for r in json.loads(capsys.readouterr().out)["ledgers"])


def test_verify_exits_1_on_tampering_and_2_on_missing_trust(config_file, capsys):
    ctx = _ctx(config_file)
    for n in range(3):
        ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": f"run_{n}", "Severity": "SEV2"})
    path = ctx.data_dir / "runs/CREDIT_MONITORING/audit/ledger.jsonl"
    path.write_bytes(path.read_bytes().replace(b'"Run_ID":"run_1"', b'"Run_ID":"run_9"'))
    assert _cli(config_file, "ledger", "verify", "--ledger", "credit") == 1
    out = capsys.readouterr().out
    assert "entries 0–3 do not match the signed checkpoint of size 4" in out and "FAILED" in out
    (ctx.data_dir / "runs/CREDIT_MONITORING/audit/ledger.vkey").unlink()
    assert _cli(config_file, "ledger", "verify", "--ledger", "credit") == 2
    assert "no trusted key for runs/CREDIT_MONITORING/audit/ledger.jsonl" in capsys.readouterr().err


def test_verify_runs_as_a_real_process_without_as_for_anyone_with_file_access(config_file):
    _ctx(config_file).ledgers.operations.append("export.run", "daemon", None, {"data": {"files": 3}})
    result = run_cli("ledger", "verify", config=config_file)
    assert result.returncode == 0, result.stderr
    assert "OK          2 entries verified" in result.stdout


def test_daemon_start_refuses_a_key_readable_by_others_naming_the_chmod(config_file):
    ctx = _ctx(config_file)
    ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "r"})
    key = ctx.data_dir / "keys/ledger.key"
    key.chmod(0o644)
    with pytest.raises(audit.StartRefused, match=rf"ledger key {key} is readable by others \(mode 0644\); "
                                                 rf"run: chmod 600 {key}"):
        audit.start_ledgers(_ctx(config_file))
    key.chmod(0o600)
    assert [r.entries for r in audit.start_ledgers(_ctx(config_file))] == [2]


def test_daemon_start_repairs_a_torn_tail_and_refuses_damage_inside_the_signed_range(config_file):
    ctx = _ctx(config_file)
    for n in range(3):
        ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": f"run_{n}"})
    path = ctx.data_dir / "runs/CREDIT_MONITORING/audit/ledger.jsonl"
    with open(path, "ab") as handle:
        handle.write(b'{"half a line')
    [recovery] = audit.start_ledgers(_ctx(config_file))
    assert recovery.torn_bytes == 13 and _entries(path)[-1]["kind"] == "ledger.recovered"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:1] + lines[2:]))
    with pytest.raises(audit.StartRefused) as refused:
        audit.start_ledgers(_ctx(config_file))
    assert "line 2 has seq 2, expected 1: entries are missing or out of order" in str(refused.value)
    assert "chatops ledger reseal --ledger credit" in str(refused.value)


def test_reseal_archives_read_only_and_starts_a_new_ledger_that_names_the_old_one(config_file, capsys):
    ctx = _ctx(config_file)
    for n in range(4):
        ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": f"run_{n}"})
    old_origin = ctx.ledgers.credit.identity.origin
    path = ctx.data_dir / "runs/CREDIT_MONITORING/audit/ledger.jsonl"
    path.write_bytes(path.read_bytes().replace(b"run_3", b"run_X"))
    assert _cli(config_file, "ledger", "reseal", "--ledger", "credit", "--reason", "tampered", "--as", "cleo") == 3
    assert _cli(config_file, "ledger", "reseal", "--ledger", "credit", "--reason", "line 5 edited; ana decided",
                "--as", "ana") == 0
    assert "new ledger origin" in capsys.readouterr().out
    archived = sorted(p.name for p in path.parent.glob("ledger.jsonl.damaged-*"))
    assert len(archived) == 1 and not os.access(path.parent / archived[0], os.W_OK) or os.geteuid() == 0
    assert stat.S_IMODE((path.parent / archived[0]).stat().st_mode) == 0o400   # no operators_group: owner only
    [created] = _entries(path)
    assert created["kind"] == "ledger.created" and created["actor"] == "U0ANA00001"
    previous = created["data"]["previous"]
    assert previous["origin"] == old_origin and previous["size"] == 4 and previous["reason"].startswith("line 5")
    assert created["data"]["origin"] != old_origin
    assert _cli(config_file, "ledger", "verify", "--ledger", "credit") == 0


def test_rotation_signs_one_checkpoint_with_both_keys_and_old_checkpoints_still_verify(config_file, capsys):
    ctx = _ctx(config_file)
    ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "before"})
    ctx.ledgers.operations.append("export.run", "daemon", None, {"data": {}})
    old_vkey = (ctx.data_dir / "runs/CREDIT_MONITORING/audit/ledger.vkey").read_text().strip()
    old_key = (ctx.data_dir / "keys/ledger.key").read_bytes()
    assert _cli(config_file, "ledger", "rotate-key", "--reason", "yearly rotation", "--as", "dev") == 0
    assert "Add the new vkeys to config.toml" in capsys.readouterr().out
    assert (ctx.data_dir / "keys/ledger.key").read_bytes() != old_key
    directory = ctx.data_dir / "runs/CREDIT_MONITORING/audit"
    rotated = _entries(directory / "ledger.jsonl")[-1]
    assert rotated["kind"] == "ledger.key_rotated" and rotated["data"]["old_vkey"] == old_vkey
    published = (directory / "ledger.checkpoints" / f"{rotated['seq'] + 1}.checkpoint").read_text()
    assert published.count("\u2014 ecomonetize.com/chatops/credit-ledger/") == 2
    vkeys = (directory / "ledger.vkey").read_text().split()
    assert vkeys == [old_vkey, rotated["data"]["new_vkey"]]
    _ctx(config_file).ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "after"})
    assert _cli(config_file, "ledger", "verify") == 0


def test_repair_command_cuts_a_torn_tail_and_records_who_repaired(config_file, capsys):
    ctx = _ctx(config_file)
    ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "r"})
    path = ctx.data_dir / "runs/CREDIT_MONITORING/audit/ledger.jsonl"
    with open(path, "ab") as handle:
        handle.write(b"\0" * 40)
    assert _cli(config_file, "ledger", "verify", "--ledger", "credit") == 0
    assert "ends with 40 bytes that are not a complete entry" in capsys.readouterr().out
    assert _cli(config_file, "ledger", "repair", "--as", "ana") == 0
    assert "removed a torn tail of 40 bytes" in capsys.readouterr().out
    kinds = [(e["kind"], e.get("actor")) for e in _entries(path)]
    assert kinds[-2:] == [("ledger.recovered", "daemon"), ("ledger.repaired", "U0ANA00001")]


def _record_run(ctx, run_id: str, content: bytes) -> str:
    relative = f"runs/CREDIT_MONITORING/2026-11-22/{run_id}.json"
    file = ctx.data_dir / relative
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(content)
    digest = hashlib.sha256(content).hexdigest()
    (file.parent / f"{file.name}.sha256").write_text(f"{digest}  {file.name}\n")
    ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": run_id, "Severity": "SEV1",
                                                               "artifact": relative, "artifact_sha256": digest})
    return relative


def test_artifacts_file_sidecar_and_ledger_must_agree_including_after_a_quarantine_move(config_file, capsys):
    ctx = _ctx(config_file)
    relative = _record_run(ctx, "run_7f3a", b'{"Run_ID":"run_7f3a"}')
    other = _record_run(ctx, "run_8b4c", b'{"Run_ID":"run_8b4c"}')
    moved = "runs/QUARANTINE/run_8b4c/run_8b4c.json"
    (ctx.data_dir / moved).parent.mkdir(parents=True)
    for suffix in ("", ".sha256"):
        os.replace(ctx.data_dir / (other + suffix), ctx.data_dir / (moved + suffix))
    ctx.ledgers.credit.append("quarantine.moved", "daemon", None, {"Run_ID": "run_8b4c", "data": {
        "old_path": other, "new_path": moved}})
    assert _cli(config_file, "ledger", "verify", "--ledger", "credit", "--artifacts", "7") == 0
    assert "2 run files from the last 7 days: file = .sha256 sidecar = ledger entry" in capsys.readouterr().out
    (ctx.data_dir / moved).write_bytes(b'{"Run_ID":"run_8b4c","Credits_Total":1}')
    assert _cli(config_file, "ledger", "verify", "--ledger", "credit", "--artifacts", "7") == 1
    assert f"{moved}: sha256 " in capsys.readouterr().out
    (ctx.data_dir / moved).unlink()
    assert _cli(config_file, "ledger", "verify", "--ledger", "credit", "--artifacts", "7") == 1
    assert f"{moved}: missing (ledger seq 2, last moved by seq 3 quarantine.moved)" in capsys.readouterr().out
    del relative


def test_prove_writes_a_proof_that_verifies_with_public_keys_alone_and_catches_a_changed_file(config_file,
                                                                                               tmp_path, capsys):
    ctx = _ctx(config_file)
    relative = _record_run(ctx, "run_7f3a", b'{"Run_ID":"run_7f3a"}')
    for n in range(5):
        ctx.ledgers.credit.append("alert.acked", "U0BEN00002", "O2", {"Run_ID": f"run_{n}"})
    assert _cli(config_file, "ledger", "prove", "--run", "run_7f3a") == 0
    proof = ctx.data_dir / (relative + ".tlog-proof")
    assert proof.read_text().startswith("c2sp.org/tlog-proof@v1\nextra ")
    # Only the run file, the proof and the pinned keys: copy them away from the data directory.
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(proof, alone / "run.tlog-proof")
    shutil.copy(ctx.data_dir / relative, alone / "run.json")
    assert _cli(config_file, "ledger", "verify-proof", str(alone / "run.tlog-proof"), "--artifact",
                str(alone / "run.json")) == 0
    assert "artifact" in capsys.readouterr().out
    (alone / "run.json").write_bytes(b"{}")
    assert _cli(config_file, "ledger", "verify-proof", str(alone / "run.tlog-proof"), "--artifact",
                str(alone / "run.json")) == 1
    assert "is not the one logged at seq 1" in capsys.readouterr().out
    text = (alone / "run.tlog-proof").read_text().split("\n")
    text[3] = text[3][:-2] + ("A=" if text[3][-2:] != "A=" else "Q=")
    (alone / "run.tlog-proof").write_text("\n".join(text))
    assert _cli(config_file, "ledger", "verify-proof", str(alone / "run.tlog-proof")) == 1


def test_witness_cosigns_consistent_growth_and_refuses_a_rollback_printing_both_checkpoints(config_file, tmp_path,
                                                                                          capsys):
    ctx = _ctx(config_file)
    ledger = ctx.ledgers.credit
    for n in range(3):
        ledger.append("run.recorded", "daemon", None, {"Run_ID": f"run_{n}"})
    directory = ctx.data_dir / "runs/CREDIT_MONITORING/audit"
    saved = {name: (directory / name).read_bytes() for name in ("ledger.jsonl", "ledger.checkpoint", "ledger.sigs")}
    witness_dir = tmp_path / "ben-witness"
    assert _cli(config_file, "ledger", "witness", "--ledger", "credit", "--dir", str(witness_dir), "--as", "ben") == 0
    out = capsys.readouterr().out
    assert "cosigned size 4 as o2.ecomonetize.com/ben (first cosignature)" in out
    witness_vkey = out.split("witnesses): ")[1].split()[0]
    assert stat.S_IMODE((witness_dir / "witness.key").stat().st_mode) == 0o600
    for n in range(2):
        ledger.append("run.recorded", "daemon", None, {"Run_ID": f"later_{n}"})
    assert _cli(config_file, "ledger", "witness", "--ledger", "credit", "--dir", str(witness_dir), "--as", "ben") == 0
    assert "cosigned size 6 as o2.ecomonetize.com/ben (consistent with size 4)" in capsys.readouterr().out
    config_file.write_text(config_file.read_text() + f'\n[ledger]\nwitnesses = ["{witness_vkey}"]\n')
    assert _cli(config_file, "ledger", "verify", "--ledger", "credit") == 0
    assert "witnessed   size 6 cosigned by o2.ecomonetize.com/ben at " in capsys.readouterr().out
    for name, content in saved.items():   # the host owner rolls the ledger back to size 4
        (directory / name).write_bytes(content)
    assert _cli(config_file, "ledger", "witness", "--ledger", "credit", "--dir", str(witness_dir), "--as", "ben") == 1
    out = capsys.readouterr().out
    assert "REFUSED runs/CREDIT_MONITORING/audit/ledger.jsonl: the log offers size 4, smaller than size 6" in out
    assert "--- checkpoint cosigned before ---" in out and "--- checkpoint offered now ---" in out
    assert _cli(config_file, "ledger", "verify", "--ledger", "credit") == 1
    assert ("published checkpoint 6.checkpoint covers 6 entries but the ledger has 4: 2 entries were removed"
            in capsys.readouterr().out)


def test_witness_needs_an_o2(config_file, tmp_path, capsys):
    assert _cli(config_file, "ledger", "witness", "--dir", str(tmp_path / "w"), "--as", "cleo") == 3
    assert "needs role O2" in capsys.readouterr().err


def test_a_passphrase_protects_the_key_with_pkcs12_at_600000_rounds(config_file, monkeypatch):
    monkeypatch.setenv("CHATOPS_LEDGER_KEY_PASSPHRASE", "correct horse battery staple")
    ctx = _ctx(config_file)
    ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "r"})
    key = ctx.data_dir / "keys/ledger.key"
    assert not key.read_bytes().startswith(b"-----BEGIN")
    if shutil.which("openssl"):
        info = subprocess.run(["openssl", "pkcs12", "-info", "-noout", "-in", str(key), "-passin",
                               "env:CHATOPS_LEDGER_KEY_PASSPHRASE"], capture_output=True, text=True)
        assert info.returncode == 0, info.stderr
        assert "PBES2, PBKDF2, AES-256-CBC, Iteration 600000" in info.stderr + info.stdout
    monkeypatch.delenv("CHATOPS_LEDGER_KEY_PASSPHRASE")
    with pytest.raises(Exception, match="protected by a passphrase; set CHATOPS_LEDGER_KEY_PASSPHRASE"):
        _ctx(config_file).ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "r2"})


def test_the_daemon_process_exits_non_zero_with_the_verify_message_on_a_damaged_ledger(config_file):
    ctx = _ctx(config_file)
    for n in range(2):
        ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": f"run_{n}"})
    path = ctx.data_dir / "runs/CREDIT_MONITORING/audit/ledger.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b'{"broken": \n' + b"".join(lines[2:]))
    result = run_cli("daemon", config=config_file, timeout=60)
    assert result.returncode == 1
    assert "line 2 (seq 1) is not valid JSON (Expecting value: column 12). It is inside the signed range " \
           "(checkpoint size 3): the file was edited after it was signed." in result.stderr
    assert "The daemon refuses to start" in result.stderr


def test_witness_refuses_to_cosign_next_to_a_different_published_checkpoint_of_the_same_size(config_file,
                                                                                              tmp_path, capsys):
    from store.ledger.note import SIG_COSIGNATURE_V1, Signer
    from store.ledger.witness import WitnessRefused, cosign
    from store.keys import create_ed25519_key
    from datetime import datetime, timezone

    ctx = _ctx(config_file)
    ledger = ctx.ledgers.credit
    for n in range(3):
        ledger.append("run.recorded", "daemon", None, {"Run_ID": f"run_{n}"})
    directory = ctx.data_dir / "runs/CREDIT_MONITORING/audit"
    saved = {name: (directory / name).read_bytes() for name in ("ledger.jsonl", "ledger.checkpoint", "ledger.sigs")}
    ledger.append("run.recorded", "daemon", None, {"Run_ID": "run_3"})
    published = ledger.publish()                       # size 5, root A
    before = published.read_text()
    for name, data in saved.items():
        (directory / name).write_bytes(data)
    os.replace(directory / "ledger.checkpoints", tmp_path / "aside")   # the writer would refuse the rollback
    forked = _ctx(config_file).ledgers.credit            # the log key signs another size-5 history, root B
    forked.append("run.recorded", "daemon", None, {"Run_ID": "rewritten"})
    os.replace(tmp_path / "aside", directory / "ledger.checkpoints")
    witness = Signer("o2.ecomonetize.com/ben", create_ed25519_key(tmp_path / "w" / "witness.key"), SIG_COSIGNATURE_V1)
    files = ctx.ledgers.files(audit.spec_for("credit"))
    trust = ctx.ledgers.trust(audit.spec_for("credit"))
    with pytest.raises(WitnessRefused) as refused:
        cosign(files, trust.origin, list(trust.log_keys), witness, tmp_path / "w" / "state.json",
               datetime.now(timezone.utc))
    assert "holds a different checkpoint for size 5" in refused.value.reason
    assert refused.value.previous == before and refused.value.current == (directory / "ledger.checkpoint").read_text()
    assert published.read_text() == before and not (tmp_path / "w" / "state.json").exists()


def test_a_resumed_rotation_does_not_announce_the_same_key_twice(config_file, capsys):
    ctx = _ctx(config_file)
    ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "before"})
    ctx.ledgers.operations.append("export.run", "daemon", None, {"data": {}})
    keys = ctx.data_dir / "keys"
    old_key = (keys / "ledger.key").read_bytes()
    assert _cli(config_file, "ledger", "rotate-key", "--reason", "yearly", "--as", "dev") == 0
    # As if that run had stopped just before replacing the key file: both ledgers announced the new key,
    # which is still ledger.key.new, and ledger.key is the old one. The operator runs the command again.
    os.replace(keys / "ledger.key", keys / "ledger.key.new")
    (keys / "ledger.key").write_bytes(old_key)
    (keys / "ledger.key").chmod(0o600)
    assert _cli(config_file, "ledger", "rotate-key", "--reason", "yearly", "--as", "dev") == 0
    for path in ("runs/CREDIT_MONITORING/audit/ledger.jsonl", "operations/ledger.jsonl"):
        assert [e["kind"] for e in _entries(ctx.data_dir / path)].count("ledger.key_rotated") == 1
    assert not (keys / "ledger.key.new").exists() and (keys / "ledger.key").read_bytes() != old_key
    assert _cli(config_file, "ledger", "verify") == 0


def test_prove_names_a_missing_entry_and_an_unwritable_output_without_a_traceback(config_file, tmp_path, capsys):
    ctx = _ctx(config_file)
    ctx.ledgers.credit.append("run.recorded", "daemon", None, {"Run_ID": "r"})
    assert _cli(config_file, "ledger", "prove", "--seq", "9", "--out", str(tmp_path / "p")) == 1
    assert "there is no entry seq 9: the ledger has 2 entries (seq 0–1)" in capsys.readouterr().err
    assert _cli(config_file, "ledger", "prove", "--seq", "-1") == 2
    assert _cli(config_file, "ledger", "prove", "--seq", "1", "--out", str(tmp_path / "no" / "p")) == 2
    assert f"cannot write {tmp_path / 'no' / 'p'}" in capsys.readouterr().err
    assert _cli(config_file, "ledger", "prove", "--seq", "1", "--out", str(tmp_path / "p")) == 0
    assert (tmp_path / "p").read_text().startswith("c2sp.org/tlog-proof@v1\n")
    capsys.readouterr()
    assert _cli(config_file, "ledger", "prove", "--run", "R") == 6
    missing = capsys.readouterr()
    assert not missing.out and missing.err.strip() == (
        "chatops ledger prove: no run.recorded entry with Run_ID 'R' in runs/CREDIT_MONITORING/audit/ledger.jsonl; "
        "closest known: r")
