"""Which Slack message starts the conversation about which subject (table `slack_threads`).

The first message about a subject (`CASE-12`) in a channel is its thread parent. Delivery looks the
parent up by (channel, subject) to edit it and reply under it; an inbound thread reply or button is
routed back by (channel id, parent ts) to the subject it is bound to. A binding names the subject's
kind (`case`, an incident, an export PR…) beside its id, so the area that owns that kind reads the
replies; a thread whose notices named no kind takes none. Channels are kept both as configured
(`#ops-critical`) and as Slack's id (`C0123…`), because outgoing messages name the one and incoming
events carry the other.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tinydb import Query

from store.state import StateStore

TABLE = "slack_threads"


@dataclass(frozen=True)
class Thread:
    subject: str          # the subject's id, also the thread's key: "CASE-12", "BASELINE-scn"
    channel: str          # as addressed: "#ops-critical", or the DM's person "@ana"
    channel_id: str       # Slack's id from the chat.postMessage answer
    ts: str               # the parent message's ts
    subject_kind: str = ""   # the subject's kind, whose area reads replies here; "" = no replies


def _thread(row: dict[str, Any]) -> Thread:
    """A stored binding; rows written before kinds existed carried the case id as `case` instead."""
    kind = row.get("subject_kind") or ("case" if row.get("case") else "")
    return Thread(subject=row["subject"], channel=row["channel"], channel_id=row["channel_id"], ts=row["ts"],
                  subject_kind=kind)


def remember(store: StateStore, thread: Thread) -> Thread:
    """Record a thread parent unless one exists for (channel, subject); returns the one kept."""
    q = Query()
    with store.transaction() as db:
        table = db.table(TABLE)
        existing = table.get((q.channel == thread.channel) & (q.subject == thread.subject))
        if existing:
            return _thread(existing)
        table.insert(asdict(thread))
        return thread


def by_subject(store: StateStore, channel: str, subject: str) -> Thread | None:
    q = Query()
    row = store.snapshot().table(TABLE).get((q.channel == channel) & (q.subject == subject))
    return _thread(row) if row else None


def by_parent(store: StateStore, channel_id: str, ts: str) -> Thread | None:
    q = Query()
    row = store.snapshot().table(TABLE).get((q.channel_id == channel_id) & (q.ts == ts))
    return _thread(row) if row else None
