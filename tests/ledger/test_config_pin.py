"""Pinning the ledgers' identity in config.toml keeps the operator's file as written (tomlkit)."""
from __future__ import annotations

import tomllib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chatops.config import parse_settings
from jobs.config_pin import KEEP, pin_ledger_identity
from store.ledger.note import Signer


def _vkey(name: str) -> str:
    return Signer(name, Ed25519PrivateKey.generate()).verifier.vkey


OLD, NEW = _vkey("example.com/old"), _vkey("example.com/new")

ORIGINS = {"credit_origin": "example.com/credit", "operations_origin": "example.com/operations"}

OPERATORS_FILE = """# Our chatops config: reviewed in PR 12.
[people.ana]   # the on-call approver
roles = ["O3"]

[ledger]
# origins are filled in by `chatops ledger init`
credit_origin = ""   # pinned by init
trusted_vkeys = [
    # the old key, kept until the rotation's checkpoint is cosigned
    "{old}",
]
"""


def test_origins_and_keys_are_written_and_every_comment_and_key_stays(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text(OPERATORS_FILE.replace("{old}", OLD))
    path.chmod(0o640)
    line = pin_ledger_identity(path, ORIGINS, [NEW], parse_settings)
    assert line.startswith("wrote credit_origin, operations_origin, trusted_vkeys")
    text = path.read_text()
    for comment in ("# Our chatops config: reviewed in PR 12.", "# the on-call approver",
                    "# origins are filled in by", "# the old key, kept until"):
        assert comment in text
    ledger = tomllib.loads(text)["ledger"]
    assert ledger["credit_origin"] == "example.com/credit" and ledger["operations_origin"] == "example.com/operations"
    assert ledger["trusted_vkeys"] == [OLD, NEW]
    assert path.stat().st_mode & 0o777 == 0o640
    assert pin_ledger_identity(path, ORIGINS, [NEW], parse_settings).endswith("already pins these origins and keys")


def test_a_file_without_a_ledger_table_gets_one(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[people.ana]\nroles = ["O3"]\n')
    pin_ledger_identity(path, ORIGINS, [NEW], parse_settings)
    assert tomllib.loads(path.read_text())["ledger"]["trusted_vkeys"] == [NEW]


def test_another_pinned_origin_is_never_replaced(tmp_path: Path):
    path = tmp_path / "config.toml"
    original = '[ledger]\ncredit_origin = "someone.else/credit"\n'
    path.write_text(original)
    line = pin_ledger_identity(path, ORIGINS, [NEW], parse_settings)
    assert line.endswith(f"already pins other origins in [ledger]; {KEEP}") and path.read_text() == original


def test_settings_the_parser_refuses_leave_the_file_as_it_was(tmp_path: Path):
    path = tmp_path / "config.toml"
    original = '[ledger]\ncredit_origin = ""\n'
    path.write_text(original)

    def refuse(data: dict) -> None:
        raise ValueError(f"[ledger] credit_origin {data['ledger']['credit_origin']!r} is not allowed here")

    line = pin_ledger_identity(path, ORIGINS, [NEW], refuse)
    assert "could not be updated ([ledger] credit_origin 'example.com/credit' is not allowed here)" in line
    assert path.read_text() == original


def test_an_unreadable_file_is_named_and_left_alone(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text("[ledger\n")
    assert pin_ledger_identity(path, ORIGINS, [NEW], parse_settings).startswith(f"{path} cannot be read (")
    assert path.read_text() == "[ledger\n"
