"""The newer commands used as a new operator would: a copy of the repository's config.toml on a fresh data
directory, `--help` before anything else, a typo in an argument. Each test holds one class of defect found
that way (the shipped config pinned another installation's ledger keys; argparse named Python functions
instead of what was expected; `--help` did not say who may run a command; a fresh install reported a
migration pending)."""
from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest

from chatops.cli import main
from chatops.config import load_config
from chatops.registry import Registry
from jobs.actors import People, allowed
from tests.conftest import REPO, run_cli

#: The areas merged in parallel whose commands a new user probes (export, compliance, reports, ops).
NEW_AREAS = ("export", "incident", "calendar", "report", "notion", "doctor", "backup", "restore", "upgrade",
             "service", "sweep", "summary")


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    """The repository's own config.toml, copied as README says, its data directory fresh beside it."""
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.toml", config)
    return config


def _new_commands():
    return [c for c in Registry.load().commands if c.words[0] in NEW_AREAS]


def test_the_shipped_config_lets_a_new_install_initialise_its_ledgers(copied):
    done = run_cli("ledger", "init", "--as", "ana", config=copied)
    assert done.returncode == 0, done.stderr
    assert "created" in done.stdout
    # a refusal on the fresh install is recorded, not lost for want of a key
    refused = run_cli("export", "run", config=copied)
    assert refused.returncode == 3 and "could not record" not in refused.stderr
    ledger = copied.parent / "var" / "operations" / "ledger.jsonl"
    kinds = [json.loads(line)["kind"] for line in ledger.read_text().splitlines()]
    assert kinds[-1] == "command.refused"


def test_a_config_pinning_another_installation_names_both_ways_out(copied):
    text = copied.read_text().replace('credit_origin = ""', 'credit_origin = "example.com/chatops/credit-ledger/abc123"', 1)
    copied.write_text(text.replace('operations_origin = ""',
                                   'operations_origin = "example.com/chatops/operations-ledger/abc123"', 1))
    done = run_cli("ledger", "init", "--as", "ana", config=copied)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert 'pins "example.com/chatops/credit-ledger/abc123" from another installation' in line
    assert "restore that key from a backup" in line and "set credit_origin, operations_origin and trusted_vkeys to empty" in line


@pytest.mark.parametrize(("argv", "expected"), [
    (["calendar", "list", "--within", "-5"], "argument --within: '-5': expected a number of days from 0 to 3660"),
    (["calendar", "list", "--within", "soon"], "argument --within: 'soon': expected a number, e.g. 7"),
    (["export", "merge", "abc", "--as", "ben"], "argument PR: 'abc': expected a PR number such as 7 or #7"),
    (["export", "rescrub", "-5", "--as", "lee"], "argument PR: '-5': expected a PR number such as 7 or #7"),
    (["ledger", "prove", "--seq", "x"], "argument --seq: 'x': expected a number, e.g. 7"),
])
def test_a_bad_typed_argument_says_what_was_expected_not_a_python_name(copied, capsys, argv, expected):
    assert main(["--config", str(copied), *argv]) == 2
    err = capsys.readouterr().err
    assert expected in err and "invalid" not in err and len(err.strip().splitlines()) == 1


def test_every_new_commands_help_says_who_may_run_it_and_shows_an_example_that_parses(copied):
    people = People(load_config(copied).settings.people)
    for command in _new_commands():
        footer = command.help_footer("chatops")
        assert footer.startswith("who: "), command.name
        example = next(line for line in footer.splitlines() if line.startswith("example: chatops "))
        words = shlex.split(example.removeprefix("example: chatops "))
        assert tuple(words[:len(command.words)]) == command.words, command.name
        rest = words[len(command.words):]
        actor = None
        if "--as" in rest:
            at = rest.index("--as")
            actor, rest = rest[at + 1], rest[:at] + rest[at + 2:]
        command.parser("chatops").parse_args(rest)          # raises on an example that does not parse
        if not command.shell_open:
            assert actor is not None, f"{command.name}: its example needs --as"
        if actor is not None:
            assert allowed(people.by_name(actor), command.permission), f"{command.name}: {actor} may not run it"


