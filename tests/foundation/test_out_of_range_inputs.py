"""Numbers too large for a date or a window are refused in one line naming the option, never an
`OverflowError` reported as an internal error (found by a new-user probe of issue 19)."""
from __future__ import annotations

import pytest

from chatops.cli import main


def _run(capsys, config_file, *argv: str) -> tuple[int, str, str]:
    code = main(["--config", str(config_file), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _set_baseline(capsys, config_file) -> None:
    code, _out, err = _run(capsys, config_file, "--as", "ana", "baseline", "set", "--scenario", "scn-a",
                           "--credits", "500", "--reason", "initial")
    assert code == 0, err


@pytest.mark.parametrize("argv, names", [
    (("baseline", "calculate", "--scenario", "scn-a", "--days", "99999999999"), "--days '99999999999'"),
    (("ledger", "verify", "--artifacts", "99999999999"), "--artifacts DAYS"),
    (("runs", "list", "--since", "99999999999h"), "--since '99999999999h'"),
    (("runs", "list", "--since", "999999d"), "--since '999999d'"),
    (("--as", "ana", "backfill", "on", "scn-a", "--until", "99999999999h", "--reason", "r"), "'99999999999h'"),
    (("--as", "ana", "killswitch", "on", "--for", "99999999999h", "--reason", "r"), "--for '99999999999h'"),
])
def test_a_span_too_large_for_a_date_is_one_line_naming_the_option(capsys, config_file, argv, names):
    _set_baseline(capsys, config_file)
    code, out, err = _run(capsys, config_file, *argv)
    assert code == 2, err
    assert "internal error" not in err and "Overflow" not in err
    assert names in err and not out


def test_a_baseline_above_any_runs_credits_is_refused(capsys, config_file):
    code, _out, err = _run(capsys, config_file, "--as", "ana", "baseline", "set", "--scenario", "scn-a",
                           "--credits", "1e308", "--reason", "typo")
    assert code == 2 and "--credits '1e308' is too large" in err and "2^53" in err
    code, out, _err = _run(capsys, config_file, "baseline", "show")
    assert "scn-a" not in out


@pytest.mark.parametrize("argv, says", [
    (("jobs", "--limit", "-5"), "--limit '-5': expected a whole number of runs, 1 or more"),
    (("jobs", "--limit", "0"), "--limit '0': expected a whole number of runs, 1 or more"),
    (("daemon", "--http", "99999"), "--http '99999': expected a TCP port from 1 to 65535"),
])
def test_a_count_or_port_out_of_range_is_refused_before_anything_runs(capsys, config_file, argv, says):
    code, out, err = _run(capsys, config_file, *argv)
    assert code == 2 and not out and says in err


@pytest.mark.parametrize("argv", [("ledger", "verify", "--ledger", "nope"), ("case", "ack"),
                                  ("runs", "list", "--limit", "-1"), ("config", "check", "--bogus")])
def test_a_usage_error_is_one_line_with_the_usage_on_it(capsys, config_file, argv):
    code, out, err = _run(capsys, config_file, *argv)
    assert code == 2 and not out
    assert len(err.strip().splitlines()) == 1 and "; usage: chatops " in err


def test_version_beside_a_command_does_not_pass_for_the_command_having_run(capsys, config_file):
    code, out, err = _run(capsys, config_file, "--as", "ben", "case", "ack", "CASE-1", "--version")
    assert code == 2 and not out
    assert err.strip() == ("chatops: --version takes no command; run `chatops --version` alone, or drop it from "
                           "`chatops case ack CASE-1`")
    code, out, _err = _run(capsys, config_file, "--version")
    assert code == 0 and out.startswith("chatops ")


@pytest.mark.parametrize("argv, says, code", [
    (("scenario", "set", "scn-a", "max_items", "abc"), "max_items = 'abc': expected a whole number", 2),
    (("scenario", "set", "scn-a", "max_items", "0"), "max_items = '0': expected a whole number", 2),
    (("scenario", "set", "scn-a", "colour", "7"), "unknown setting 'colour'", 2),
    (("backfill", "on", "scn-a", "--until", "2000-01-01T00:00:00Z", "--reason", "r"), "--until must be after the start", 2),
    (("backfill", "off", "scn-a"), "backfill mode is not on for scn-a", 7),
])
def test_a_bad_value_is_invalid_and_a_wrong_state_a_conflict_not_a_permission_refusal(capsys, config_file, argv,
                                                                                     says, code):
    _set_baseline(capsys, config_file)
    got, out, err = _run(capsys, config_file, "--as", "ana", *argv)
    assert got == code and says in err and not out, err
