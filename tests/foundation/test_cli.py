"""The shell's contract (issue 19): every command's `--help` works, a group answers with its own help, a
mistyped command gets the closest one in one line, and an error a person reaches is one line with the
README's exit code while the traceback goes to the log file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from chatops.cli import main
from chatops.registry import Command, Invocation, Registry, Reply
from jobs.actors import Permission
from tests.conftest import REPO, run_cli

COMMANDS = [c.name for c in Registry.load().commands]
GROUPS = sorted(word for word, commands in Registry.load().groups().items()
                if all(len(c.words) > 1 for c in commands))


@pytest.mark.parametrize("name", COMMANDS)
def test_help_of_every_registered_command_exits_0_with_its_own_usage(name: str, capsys, config_file: Path):
    code = main(["--config", str(config_file), *name.split(), "--help"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert out.out.startswith(f"usage: chatops {name} ") or out.out.startswith(f"usage: chatops {name}\n")
    assert "Traceback" not in out.err


def test_baseline_help_with_a_percent_sign_works_from_the_shell(config_file: Path):
    for words in (("baseline", "update"), ("baseline", "propose")):
        result = run_cli(*words, "--help", config=config_file)
        assert result.returncode == 0 and "--force-large-change" in result.stdout, result.stderr
        assert "over [baselines] large_change_pct (50%)" in " ".join(result.stdout.split())


@pytest.mark.parametrize("group", GROUPS)
def test_group_help_lists_that_group_and_not_the_global_help(group: str, capsys, config_file: Path):
    code = main(["--config", str(config_file), group, "--help"])
    out = capsys.readouterr().out
    members = [name for name in COMMANDS if name.split()[0] == group]
    assert code == 0 and out.startswith(f"chatops {group} commands:")
    assert all(f"chatops {name} " in out for name in members)
    assert "chatops help " not in out and "needs another role:" not in out   # not the global help


def test_a_group_without_its_subcommand_is_a_usage_error_showing_the_group(config_file: Path):
    result = run_cli("runs", config=config_file)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("chatops runs needs a subcommand.\nchatops runs commands:")
    assert "chatops runs record" in result.stderr and "chatops case list" not in result.stderr


@pytest.mark.parametrize("typed", [("case", "lst"), ("cases", "list")])
def test_a_misspelled_command_answers_in_one_line_with_the_closest_command(typed, config_file: Path):
    result = run_cli(*typed, config=config_file)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"chatops: unknown command {' '.join(typed)!r}; did you mean `chatops case list`? "
                             "(chatops case list --help explains it)\n")


def test_version_comes_from_the_package_metadata(config_file: Path):
    result = run_cli("--version", config=config_file)
    assert result.returncode == 0 and result.stdout == f"chatops {metadata.version('chatops')}\n"


RUN = {"Run_ID": "run_20261122_0830_7f3a", "Scenario_ID": "scn-invoice-sync", "Job_Type": "sync",
       "Credits_Total": 3100, "retry_count": 7, "has_max_items_config": False, "Risk_Flags": ["retry_loop"],
       "is_backfill": False, "Started_At": "2026-11-22T16:00:00Z"}


@pytest.fixture
def credit_ledger(config_file: Path, tmp_path: Path) -> Path:
    """A SEV1 run recorded (CASE-1 open): the credit ledger's path."""
    done = run_cli("baseline", "set", "--scenario", "scn-invoice-sync", "--credits", "500", "--reason", "initial",
                   "--as", "ana", config=config_file)
    assert done.returncode == 0, done.stderr
    (tmp_path / "run.json").write_text(json.dumps(RUN))
    recorded = run_cli("runs", "record", str(tmp_path / "run.json"), "--as", "ana", config=config_file)
    assert recorded.returncode == 0 and "CASE-1" in recorded.stdout, recorded.stderr
    return tmp_path / "var" / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"


@pytest.fixture
def damaged_credit_ledger(credit_ledger: Path) -> Path:
    """One byte of the credit ledger changed under the recorded run."""
    ledger = credit_ledger
    data = bytearray(ledger.read_bytes())
    at = data.index(b'"Credits_Total":3100') + len(b'"Credits_Total":')
    data[at] = ord("4")
    ledger.write_bytes(bytes(data))
    return ledger


