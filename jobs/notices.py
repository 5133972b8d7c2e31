"""What the domain says to people, and the one door it says it through.

`jobs` never knows Slack: a flow builds a `Notice` (a record with a complete plain-text fallback)
and hands it to the context's `Notifier`. `chatops/notify.py` implements the Notifier (outbox,
Slack, kill-switch filter) and `chatops/render/` turns a Notice into Block Kit.

Threads: notices about the same `subject` (e.g. `CASE-12`) belong to one conversation. The first
notice for a subject in a channel starts it; later ones with `update_original=True` edit that first
message and add to its thread. A notice that names its subject's kind (`subject_kind="case"`) binds
the thread to that subject, and a person's reply there is read by the area that owns the kind.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Notice:
    kind: str                              # e.g. "credits.alert", "credits.ack_overdue", "baseline.proposal"
    subject: str                           # thread key, e.g. "CASE-12", "RUN-run_2026…", "BASELINE-scn"
    text: str                              # complete plain-text version; never carries a secret
    channel: str | None = None             # "#ops-critical"; None when only DMs
    dm_to: tuple[str, ...] = ()            # person names from config [people]
    fields: dict[str, Any] = field(default_factory=dict)  # structured data for the renderer
    update_original: bool = False          # edit the subject's first message and reply in its thread
    suppressible: bool = True              # the kill switch may hold it back (alerts); False for replies
    subject_kind: str = ""                 # "case": replies in its thread act on the subject; "" = none


class Notifier(Protocol):
    def send(self, notice: Notice) -> None:
        """Queue the notice durably (outbox) before returning; delivery happens after."""
