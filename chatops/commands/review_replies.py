"""The replies a weekly review's Slack thread accepts (its summary in `#ops-review`, subject `WEEKLY-<week>`):

    note - <text>                     append to the week's notes
    isolated <Run_ID> - <why>         a SEV2 without a case was isolated (noted, no further action)
    case <Run_ID>                     a SEV2 without a case warrants one: open it

Case does not matter, the dash may be a hyphen, an en or em dash or a colon. Each form maps to one
registry command with its typed values, so a reply, a button and `/ops report weekly …` have the same
effect. A reply that starts like a form but lacks its run or its text is refused with the form;
anything else is conversation and is left alone.
"""
from __future__ import annotations

import re

from chatops.registry import MalformedReply, ReplyCommand

DASH = r"[-\u2010\u2011\u2012\u2013\u2014\u2015:]"
_NOTE = re.compile(rf"^notes?\s*{DASH}+\s*(?P<text>.*)$", re.I | re.S)
_ISOLATED = re.compile(rf"^isolated\b\s*(?P<run>[^\s\u2010-\u2015:]*)\s*(?:{DASH}+\s*(?P<text>.*))?$", re.I | re.S)
_CASE = re.compile(r"^(?:open\s+a\s+)?case\s+(?P<run>(?!CASE-)\S+)\s*$", re.I)
_DECORATION = "*_~`> \t\n"
PREFIX = "WEEKLY-"

NOTE_FORM = "note - <text>"
ISOLATED_FORM = "isolated <Run_ID> - <why>"


def read(subject: str, message: str) -> ReplyCommand | None:
    """A reply in the thread of the weekly review `subject` (`WEEKLY-2026-W47`): the command it means."""
    week = subject[len(PREFIX):] if subject.startswith(PREFIX) else subject
    text = message.strip().strip(_DECORATION)
    if match := _NOTE.match(text):
        note = _clean(match["text"])
        if not note:
            raise MalformedReply(f"a note needs its text: reply `{NOTE_FORM}`")
        return ReplyCommand(("report", "weekly", "note"), {"week": week, "text": note}, "note")
    if match := _ISOLATED.match(text):
        why = _clean(match["text"] or "")
        if not match["run"] or not why:
            raise MalformedReply(f"an isolated SEV2 needs its run and why: reply `{ISOLATED_FORM}`")
        return ReplyCommand(("report", "weekly", "isolated"), {"run_id": match["run"], "note": why}, "isolated")
    if match := _CASE.match(text):
        return ReplyCommand(("report", "weekly", "open-case"), {"run_id": match["run"]}, "case")
    return None


def _clean(text: str) -> str:
    return " ".join(text.strip(_DECORATION).split())
