"""The runbook's thread replies, read the way operators type them (seed 001).

    ACK
    ACK - O2 <name> investigating CASE-<id>
    APPROVED for rerun - <mitigation>
    DENIED - <reason>

Case does not matter, spacing is loose, and the dash may be a hyphen, an en dash or an em dash (Slack
and phones turn `-` into `–`). Each form maps to one registry command on the case the thread is
about, so a reply, a button and `/ops …` have the same effect. A reply that starts like one of the
forms but lacks its text (an approval without a mitigation, a denial without a reason) is refused
with the expected form; anything else in the thread is conversation and is left alone.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from enum import StrEnum

DASH = r"[-\u2010\u2011\u2012\u2013\u2014\u2015:]"
_ACK = re.compile(r"^ack\b(?P<rest>.*)$", re.I | re.S)
_APPROVED = re.compile(r"^approved\b(?P<rest>.*)$", re.I | re.S)
_APPROVED_FULL = re.compile(rf"^\s*for\s+re-?run\s*{DASH}+\s*(?P<text>\S.*)$", re.I | re.S)
_DENIED = re.compile(r"^denied\b(?P<rest>.*)$", re.I | re.S)
_DENIED_FULL = re.compile(rf"^\s*{DASH}+\s*(?P<text>\S.*)$", re.I | re.S)
_CASE = re.compile(r"\bCASE[-\u2010-\u2015\s]?(\d+)\b", re.I)
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

    def words(self, case: str) -> list[str]:
        """The registry command this reply means, on `case`."""
        if self.kind == ReplyKind.ACK:
            return ["case", "ack", case]
        if self.kind == ReplyKind.APPROVED:
            return ["rerun", "approve", case, "--mitigation", self.text]
        return ["rerun", "deny", case, "--reason", self.text]

    def command_text(self, case: str) -> str:
        return shlex.join(self.words(case))


class MalformedReply(Exception):
    """Looks like a runbook reply but is incomplete; the message gives the expected form."""


def parse_reply(message: str) -> ThreadReply | None:
    """The runbook reply in `message`, None for ordinary conversation; MalformedReply when incomplete."""
    text = message.strip().strip(_DECORATION)
    if match := _ACK.match(text):
        case = _CASE.search(match["rest"])
        return ThreadReply(ReplyKind.ACK, case=f"CASE-{case[1]}" if case else "")
    if match := _APPROVED.match(text):
        full = _APPROVED_FULL.match(match["rest"])
        if not full or not full["text"].strip(_DECORATION):
            raise MalformedReply(f"an approval needs the mitigation: reply `{APPROVED_FORM}`")
        return ThreadReply(ReplyKind.APPROVED, text=_clean(full["text"]))
    if match := _DENIED.match(text):
        full = _DENIED_FULL.match(match["rest"])
        if not full or not full["text"].strip(_DECORATION):
            raise MalformedReply(f"a denial needs the reason: reply `{DENIED_FORM}`")
        return ThreadReply(ReplyKind.DENIED, text=_clean(full["text"]))
    return None


def _clean(text: str) -> str:
    return " ".join(text.strip(_DECORATION).split())
