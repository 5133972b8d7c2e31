"""Schema versions and forward migrations: a data directory written by the code before versions existed
(tests/ops/fixtures, see its README) is read, migrated, recorded, and still verifies; a newer one is refused."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chatops.config import load_config
from jobs import upgrade
from jobs.actors import DAEMON
from jobs.compose import build_context
from store import schema
from tests.conftest import PEOPLE_TOML
from tests.ops.conftest import cli

FIXTURE = Path(__file__).parent / "fixtures" / "datadir-8682be2"


@pytest.fixture
def old(tmp_path: Path) -> Path:
    """The fixture data directory copied under a config of its own (modes set as chatops keeps them)."""
    shutil.copytree(FIXTURE, tmp_path / "var")
    (tmp_path / "var" / "keys").chmod(0o700)
    for key in (tmp_path / "var" / "keys").iterdir():
        key.chmod(0o600)
    config = tmp_path / "config.toml"
    config.write_text(f'timezone = "America/Los_Angeles"\ndata_dir = "var/"\n{PEOPLE_TOML}')
    return config


def _ctx(config: Path):
    loaded = load_config(config)
    return build_context(loaded.settings, loaded.data_dir)


def _ops(config: Path) -> list[dict]:
    path = config.parent / "var" / "operations" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_yesterdays_data_directory_is_read_as_schema_1_and_verifies(old, capsys):
    ctx = _ctx(old)
    assert upgrade.versions(ctx) == {"state": 1, "credit": 1, "operations": 1}
    assert cli(old, "ledger", "verify") == 0
    assert cli(old, "case", "list") == 0
    assert "CASE-1" in capsys.readouterr().out


def test_upgrade_check_lists_then_upgrade_migrates_records_and_keeps_the_data(old, capsys):
    assert cli(old, "upgrade", "--check", "--as", "ana") == 1
    assert "state 1 → 2: record the state's schema version" in capsys.readouterr().out
    assert cli(old, "upgrade", "--as", "ana") == 0
    assert "now: state 2, credit 1, operations 1" in capsys.readouterr().out
    [entry] = [e for e in _ops(old) if e["kind"] == "schema.upgraded"]
    assert entry["data"] == {"part": "state", "from": 1, "to": 2, "what": upgrade.MIGRATIONS[0].what}
    assert entry["actor"] == "U0ANA00001" and entry["role"] == "O3"
    assert cli(old, "case", "show", "CASE-1") == 0 and cli(old, "ledger", "verify") == 0
    assert cli(old, "upgrade", "--as", "ana") == 0
    assert capsys.readouterr().out.strip().endswith("nothing to upgrade: state 2, credit 1, operations 1")
    assert cli(old, "upgrade", "--as", "ben") == 3          # an O2 may not


def test_the_daemon_migrates_at_start_as_itself(old):
    ctx = _ctx(old)
    steps = upgrade.upgrade(ctx, DAEMON)
    assert [s.describe() for s in steps] == ["state 1 → 2: " + upgrade.MIGRATIONS[0].what]
    assert _ops(old)[-1]["actor"] == "daemon" and "role" not in _ops(old)[-1]


def test_a_new_ledger_names_its_schema_in_its_header(tmp_path, config_file):
    assert cli(config_file, "ledger", "init", "--as", "ana") == 0
    header = json.loads((tmp_path / "var" / "operations" / "ledger.jsonl").read_text().splitlines()[0])
    assert header["kind"] == "ledger.created" and header["data"]["schema"] == 1


def test_a_ledger_migration_appends_and_the_ledger_still_verifies(old):
    """The registry's ledger path, with a test registry: a step to ledger schema 2 appends `ledger.upgraded`."""
    def to_2(ctx) -> None:
        ctx.ledgers.operations.append("ledger.upgraded", "daemon", None, {"data": {"from": 1, "to": 2}})

    registry = (*upgrade.MIGRATIONS, upgrade.Migration("operations", 1, 2, "test step", to_2))
    ctx = _ctx(old)
    steps = upgrade.upgrade(ctx, DAEMON, registry, current={**upgrade.CURRENT, "operations": 2})
    assert [(s.part, s.to_version) for s in steps] == [("state", 2), ("operations", 2)]
    assert schema.ledger_version(ctx.ledgers.files(upgrade.audit.SPECS[1]).jsonl) == 2
    assert cli(old, "ledger", "verify") == 0


def test_a_part_newer_than_this_code_is_refused_everywhere(old, capsys):
    schema.set_state_version(_ctx(old).state, 99)
    assert cli(old, "upgrade", "--as", "ana") == 7
    assert "the state is at schema 99, newer than this chatops knows (2)" in capsys.readouterr().err
    assert cli(old, "doctor", "--json") == 2
    checks = {c["check"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["schema"]["status"] == "FAIL"
    assert cli(old, "daemon") == 1                          # the daemon does not start on it


def test_a_missing_step_is_refused_not_skipped(old):
    with pytest.raises(upgrade.NewerSchema, match="no migration leads from it to 3"):
        upgrade.plan(_ctx(old), current={**upgrade.CURRENT, "state": 3})
