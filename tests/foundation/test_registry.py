"""The command registry: one declaration reached from the CLI and from /ops text, checked in the domain."""
from __future__ import annotations

import argparse

import pytest

from chatops.registry import (Arg, Command, HelpRequested, Invocation, Registry, Reply, UsageError,
                              parse_slack_text, run)
from chatops.config import load_config
from jobs.actors import Actor, Permission, PermissionDenied, Role
from jobs.errors import Refused


def _echo(inv: Invocation) -> Reply:
    return Reply(f"{inv.command.name}: {vars(inv.args)}")


REGISTRY = Registry([
    Command(("help",), "list commands", Permission.HELP, _echo, shell_open=True),
    Command(("case", "ack"), "acknowledge a case", Permission.CASE_ACK, _echo,
            args=(Arg("case_id", "CASE-<n>", required=True),)),
    Command(("rerun", "approve"), "approve a rerun", Permission.RERUN_DECIDE, _echo,
            args=(Arg("case_id", "CASE-<n>", required=True), Arg("--mitigation", "what was fixed", required=True))),
    Command(("daemon",), "run the daemon", Permission.CONFIG_READ, _echo, slack=False, shell_open=True),
])
O2 = Actor("ben", frozenset({Role.O2}), "U0BEN00002")
O3 = Actor("ana", frozenset({Role.O3}), "U0ANA00001")


@pytest.fixture
def config(config_file):
    loaded = load_config(config_file)
    return lambda: loaded


def _invoke(config, command, args, actor, surface="slack"):
    return run(Invocation(command=command, actor=actor, args=args, surface=surface, config=config))


def test_slack_text_is_parsed_with_the_same_argument_specs():
    command, args = parse_slack_text(REGISTRY, 'rerun approve CASE-7 --mitigation "max_items now 1000"')
    assert command.words == ("rerun", "approve")
    assert (args.case_id, args.mitigation) == ("CASE-7", "max_items now 1000")


def test_missing_required_argument_is_a_usage_error_with_the_usage_line():
    with pytest.raises(UsageError, match=r"usage: /ops rerun approve .*--mitigation"):
        parse_slack_text(REGISTRY, "rerun approve CASE-7")


def test_cli_only_commands_are_not_reachable_from_slack():
    with pytest.raises(UsageError, match="unknown command 'daemon'"):
        parse_slack_text(REGISTRY, "daemon")


def test_the_gate_refuses_whatever_the_surface(config):
    command, args = parse_slack_text(REGISTRY, "rerun approve CASE-7 --mitigation fixed")
    for surface in ("slack", "cli"):
        with pytest.raises(PermissionDenied, match="rerun approve needs role O3; you have O2"):
            _invoke(config, command, args, O2, surface)
    assert "CASE-7" in _invoke(config, command, args, O3).text


def test_without_an_actor_only_read_only_commands_run_and_only_from_the_cli(config):
    command, args = parse_slack_text(REGISTRY, "case ack CASE-1")
    with pytest.raises(Refused, match="case ack acts as a person: add --as NAME"):
        _invoke(config, command, args, None, surface="cli")
    help_command = REGISTRY.match(["help"])[0]
    assert _invoke(config, help_command, argparse.Namespace(), None, surface="cli").text


def test_structured_values_become_the_declared_typed_arguments_without_any_splitting():
    command = REGISTRY.match(["rerun", "approve"])[0]
    args = command.arguments({"case_id": "CASE-7", "mitigation": "--force was wrong; -h too"})
    assert (args.case_id, args.mitigation) == ("CASE-7", "--force was wrong; -h too")
    with pytest.raises(UsageError, match="rerun approve needs mitigation"):
        command.arguments({"case_id": "CASE-7"})
    with pytest.raises(UsageError, match="rerun approve takes no reason"):
        command.arguments({"case_id": "CASE-7", "mitigation": "x", "reason": "y"})


def test_help_lists_what_the_caller_may_run_and_names_the_role_for_the_rest():
    text = REGISTRY.help_text(O2, "slack", "/ops")
    may, _, needs = text.partition("needs another role:")
    assert "/ops case ack" in may and "/ops rerun approve" in needs
    assert "[needs O3]" in needs
    assert "daemon" not in text


def test_help_flag_on_a_command_returns_its_help():
    with pytest.raises(HelpRequested, match="--mitigation"):
        parse_slack_text(REGISTRY, "rerun approve --help")


def test_longest_word_match_wins_and_words_are_case_insensitive():
    command, rest = REGISTRY.match(["CASE", "ACK", "CASE-3"])
    assert command.words == ("case", "ack") and rest == ["CASE-3"]


def test_a_misspelled_slack_command_names_the_closest_slack_command():
    with pytest.raises(UsageError, match=r"^unknown command 'rerun aprove CASE-7'; did you mean `/ops rerun approve`\?$"):
        parse_slack_text(REGISTRY, "rerun aprove CASE-7")
    with pytest.raises(UsageError, match=r"^unknown command 'demon'; try /ops help$"):   # `daemon` is shell-only
        parse_slack_text(REGISTRY, "demon")
