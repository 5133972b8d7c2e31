"""The replies a case's Slack thread accepts: the runbook's forms, read the way operators type them (seed 001).

    ACK
    ACK - O2 <name> investigating CASE-<id>
    APPROVED for rerun - <mitigation>
    DENIED - <reason>

Case does not matter, spacing is loose, and the dash may be a hyphen, an en dash or an em dash (Slack
and phones turn `-` into `–`). Each form maps to one registry command with its typed values on the
case the thread is bound to (`read`), so a reply, a button and `/ops …` have the same effect and the
text after the dash reaches the command as it was typed (a reason may start with `--`). A reply that
starts like one of the forms but lacks its text (an approval without a mitigation, a denial without a
reason), or that names another case, is refused with the expected form; anything else in the thread
is conversation and is left alone. The credit area registers `read` for `case` subjects.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from chatops.registry import MalformedReply, ReplyCommand

DASH = r"[-\u2010\u2011\u2012\u2013\u2014\u2015:]"
#: Compiled on the first reply read (`re` caches them), not by every command that loads the credit area.
_ACK = r"(?is)^ack\b(?P<rest>.*)$"
_APPROVED = r"(?is)^approved\b(?P<rest>.*)$"
_APPROVED_FULL = rf"(?is)^\s*for\s+re-?run\s*{DASH}+\s*(?P<text>\S.*)$"
_DENIED = r"(?is)^denied\b(?P<rest>.*)$"
_DENIED_FULL = rf"(?is)^\s*{DASH}+\s*(?P<text>\S.*)$"
_CASE = r"(?i)\bCASE[-\u2010-\u2015\s]?(\d+)\b"
_DECORATION = "*_~`> \t\n"

APPROVED_FORM = "APPROVED for rerun - <mitigation>"
DENIED_FORM = "DENIED - <reason>"
ACK_FORM = "ACK - O2 <your name> investigating CASE-<id>"


class ReplyKind(StrEnum):
    ACK = "ACK"
    APPROVED = "APPROVED"
    DENIED = "DENIED"


@dataclass(frozen=True)
class ThreadReply:
    kind: ReplyKind
    text: str = ""          # mitigation or reason
    case: str = ""          # a case id the reply itself names (ACK … CASE-12), normalised

    def command(self, case: str) -> ReplyCommand:
        """The registry command this reply means on `case`, with its typed values."""
        if self.kind == ReplyKind.ACK:
            return ReplyCommand(("case", "ack"), {"case": case}, self.kind.value)
        if self.kind == ReplyKind.APPROVED:
            return ReplyCommand(("rerun", "approve"), {"case": case, "mitigation": self.text}, self.kind.value)
        return ReplyCommand(("rerun", "deny"), {"case": case, "reason": self.text}, self.kind.value)


def read(case: str, message: str) -> ReplyCommand | None:
    """A reply in the thread bound to `case`: the command it means, None for conversation."""
    reply = parse_reply(message)
    if reply is None:
        return None
    if reply.case and reply.case.upper() != case.upper():
        raise MalformedReply(f"this thread is about {case}, but your {reply.kind.value} names {reply.case}; "
                             f"reply in {reply.case}'s thread")
    return reply.command(case)


def parse_reply(message: str) -> ThreadReply | None:
    """The runbook reply in `message`, None for ordinary conversation; MalformedReply when incomplete."""
    text = message.strip().strip(_DECORATION)
    if match := re.match(_ACK, text):
        case = re.search(_CASE, match["rest"])
        return ThreadReply(ReplyKind.ACK, case=f"CASE-{case[1]}" if case else "")
    if match := re.match(_APPROVED, text):
        full = re.match(_APPROVED_FULL, match["rest"])
        if not full or not full["text"].strip(_DECORATION):
            raise MalformedReply(f"an approval needs the mitigation: reply `{APPROVED_FORM}`")
        return ThreadReply(ReplyKind.APPROVED, text=_clean(full["text"]))
    if match := re.match(_DENIED, text):
        full = re.match(_DENIED_FULL, match["rest"])
        if not full or not full["text"].strip(_DECORATION):
            raise MalformedReply(f"a denial needs the reason: reply `{DENIED_FORM}`")
        return ThreadReply(ReplyKind.DENIED, text=_clean(full["text"]))
    return None


def _clean(text: str) -> str:
    return " ".join(text.strip(_DECORATION).split())
