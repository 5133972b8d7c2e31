"""`outbox status [--json]` / `outbox retry ITEM|--all-parked` / `outbox park ITEM --reason …`.

The one queue of what leaves the machine (`store/outbox.py`), per destination: what waits, since
when, what is parked and why, the last error. `status` reads only (shell-open); `retry` and `park`
are O3's and are recorded in the operations ledger (jobs/outbox_admin.py).
"""
from __future__ import annotations

import json

from chatops.registry import Arg, Command, Invocation, Reply
from jobs.actors import Permission

#: jobs.outbox_admin.SUBJECT_KIND, spelt here so that declaring the commands loads no queue code (`help`).
ITEM = "outbox item"


def _status(inv: Invocation) -> Reply:
    from jobs import outbox_admin

    report = outbox_admin.status(inv.ctx)
    if inv.args.json:
        return Reply(json.dumps(outbox_admin.as_json(inv.ctx, report), indent=2, ensure_ascii=False))
    note = outbox_admin.delivery_note(inv.ctx)
    return Reply("\n".join([*([note] if note else []), *(line for d in report for line in d.describe())]))


def _retry(inv: Invocation) -> Reply:
    from jobs import outbox_admin

    items = outbox_admin.retry(inv.ctx, inv.actor, inv.args.item, inv.args.all_parked)
    if not items:
        return Reply("no parked items; nothing to retry")
    listed = ", ".join(f"{m.id} ({m.subject})" for m in items)
    return Reply(f"{len(items)} parked item(s) sent back to the queue, in their order: {listed}")


def _park(inv: Invocation) -> Reply:
    from jobs import outbox_admin

    item = outbox_admin.park(inv.ctx, inv.actor, inv.args.item, " ".join(inv.args.reason))
    return Reply(f"outbox item {item.id} ({item.subject}) parked; `chatops outbox retry {item.id}` sends it again")


COMMANDS = [
    Command(("outbox", "status"), "what waits to be sent, per destination: pending, oldest, parked and why, last error",
            Permission.OUTBOX_READ, _status, shell_open=True,
            args=(Arg("--json", "print the status as JSON", flag=True),),
            subject_kind="outbox", subject_id="outbox"),
    Command(("outbox", "retry"), "send parked outbox items back to their destination's queue (O3)",
            Permission.OUTBOX_MANAGE, _retry, args=(
                Arg("item", "the parked item's id (or its first 8+ characters), from outbox status",
                    metavar="ITEM", subject=ITEM),
                Arg("--all-parked", "every parked item, in queue order", flag=True)),
            description="Send parked items (refused for good by their destination, or parked by a person) back "
                        "to the queue; they go out in their original order within their subject. Recorded in "
                        "the operations ledger."),
    Command(("outbox", "park"), "stop retrying a pending outbox item until someone retries it (O3)",
            Permission.OUTBOX_MANAGE, _park, args=(
                Arg("item", "the pending item's id (or its first 8+ characters)", required=True, metavar="ITEM",
                    subject=ITEM),
                Arg("--reason", "why it must not be sent now", required=True, nargs="+", metavar="TEXT")),
            description="Park a pending item: its destination's worker stops retrying it and later items about "
                        "its subject go on. Recorded in the operations ledger; `outbox retry` sends it again."),
]