def test_help_through_the_cli_prints_the_role_and_the_example(copied):
    shown = run_cli("incident", "notice", "counsel", "--help", config=copied)
    assert shown.returncode == 0
    assert "who: role ceo or coo or legal.exec (add --as NAME in the shell)" in shown.stdout
    assert 'example: chatops incident notice counsel INC-1 --reviewer "Firm LLP" --as ana' in shown.stdout
    listed = run_cli("calendar", "list", "--help", config=copied)
    assert "who: anyone who can read the data directory (read-only)" in listed.stdout


def test_chatops_help_lists_every_new_command_with_its_summary(copied):
    shown = run_cli("help", config=copied)
    assert shown.returncode == 0
    for command in _new_commands():
        assert f"chatops {command.name.ljust(10)}" in shown.stdout or f"chatops {command.name} " in shown.stdout
        assert command.summary in shown.stdout, command.name


def test_a_fresh_install_has_no_migration_pending(copied):
    checked = run_cli("upgrade", "--check", "--as", "ana", config=copied)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "up to date (state 2" in checked.stdout


@pytest.mark.parametrize(("argv", "period"), [
    (["report", "quarterly", "--quarter", "2026-q1", "--as", "ana"], "quarterly_2026-Q1.json"),
    (["report", "weekly", "--week", "2026-w47", "--as", "ben"], "weekly_2026-11-16.json"),
])
def test_a_period_in_lower_case_is_read_as_typed(copied, capsys, argv, period):
    assert main(["--config", str(copied), *argv]) == 0
    assert period in capsys.readouterr().out


def test_an_unconfigured_customer_says_none_is_configured_yet(copied, capsys):
    assert main(["--config", str(copied), "incident", "file", "--trigger", "data-exposure", "--sev", "SEV1",
                 "--what", "a", "--contained", "b", "--at-risk", "c", "--as", "lee"]) == 0
    assert main(["--config", str(copied), "incident", "step", "INC-1", "--step", "contain", "--text", "done",
                 "--as", "lee"]) == 0
    capsys.readouterr()
    assert main(["--config", str(copied), "incident", "decide", "INC-1", "--customer-data", "yes",
                 "--unauthorized", "yes", "--high-risk", "no", "--customer", "acme", "--as", "lee"]) == 2
    err = capsys.readouterr().err
    assert "[compliance.customers.acme] notify_hours" in err and "(none is configured yet)" in err


@pytest.mark.parametrize("argv", [
    ["incident", "timeline"],
    ["incident", "show", "--as", "lee"],
    ["incident", "step", "--step", "contain", "--text", "revoked", "--as", "lee"],
    ["incident", "assess", "--sev1-risk", "no", "--text", "fine", "--as", "lee"],
    ["incident", "escalate", "--to", "SEV1", "--as", "lee"],
    ["incident", "decide", "--customer-data", "no", "--as", "lee"],
    ["incident", "close", "--as", "lee"],
    ["incident", "notice", "draft", "--text", "t", "--as", "lee"],
    ["incident", "notice", "approve", "--as", "dev"],
    ["incident", "notice", "counsel", "--reviewer", "Firm LLP", "--as", "ana"],
    ["incident", "notice", "sent", "--as", "lee"],
])
def test_an_incident_command_without_its_id_is_a_usage_error_naming_it(copied, argv):
    done = run_cli(*argv, config=copied)
    assert done.returncode == 2, done.stderr
    assert "the following arguments are required: INC-N" in done.stderr and "internal error" not in done.stderr


@pytest.mark.parametrize(("argv", "flag"), [
    (["report", "weekly", "--week", "0001-W01", "--as", "ben"], "--week '0001-W01'"),
    (["report", "monthly", "--month", "9999-12", "--as", "ana"], "--month '9999-12'"),
    (["report", "quarterly", "--quarter", "9999-Q4", "--as", "ana"], "--quarter '9999-Q4'"),
])
def test_a_period_at_the_end_of_the_calendar_is_invalid_not_an_internal_error(copied, argv, flag):
    done = run_cli(*argv, config=copied)
    assert done.returncode == 2 and "internal error" not in done.stderr
    assert f"{flag}: the year must be from 1900 to 9998" in done.stderr
