"""A small command area of the tests' own: the runbook commands the Slack layer maps replies to.

Real handlers with real effects (an approval in the store, a line in `acted.jsonl`), so the tests do
not depend on the credit-monitoring area being finished. `slow` blocks until the test releases it,
to prove acknowledgement does not wait for the work.
"""
from __future__ import annotations

import json
import threading

from chatops.registry import Arg, Command, Invocation, Reply
from jobs import approvals
from jobs.actors import DAEMON, Permission, check

#: `slow KEY` waits on SLOW_GATES[KEY]; the test that runs it puts a fresh Event there and sets it
SLOW_GATES: dict[str, threading.Event] = {}


def _log(inv: Invocation, **fields) -> None:
    with open(inv.ctx.data_dir / "acted.jsonl", "a") as handle:
        handle.write(json.dumps({"command": inv.command.name, "actor": inv.actor.name, **fields}) + "\n")


def _ack(inv: Invocation) -> Reply:
    check(inv.actor, Permission.CASE_ACK, action="case ack")
    inv.ctx.ledgers.operations.append("case.acked", inv.actor.ledger_id, inv.actor.role_for(Permission.CASE_ACK),
                                      {"data": {"case": inv.args.case, "via": inv.surface}})
    _log(inv, case=inv.args.case)
    return Reply(f"{inv.args.case} acknowledged by {inv.actor.name}")


def _decide(inv: Invocation, decision: approvals.Decision, note: str) -> Reply:
    ctx = inv.ctx
    case = inv.args.case
    req = approvals.latest(ctx, "rerun", case) or approvals.request(
        ctx, "rerun", case, {"case": case}, DAEMON, Permission.RERUN_DECIDE)
    decided = approvals.decide(ctx, req.id, inv.actor, decision, {"case": case}, note=note)
    _log(inv, case=case, note=note)
    return Reply(f"rerun of {case} {decided.status.value} by {inv.actor.name}: {note}")


def _approve(inv: Invocation) -> Reply:
    return _decide(inv, approvals.Decision.APPROVED, inv.args.mitigation)


def _deny(inv: Invocation) -> Reply:
    return _decide(inv, approvals.Decision.DENIED, inv.args.reason)


def _slow(inv: Invocation) -> Reply:
    SLOW_GATES[inv.args.key].wait(30)
    return Reply(f"slow {inv.args.key} done")


COMMANDS = [
    Command(("case", "ack"), "acknowledge a case", Permission.CASE_ACK, _ack,
            args=(Arg("case", "CASE-<id>", required=True),)),
    Command(("rerun", "approve"), "approve a rerun", Permission.RERUN_DECIDE, _approve,
            args=(Arg("case", "CASE-<id>", required=True), Arg("--mitigation", "what was fixed", required=True))),
    Command(("rerun", "deny"), "deny a rerun", Permission.RERUN_DECIDE, _deny,
            args=(Arg("case", "CASE-<id>", required=True), Arg("--reason", "why not", required=True))),
    Command(("slow",), "work that takes a while", Permission.RUN_READ, _slow,
            args=(Arg("key", "gate name", required=True),)),
]
