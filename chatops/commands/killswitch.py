"""`killswitch on --for 2h --reason …` / `killswitch off` / `killswitch status` (seed 001, O3 only to change).

A bad duration or reason is `Invalid` (exit 2), `off` while it is off a `Conflict` (exit 7): the surface says so.
"""
from __future__ import annotations

from chatops.registry import Arg, Command, Invocation, Reply
from jobs.actors import Permission


def _on(inv: Invocation) -> Reply:
    from jobs import killswitch

    ctx = inv.ctx
    duration = killswitch.parse_duration(getattr(inv.args, "for"), ctx.settings.slack.killswitch_max_hours)
    killswitch.turn_on(ctx, inv.actor, duration, " ".join(inv.args.reason))
    return Reply(killswitch.status(ctx).describe(ctx))


def _off(inv: Invocation) -> Reply:
    from jobs import killswitch

    held = killswitch.turn_off(inv.ctx, inv.actor)
    return Reply(f"kill switch lifted; the digest of {len(held)} suppressed alert(s) is posted")


def _status(inv: Invocation) -> Reply:
    from jobs import killswitch

    return Reply(killswitch.status(inv.ctx).describe(inv.ctx))


COMMANDS = [
    Command(("killswitch", "on"), "suppress alert posting for a while (monitoring and logging continue)",
            Permission.KILLSWITCH_SET, _on, args=(
                Arg("--for", "how long, e.g. 30m, 2h, 1h30m (ends on its own)", required=True, metavar="DURATION"),
                Arg("--reason", "why alerts are held back", required=True, nargs="+", metavar="TEXT")),
            description="Suppress alert posting (seed 001 kill switch, O3 only). It is announced in the alert "
                        "channels, reminded while on, and ends on its own with one digest of what was held back."),
    Command(("killswitch", "off"), "lift the kill switch now and post the digest of suppressed alerts",
            Permission.KILLSWITCH_SET, _off),
    Command(("killswitch", "status"), "is the kill switch on, until when, and how much it held back",
            Permission.KILLSWITCH_READ, _status, shell_open=True),
]