def test_a_damaged_credit_ledger_is_one_line_exit_8_and_the_traceback_is_in_the_log(
        damaged_credit_ledger: Path, config_file: Path, tmp_path: Path):
    (tmp_path / "run2.json").write_text(json.dumps({**RUN, "Run_ID": "run_20261122_0831_7f3b"}))
    ack = run_cli("case", "ack", "CASE-1", "--as", "ben", config=config_file)
    record = run_cli("runs", "record", str(tmp_path / "run2.json"), "--as", "ana", config=config_file)
    for result in (ack, record):
        assert result.returncode == 8, result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
        [line] = result.stderr.splitlines()
        assert line.startswith("chatops: runs/CREDIT_MONITORING/audit/ledger.jsonl: ")
        assert "was changed" in line and "`chatops ledger verify`" in line and "chatops ledger reseal" in line
    log = (tmp_path / "var" / "logs" / "chatops-cli.log").read_text()
    assert log.count("Traceback (most recent call last)") >= 2 and "LedgerDamaged" in log


def _defect(inv: Invocation) -> Reply:
    inv.config()                          # the configuration is loaded, so the log is in its data directory
    return Reply(str({}["missing"]))      # a defect: KeyError


def test_an_unexpected_error_is_one_line_naming_the_log_and_the_traceback_is_only_there(
        config_file: Path, tmp_path: Path, capsys):
    registry = Registry([Command(("defect",), "raises a KeyError", Permission.HELP, _defect, shell_open=True)])
    code = main(["--config", str(config_file), "defect"], registry=registry)
    out = capsys.readouterr()
    log = tmp_path / "var" / "logs" / "chatops-cli.log"
    assert code == 1 and out.out == "" and "Traceback" not in out.err
    assert out.err == (f"chatops: internal error: KeyError: 'missing'; the traceback is in the log ({log}); "
                       "please report it with that file\n")
    text = log.read_text()
    assert "chatops --config … defect failed" in text and str(config_file) not in text   # no value is logged
    assert "Traceback (most recent call last)" in text and 'return Reply(str({}["missing"]))' in text
    assert oct(log.stat().st_mode & 0o777) == "0o600"


def test_help_followed_by_a_group_or_a_command_shows_that_help(config_file: Path, capsys):
    assert main(["--config", str(config_file), "help", "runs"]) == 0
    assert capsys.readouterr().out.startswith("chatops runs commands:")
    assert main(["--config", str(config_file), "help", "case", "ack"]) == 0
    assert capsys.readouterr().out.startswith("usage: chatops case ack ")


def test_a_ledger_write_that_fails_on_a_full_disk_is_one_line_saying_nothing_was_recorded(
        credit_ledger: Path, config_file: Path, tmp_path: Path):
    """The file may not grow (RLIMIT_FSIZE in the recording process): the real write fails with EFBIG."""
    ledger = credit_ledger
    (tmp_path / "run2.json").write_text(json.dumps({**RUN, "Run_ID": "run_20261122_0831_7f3b"}))
    script = ("import resource, signal, sys\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              "limit = int(sys.argv.pop(1))\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
              "from chatops.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    done = subprocess.run([sys.executable, "-c", script, str(ledger.stat().st_size + 64), "--config", str(config_file),
                           "runs", "record", str(tmp_path / "run2.json"), "--as", "ana"],
                          capture_output=True, text=True, cwd=REPO, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO), "CHATOPS_LOG_LEVEL": "WARNING"})
    assert done.returncode == 1 and done.stdout == "" and "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("chatops: could not write 3 entries to runs/CREDIT_MONITORING/audit/ledger.jsonl "
                           "(File too large)")
    assert line.endswith("nothing was recorded. Free disk space or check the file system, then retry")


def test_kill_switch_errors_are_one_line_with_their_kind_of_exit_code(config_file: Path):
    bad = run_cli("killswitch", "on", "--for", "2", "--reason", "outage", "--as", "ana", config=config_file)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines()[-1] == "chatops: --for '2': expected a duration like 30m, 2h or 1h30m"
    off = run_cli("killswitch", "off", "--as", "ana", config=config_file)
    assert off.returncode == 7 and off.stdout == ""
    assert off.stderr.splitlines()[-1] == ("chatops: the kill switch is not on; nothing to lift "
                                           "(`killswitch status` shows it)")
