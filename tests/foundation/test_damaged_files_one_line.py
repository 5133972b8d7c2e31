"""A damaged file in the data directory is one line naming that file and the next step, with the README's
exit code: never an internal error, never advice that does not fit (issue 19, probed as a user)."""
from __future__ import annotations

import pytest

from chatops.cli import main


def _run(capsys, config_file, *argv: str) -> tuple[int, str, str]:
    code = main(["--config", str(config_file), *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data_dir(capsys, config_file):
    code, _out, err = _run(capsys, config_file, "--as", "ana", "baseline", "set", "--scenario", "scn-a",
                           "--credits", "500", "--reason", "initial")
    assert code == 0, err
    return config_file.parent / "var"


def test_a_state_file_that_is_a_directory_is_damage_not_an_internal_error(capsys, config_file, data_dir):
    (data_dir / "state.json").unlink()
    (data_dir / "state.json").mkdir()
    code, out, err = _run(capsys, config_file, "case", "list")
    assert code == 8 and not out
    assert err.strip() == (f"chatops: {data_dir / 'state.json'} cannot be read as chatops's state file "
                           "(Is a directory); move it aside and restore the state file from backup")


@pytest.mark.parametrize("content", [b"", b"garbage\n"])
def test_a_garbled_ledger_key_is_not_called_passphrase_protected(capsys, config_file, data_dir, content):
    key = data_dir / "keys" / "ledger.key"
    key.write_bytes(content)
    code, _out, err = _run(capsys, config_file, "--as", "ana", "baseline", "set", "--scenario", "scn-a",
                           "--credits", "600", "--reason", "again")
    assert code == 2 and "passphrase" not in err
    assert err.strip() == (f"chatops: key {key} is neither a PEM key nor a PKCS#12 file ({len(content)} bytes: "
                           "empty or damaged); restore it from a backup")


def test_a_garbled_checkpoint_names_the_checkpoint_file(capsys, config_file, data_dir):
    checkpoint = data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.checkpoint"
    checkpoint.write_bytes(b"junk\n")
    code, _out, err = _run(capsys, config_file, "--as", "ana", "baseline", "set", "--scenario", "scn-a",
                           "--credits", "600", "--reason", "again")
    assert code == 8
    assert err.startswith(f"chatops: {checkpoint}: note has no blank line") and "chatops ledger verify" in err


def test_a_data_dir_that_is_a_file_or_cannot_be_made_is_a_configuration_error(capsys, config_file, tmp_path):
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    for data_dir, why in ((a_file, "is not a directory"),
                          (a_file / "var", "is not a directory")):
        code, out, err = _run(capsys, config_file, "--data-dir", str(data_dir), "case", "list")
        assert code == 2 and not out and "internal error" not in err
        assert err.strip() == (f"chatops: data directory {data_dir} {why}; set data_dir in config.toml "
                               "(or --data-dir) to a folder this user may create and write")


@pytest.mark.parametrize("content", [b"", b"short"])
def test_an_emptied_scrub_key_is_refused_not_used_to_make_guessable_markers(capsys, config_file, data_dir,
                                                                            tmp_path, content):
    sample = tmp_path / "notes.txt"
    sample.write_text("contact ops@example.org\n")
    code, _out, err = _run(capsys, config_file, "scrub", "check", str(sample))   # creates the key
    assert code != 8, err
    key = data_dir / "keys" / "scrub.key"
    key.write_bytes(content)
    code, out, err = _run(capsys, config_file, "scrub", "check", str(sample))
    assert code == 8 and not out and "internal error" not in err
    assert err.strip() == (f"chatops: {key} holds {len(content)} bytes, fewer than the 16 a key needs; restore it "
                           "from a backup, or move it aside to have a new key made (markers and learned "
                           "fingerprints made under the old key will no longer match)")
