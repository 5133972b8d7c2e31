"""Every registered /ops command × every configured role and a stranger: whoever the one table refuses
is refused through Slack, told the role needed, and the refusal is in the command's own ledger, naming
the command's subject (the golden matrix in tests/foundation pins who that is)."""
from __future__ import annotations

import json
import shlex

import pytest

from chatops.registry import Arg, Command, Registry
from jobs.actors import allowed

PEOPLE = {"ana": "U0ANA00001", "ben": "U0BEN00002", "cleo": "U0CLEO0003", "dev": "U0DEV00004",
          "lee": "U0LEE00005", "stranger": "U0STRANGER"}

REGISTRY = Registry.load()
LEDGER_FILES = {"operations": "operations/ledger.jsonl", "credit": "runs/CREDIT_MONITORING/audit/ledger.jsonl"}


def _value(arg: Arg) -> str:
    if arg.choices:
        return arg.choices[0]
    return "CASE-1" if arg.type is str else "1"


def _text(command: Command) -> str:
    """The command with a well-formed value for every required argument (the check comes before the work)."""
    words = list(command.words)
    for arg in command.args:
        if arg.name.startswith("-"):
            if arg.required:
                words += [arg.name, _value(arg)]
        elif arg.required or arg.nargs == "+":
            words.append(_value(arg))
    return shlex.join(words)


def _refusals(ctx, ledger: str) -> list[dict]:
    path = ctx.data_dir / LEDGER_FILES[ledger]
    lines = path.read_text().splitlines() if path.exists() else []
    return [e for e in map(json.loads, lines) if e["kind"] == "command.refused"]


@pytest.mark.parametrize("command", [c for c in REGISTRY.commands if c.slack], ids=lambda c: c.name)
def test_every_slack_command_refuses_every_role_the_table_refuses_and_records_it(iface, command):
    iface.registry = REGISTRY
    refused_somebody = False
    for person, slack_id in PEOPLE.items():
        actor = iface.actor(slack_id)
        if allowed(actor, command.permission):
            continue
        refused_somebody = True
        before = len(_refusals(iface.ctx, command.ledger))
        outcome = iface.run_text(slack_id, _text(command))
        assert not outcome.ok and outcome.text.startswith(
            (f"{command.name} needs role ", f"{command.name} needs any role;")), (person, outcome.text)
        new = _refusals(iface.ctx, command.ledger)[before:]
        subject = command.subject(command.parser("/ops").parse_args(shlex.split(_text(command))[len(command.words):]))
        assert [(e["actor"], e["data"]["command"], e["data"]["subject_kind"], e["data"]["subject"]) for e in new] == [
            (slack_id, command.name, subject.kind, subject.id)], person
    assert refused_somebody or command.name == "help"      # the stranger is refused everything but help
