"""`calendar add|done|list`: the compliance calendar (seed 002 §7), for the shell and `/ops calendar …`.

security.ops changes it; the CEO, COO, chief.staff, security.ops and legal.exec read it from Slack (in the
shell `calendar list` is read-only, open to anyone who can read the data directory). An unreadable
calendar file is `Damaged` (exit 8) with the row, line and column to fix.
"""
from __future__ import annotations

from chatops.registry import Arg, Command, Invocation, Reply
from jobs.actors import Permission

CATEGORIES = ("privacy-review", "soc2-renewal", "credential-rotation", "sla-review")


def _add(inv: Invocation) -> Reply:
    from jobs.compliance.calendar import add_item

    item = add_item(inv.ctx, inv.actor, " ".join(inv.args.item), inv.args.category, inv.args.due, inv.args.owner,
                    " ".join(inv.args.notes or ()))
    return Reply(f"{item.item_id} added: {item.item} ({item.category.value}), due {item.due.isoformat()}, "
                 f"owner {item.owner} (operations/logs/compliance-calendar.md)")


def _done(inv: Invocation) -> Reply:
    from jobs.compliance.calendar import mark_done

    done, following = mark_done(inv.ctx, inv.actor, inv.args.item_id, inv.args.next or "")
    text = f"{done.item_id} done on {done.done_on.isoformat()}: {done.item}"
    if following is not None:
        text += f"; next occurrence {following.item_id} due {following.due.isoformat()}"
    return Reply(text)


def _list(inv: Invocation) -> Reply:
    from jobs.compliance.calendar import list_items, today

    now = today(inv.ctx)
    items = list_items(inv.ctx, include_done=inv.args.all, within=inv.args.within)
    if not items:
        scope = f" due within {inv.args.within} days" if inv.args.within is not None else ""
        return Reply(f"no {'' if inv.args.all else 'open '}compliance calendar items{scope}; security.ops adds them "
                     f"with `chatops calendar add`")
    lines = [f"compliance calendar (today {now.isoformat()}, Pacific):"]
    for item in items:
        left = (item.due - now).days
        when = (f"done {item.done_on.isoformat()}" if not item.is_open else
                f"OVERDUE by {-left} day(s)" if left < 0 else "due today" if left == 0 else f"in {left} day(s)")
        lines.append(f"  {item.item_id:<7} {item.due.isoformat()}  {when:<20} {item.category.value:<19} "
                     f"{item.owner:<13} {item.item}" + (f" ({item.notes})" if item.notes else ""))
    return Reply("\n".join(lines))


def _days(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 3660:
        raise ValueError("expected a number of days from 0 to 3660")
    return value


COMMANDS = [
    Command(("calendar", "add"), "add a compliance calendar item (security.ops)", Permission.CALENDAR_WRITE, _add,
            subject_kind="calendar item", subject_id="new", args=(
                Arg("--item", "what falls due, e.g. \"Stripe SOC 2 report renewal\"", required=True, nargs="+",
                    metavar="TEXT"),
                Arg("--category", "privacy-review (GDPR/CCPA annual review), soc2-renewal, credential-rotation or "
                    "sla-review", required=True, metavar="CATEGORY"),
                Arg("--due", "due date, YYYY-MM-DD (Pacific)", required=True, metavar="DATE"),
                Arg("--owner", "a role (e.g. security.ops, legal.exec) or a person of config.toml [people]",
                    required=True, metavar="OWNER"),
                Arg("--notes", "anything the owner should know", nargs="+", metavar="TEXT")),
            description="Add an item to operations/logs/compliance-calendar.md (seed 002 §7): GDPR/CCPA annual "
                        "reviews, vendor SOC 2 renewals, credential rotations, contract SLA reviews. Categories: "
                        + ", ".join(CATEGORIES) + ". Recorded in the operations ledger.",
            example='calendar add --item Stripe SOC 2 report renewal --category soc2-renewal --due 2027-03-01 --owner security.ops --as lee'),
    Command(("calendar", "done"), "mark a compliance calendar item done (--next DATE adds its next occurrence)",
            Permission.CALENDAR_WRITE, _done, args=(
                Arg("item_id", "the item, e.g. CAL-3", required=True, metavar="CAL-n", subject="calendar item"),
                Arg("--next", "due date of the next occurrence (YYYY-MM-DD), for a recurring item", metavar="DATE")),
            example='calendar done CAL-1 --next 2028-03-01 --as lee'),
    Command(("calendar", "list"), "compliance calendar items by due date (open ones; --all: done too)",
            Permission.CALENDAR_READ, _list, shell_open=True, subject_kind="calendar", subject_id="all", args=(
                Arg("--within", "only items due within this many days (overdue ones included)", type=_days,
                    metavar="DAYS"),
                Arg("--all", "include items already done", flag=True)),
            example='calendar list --within 30'),
]
