"""People, roles and the permission table; the CLI's --as resolution and refusals."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatops.config import load_config, parse_settings
from jobs.actors import (DAEMON, PERMISSIONS, People, Permission, PermissionDenied, Role, Subject, UnknownPerson,
                         allowed, at_least, authorize, describe_roles)
from jobs.compose import build_context
from jobs.errors import Refused
from tests.conftest import PEOPLE_TOML, run_cli

import tomllib

PEOPLE = People(parse_settings(tomllib.loads(PEOPLE_TOML)).people)


def test_operator_tiers_are_cumulative():
    assert at_least(Role.O2) == {Role.O2, Role.O3}
    ana, ben, cleo = PEOPLE.by_name("ana"), PEOPLE.by_name("ben"), PEOPLE.by_name("cleo")
    assert allowed(ana, Permission.CASE_ACK) and allowed(ben, Permission.CASE_ACK)
    assert not allowed(cleo, Permission.CASE_ACK)
    assert allowed(cleo, Permission.LEDGER_VERIFY)


def _ctx(config_file):
    loaded = load_config(config_file)
    return build_context(loaded.settings, loaded.data_dir)


def _refusals(path: Path) -> list[dict]:
    return [e for e in map(json.loads, path.read_text().splitlines()) if e["kind"] == "command.refused"]


def test_the_gate_refuses_naming_the_role_needed_and_held_and_records_who_what_on_what_why(config_file):
    ctx = _ctx(config_file)
    subject = Subject("case", "CASE-12", "credit", "run_7")
    with pytest.raises(PermissionDenied) as err:
        authorize(ctx, PEOPLE.by_name("ben"), Permission.RERUN_DECIDE, "DENIED", subject)
    assert str(err.value) == "DENIED needs role O3; you have O2, chief.staff"
    assert isinstance(err.value, Refused) and err.value.exit_code == 3
    [entry] = _refusals(ctx.data_dir / "runs/CREDIT_MONITORING/audit/ledger.jsonl")
    assert (entry["actor"], entry["role"], entry["Run_ID"]) == ("U0BEN00002", "O2", "run_7")
    assert {k: entry["data"][k] for k in ("command", "permission", "subject_kind", "subject", "reason")} == {
        "command": "DENIED", "permission": "rerun.decide", "subject_kind": "case", "subject": "CASE-12",
        "reason": "DENIED needs role O3; you have O2, chief.staff"}
    assert "ts" in entry                                      # when
    authorize(ctx, PEOPLE.by_name("ana"), Permission.RERUN_DECIDE, "DENIED", subject)   # passes, records nothing
    assert len(_refusals(ctx.data_dir / "runs/CREDIT_MONITORING/audit/ledger.jsonl")) == 1


def test_unknown_slack_user_may_read_help_and_nothing_else(config_file):
    stranger = PEOPLE.by_slack_id("U0STRANGER")
    assert stranger.roles == frozenset()
    assert [p for p in Permission if allowed(stranger, p)] == [Permission.HELP]
    ctx = _ctx(config_file)
    with pytest.raises(PermissionDenied, match="needs role O1; you have no role"):
        authorize(ctx, stranger, Permission.RUN_READ, "case show", Subject("case", "CASE-1"))
    [entry] = _refusals(ctx.data_dir / "operations/ledger.jsonl")
    assert (entry["actor"], entry.get("role"), entry["data"]["roles"]) == ("U0STRANGER", None, [])


def test_every_permission_has_a_row_in_the_table():
    assert set(PERMISSIONS) == set(Permission)


def test_role_for_the_ledger_is_the_highest_tier_used():
    assert PEOPLE.by_name("dev").role_for(Permission.CASE_ACK) == "O3"
    assert PEOPLE.by_name("lee").role_for(Permission.SCRUB_LEARN) in {"code.platform", "security.ops"}


def test_describe_roles_reads_like_the_runbook():
    assert describe_roles(at_least(Role.O2)) == "O2"
    assert describe_roles(frozenset({Role.CODE_PLATFORM, Role.SECURITY_OPS})) == "code.platform or security.ops"


def test_unknown_person_gets_the_closest_name_and_the_fix():
    with pytest.raises(UnknownPerson, match=r"unknown person 'anna': did you mean 'ana'\? add them to config.toml"):
        PEOPLE.by_name("anna")


def test_daemon_actor_is_not_a_person():
    assert DAEMON.is_daemon and not PEOPLE.by_name("ana").is_daemon


def test_cli_refuses_an_unknown_person_with_exit_2(config_file: Path):
    result = run_cli("--as", "zed", "jobs", config=config_file)
    assert result.returncode == 2
    assert "unknown person 'zed'" in result.stderr
    refused = run_cli("--as", "zed", "case", "ack", "CASE-1", config=config_file)
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith("; case ack needs role O2")


def test_cli_help_as_a_person_lists_what_they_may_run_and_the_role_for_the_rest(config_file: Path):
    result = run_cli("--as", "cleo", "help", config=config_file)
    assert result.returncode == 0
    assert "chatops config check" in result.stdout


def test_cli_help_states_the_one_rule_and_a_name_never_sees_less_than_nobody(config_file: Path):
    named = run_cli("--as", "cleo", "help", config=config_file).stdout
    anonymous = run_cli("help", config=config_file).stdout
    assert "read-only commands (case list, baseline show, ledger verify, …) run for" in anonymous
    assert "anyone who can read the data directory, with or without --as" in anonymous

    def may(text: str) -> set[str]:
        return {line.split()[1] + " " + line.split()[2] for line in
                text.split("needs another role:")[0].splitlines()[1:] if line.startswith("  chatops ")}
    assert may(anonymous) <= may(named) and "killswitch status" in may(anonymous) and "scrub check" in may(anonymous)


def test_cli_unknown_command_exits_2_in_one_line_pointing_at_help(config_file: Path):
    result = run_cli("frobnicate", config=config_file)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "chatops: unknown command 'frobnicate'; `chatops help` lists the commands\n"
