"""What people do with the outgoing queue: see it per destination, send parked items back, park one.

`status` reads; `retry` and `park` change what the workers do, so they pass the one gate
(`outbox.manage`, O3) with the item as subject ("outbox item", id) and are recorded in the operations
ledger. Both only append to `outbox.jsonl` (a `requeued` or an `undeliverable` line), so the file
stays the one history of every item, and a running daemon's worker sees the change at its next look.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from jobs.actors import Actor, Permission, Subject, authorize
from jobs.context import Context
from jobs.delivery import DestinationName
from jobs.errors import Conflict, Invalid, NotFound
from store.outbox import FinalOp, Outbox, OutboxMessage

SUBJECT_KIND = "outbox item"
MIN_PREFIX = 8   # an item may be named by the start of its id, as long as it is this long and unique


@dataclass(frozen=True)
class ParkedItem:
    id: str
    subject: str
    to: str                  # the address within the destination (Slack: "#ops-alerts", "@ana")
    queued_at: str
    parked_at: str
    message: str             # the destination's refusal, or the reason of the person who parked it
    parked_by: str           # "" when the destination refused it


@dataclass(frozen=True)
class DestinationStatus:
    destination: str
    pending: int
    oldest_pending_at: str             # "" when nothing is pending
    oldest_pending_seconds: float | None
    parked: tuple[ParkedItem, ...]
    last_error: str
    last_error_at: str
    failing_since: str                 # "" when the last attempt went through (or none failed)

    def describe(self) -> list[str]:
        age = "" if self.oldest_pending_seconds is None else \
            f", the oldest queued {_age(self.oldest_pending_seconds)} ago ({self.oldest_pending_at})"
        lines = [f"{self.destination}: {self.pending} pending{age}; {len(self.parked)} parked"]
        if self.failing_since:
            lines.append(f"  failing since {self.failing_since}: {self.last_error} (last at {self.last_error_at})")
        elif self.last_error:
            lines.append(f"  delivering; the last error was at {self.last_error_at}: {self.last_error}")
        for item in self.parked:
            who = f"parked by {item.parked_by}" if item.parked_by else "refused"
            lines.append(f"  parked {item.id} {item.subject} → {item.to} at {item.parked_at}, {who}: {item.message}")
        return lines


def status(ctx: Context) -> list[DestinationStatus]:
    """Every destination that has items or a worker's report, Slack always; in `DestinationName` order."""
    outbox = Outbox(ctx.data_dir)
    messages = outbox.messages()
    health = outbox.health()
    now = ctx.now()
    names = [d.value for d in DestinationName]
    present = {DestinationName.SLACK.value} | {m.dest for m in messages} | set(health)
    ordered = [n for n in names if n in present] + sorted(present - set(names))
    report = []
    for name in ordered:
        mine = [m for m in messages if m.dest == name]
        pending = [m for m in mine if m.pending]
        seen = health.get(name, {})
        oldest = pending[0].at if pending else ""
        report.append(DestinationStatus(
            destination=name, pending=len(pending), oldest_pending_at=oldest,
            oldest_pending_seconds=(now - datetime.fromisoformat(oldest)).total_seconds() if oldest else None,
            parked=tuple(_parked(m) for m in mine if m.parked),
            last_error=seen.get("last_error", ""), last_error_at=seen.get("last_error_at", ""),
            failing_since=seen.get("failing_since", "")))
    return report


def as_json(ctx: Context, report: list[DestinationStatus]) -> dict:
    return {"delivery": Outbox(ctx.data_dir).delivery(), "destinations": [asdict(d) for d in report]}


def delivery_note(ctx: Context) -> str:
    """How this directory's daemon last delivered, when that explains the counts ("" otherwise)."""
    mode = Outbox(ctx.data_dir).delivery()
    if mode == "local":
        return "the daemon here runs in local mode: messages are written as `local` lines and not sent to Slack"
    if not mode:
        return "no daemon has run on this data directory yet: nothing is being delivered"
    return ""


def retry(ctx: Context, actor: Actor, item: str | None, all_parked: bool) -> list[OutboxMessage]:
    """Send the parked `item` (or every parked item) back to its destination's queue; returns them."""
    if bool(item) == all_parked:
        raise Invalid("give one ITEM id or --all-parked (not both, not neither); "
                      "`chatops outbox status` lists the parked items")
    authorize(ctx, actor, Permission.OUTBOX_MANAGE, "outbox retry", Subject(SUBJECT_KIND, item or "all"))
    outbox = Outbox(ctx.data_dir)
    if all_parked:
        chosen = [m for m in outbox.messages() if m.parked]
    else:
        found = find(outbox, item)
        if not found.parked:
            raise Conflict(f"outbox item {found.id} is {_state(found)}, not parked; only parked items are retried")
        chosen = [found]
    if not chosen:
        return []
    at = ctx.now().isoformat()
    for message in chosen:
        outbox.finish(message.id, FinalOp.REQUEUED, at, {"by": actor.name})
    ctx.ledgers.operations.append("outbox.retried", actor.ledger_id, actor.role_for(Permission.OUTBOX_MANAGE) or None,
                                  {"data": {"person": actor.name, "items": [m.id for m in chosen],
                                            "subjects": sorted({m.subject for m in chosen})}})
    return chosen


def park(ctx: Context, actor: Actor, item: str, reason: str) -> OutboxMessage:
    """Stop retrying the pending `item`: it is parked with `reason` until someone retries it."""
    authorize(ctx, actor, Permission.OUTBOX_MANAGE, "outbox park", Subject(SUBJECT_KIND, item))
    if not reason.strip():
        raise Invalid("outbox park needs --reason: say why this item must not be sent now")
    outbox = Outbox(ctx.data_dir)
    found = find(outbox, item)
    if not found.pending:
        raise Conflict(f"outbox item {found.id} is {_state(found)}; only pending items are parked")
    outbox.finish(found.id, FinalOp.UNDELIVERABLE, ctx.now().isoformat(),
                  {"error": reason.strip(), "parked_by": actor.name})
    ctx.ledgers.operations.append("outbox.parked", actor.ledger_id, actor.role_for(Permission.OUTBOX_MANAGE) or None,
                                  {"data": {"person": actor.name, "item": found.id, "subject": found.subject,
                                            "reason": reason.strip()}})
    return found


def find(outbox: Outbox, item: str) -> OutboxMessage:
    """The item whose id is `item`, or starts with it (at least MIN_PREFIX characters, unique)."""
    item = item.strip().lower()
    matches = [m for m in outbox.messages() if m.id == item or (len(item) >= MIN_PREFIX and m.id.startswith(item))]
    if not matches:
        raise NotFound(f"outbox item {item!r} is not in {outbox.path}; `chatops outbox status` lists the parked "
                       f"items with their ids")
    if len(matches) > 1:
        raise Invalid(f"outbox item {item!r} names {len(matches)} items; give more of its id")
    return matches[0]


def _parked(message: OutboxMessage) -> ParkedItem:
    final = message.final
    return ParkedItem(id=message.id, subject=message.subject, to=str(message.item.get("to", "")),
                      queued_at=message.at, parked_at=final.get("at", ""), message=final.get("error", ""),
                      parked_by=final.get("parked_by", ""))


def _state(message: OutboxMessage) -> str:
    if message.pending:
        return "pending"
    if message.parked:
        return "already parked"
    if message.final.get("op") == FinalOp.SENT:
        return "already sent"
    return f"{message.state.value} (not for delivery)"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
