"""Every command × every role through /ops: allowed or refused by the one table, a ledger entry for both."""
from __future__ import annotations

import json

import pytest

from chatops.registry import Registry
from jobs.actors import allowed

PEOPLE = {"ana": "U0ANA00001", "ben": "U0BEN00002", "cleo": "U0CLEO0003", "dev": "U0DEV00004",
          "lee": "U0LEE00005", "stranger": "U0STRANGER"}
COMMANDS = {
    "case ack": ("case ack CASE-{n}", "case.acked"),
    "rerun approve": ("rerun approve CASE-{n} --mitigation 'max_items now 1000'", "approval.decided"),
    "rerun deny": ("rerun deny CASE-{n} --reason 'root cause unknown'", "approval.decided"),
    "killswitch on": ("killswitch on --for 1h --reason storm {n}", "killswitch.on"),
    "killswitch status": ("killswitch status", None),
}


def _ledger(ctx) -> list[dict]:
    path = ctx.data_dir / "operations" / "ledger.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [e for e in map(json.loads, lines) if e["kind"] != "ledger.created"]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_for_each_role(iface, name):
    iface.registry = Registry.load(areas=["tests.slack.area", "chatops.commands.killswitch"])
    command = next(c for c in iface.registry.commands if c.name == name)
    template, entry_kind = COMMANDS[name]
    for n, (person, slack_id) in enumerate(PEOPLE.items()):
        actor = iface.actor(slack_id)
        before = len(_ledger(iface.ctx))
        outcome = iface.run_text(slack_id, template.format(n=n))
        new = _ledger(iface.ctx)[before:]
        if allowed(actor, command.permission):
            assert outcome.ok, (person, outcome.text)
            if entry_kind:
                assert [(e["kind"], e["actor"]) for e in new][-1] == (entry_kind, slack_id)
        else:
            assert not outcome.ok and f"{name} needs role" in outcome.text, (person, outcome.text)
            assert [(e["kind"], e["actor"], e["data"]["command"]) for e in new] == [("command.refused", slack_id, name)]
