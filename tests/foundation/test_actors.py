"""People, roles and the permission table; the CLI's --as resolution and refusals."""
from __future__ import annotations

from pathlib import Path

import pytest

from chatops.config import parse_settings
from jobs.actors import (DAEMON, PERMISSIONS, People, Permission, PermissionDenied, Role, UnknownPerson,
                         allowed, at_least, check, describe_roles)
from tests.conftest import PEOPLE_TOML, run_cli

import tomllib

PEOPLE = People(parse_settings(tomllib.loads(PEOPLE_TOML)).people)


def test_operator_tiers_are_cumulative():
    assert at_least(Role.O2) == {Role.O2, Role.O3}
    ana, ben, cleo = PEOPLE.by_name("ana"), PEOPLE.by_name("ben"), PEOPLE.by_name("cleo")
    assert allowed(ana, Permission.CASE_ACK) and allowed(ben, Permission.CASE_ACK)
    assert not allowed(cleo, Permission.CASE_ACK)
    assert allowed(cleo, Permission.LEDGER_VERIFY)


def test_refusal_names_the_role_needed_and_the_roles_held():
    with pytest.raises(PermissionDenied) as err:
        check(PEOPLE.by_name("ben"), Permission.RERUN_DECIDE, action="DENIED")
    assert str(err.value) == "DENIED needs role O3; you have O2, chief.staff"


def test_unknown_slack_user_may_read_help_and_nothing_else():
    stranger = PEOPLE.by_slack_id("U0STRANGER")
    assert stranger.roles == frozenset()
    assert [p for p in Permission if allowed(stranger, p)] == [Permission.HELP]
    with pytest.raises(PermissionDenied, match="needs role O1; you have no role"):
        check(stranger, Permission.RUN_READ)


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


def test_cli_unknown_command_exits_2_in_one_line_pointing_at_help(config_file: Path):
    result = run_cli("frobnicate", config=config_file)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "chatops: unknown command 'frobnicate'; `chatops help` lists the commands\n"
