"""A small command area of the tests' own, for what the real areas cannot show yet.

* `drill`: a subject kind that is not a credit case (as an incident or an export PR will be), with a
  reply of its own (`DONE - <note>`), to prove that a thread bound to any kind of subject routes its
  replies to the area that registered that kind, through the same gate, with the note as typed.
* `slow KEY`: blocks until the test releases it, to prove acknowledgement does not wait for the work.

Real handlers with real effects: `drill done` appends to the operations ledger.
"""
from __future__ import annotations

import re
import threading

from chatops.registry import Arg, Command, Invocation, MalformedReply, ReplyCommand, Reply
from jobs.actors import Permission

#: `slow KEY` waits on SLOW_GATES[KEY]; the test that runs it puts a fresh Event there and sets it
SLOW_GATES: dict[str, threading.Event] = {}

_DONE = re.compile(r"^done\b\s*(?:-\s*(?P<note>\S.*))?$", re.I | re.S)


def _done(inv: Invocation) -> Reply:
    inv.ctx.ledgers.operations.append("drill.done", inv.actor.ledger_id, inv.actor.role_for(Permission.CASE_NOTE),
                                      {"data": {"drill": inv.args.drill, "note": inv.args.note}})
    return Reply(f"{inv.args.drill} done by {inv.actor.name}: {inv.args.note}")


def _slow(inv: Invocation) -> Reply:
    SLOW_GATES[inv.args.key].wait(30)
    return Reply(f"slow {inv.args.key} done")


def read_drill_reply(drill: str, text: str) -> ReplyCommand | None:
    match = _DONE.match(text.strip())
    if match is None:
        return None
    if not match["note"]:
        raise MalformedReply("a drill is closed with a note: reply `DONE - <note>`")
    return ReplyCommand(("drill", "done"), {"drill": drill, "note": match["note"]}, "DONE")


COMMANDS = [
    Command(("drill", "done"), "close a drill with a note", Permission.CASE_NOTE, _done,
            args=(Arg("drill", "DRILL-<id>", required=True, subject="drill"),
                  Arg("--note", "what was learned", required=True))),
    Command(("slow",), "work that takes a while", Permission.RUN_READ, _slow,
            args=(Arg("key", "gate name", required=True),)),
]

REPLIES = {"drill": read_drill_reply}
