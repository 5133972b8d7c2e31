"""The kill switch: O3 silences alert posting for a while; monitoring and logging go on.

The runbook's emergency procedure for an alert storm (seed 001, "Kill Switch"), made safe to use:
it always has an end (`--for 2h`, capped by `slack.killswitch_max_hours`) and ends on its own; it is
announced in the alert channels when set and when lifted, reminded there while on, and when it ends
one digest lists every alert it held back. Suppressed alerts are still written to the outbox (state
`suppressed`) and everything else the flows do happens as usual: only posting is held back.

`suppress()` is what the notifier asks for every notice; `tick()` is run every minute by the daemon
(reminders, expiry). `active()` compares with the clock, so an expired switch suppresses nothing
even before the tick that announces its end.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from jobs.actors import DAEMON, Actor, Permission, Subject, authorize
from jobs.delivery_mode import slack_mode
from jobs.notices import Notice
from store import killswitch as store
from store.killswitch import KillSwitchState, SuppressedNotice
from jobs.errors import Conflict, ExitCode, Invalid

if TYPE_CHECKING:
    from jobs.context import Context

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
DIGEST_LINES = 50
#: How a held webhook post is named in the digest's records ("webhook:SEV1"), beside channel posts.
WEBHOOK_PREFIX = "webhook:"
#: What `killswitch on|off` act on: the one switch of this installation.
SUBJECT = Subject("killswitch", "killswitch")


class KillSwitchError(Invalid):
    """A kill switch request that cannot be done, worded with the fix."""


class KillSwitchNotOn(KillSwitchError, Conflict):
    """`killswitch off` while it is off: the state, not the input, is what does not allow it."""

    exit_code = ExitCode.CONFLICT


@dataclass(frozen=True)
class Status:
    state: KillSwitchState | None
    suppressed: int
    webhook_posts: int = 0      # of the runbook's per-severity webhooks, held with those alerts

    def describe(self, ctx: Context) -> str:
        if self.state is None:
            return "kill switch is off: alerts are posted"
        until = local_time(ctx, datetime.fromisoformat(self.state.until))
        webhooks = f" (and {self.webhook_posts} webhook post(s))" if self.webhook_posts else ""
        return (f"kill switch is ON until {until} (set by {self.state.set_by}: {self.state.reason}); "
                f"{self.suppressed} alert(s) held back so far{webhooks}")


def parse_duration(text: str, max_hours: int) -> timedelta:
    """`2h`, `90m`, `1h30m`, `1d`: a positive duration no longer than `max_hours`."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or not match:
        raise KillSwitchError(f"--for {text!r}: expected a duration like 30m, 2h or 1h30m")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    try:
        duration = timedelta(days=days, hours=hours, minutes=minutes)
    except OverflowError:        # more days than a timedelta holds: far over any allowed maximum
        duration = timedelta.max
    if duration <= timedelta(0):
        raise KillSwitchError(f"--for {text!r}: expected a duration greater than zero, like 2h")
    if duration > timedelta(hours=max_hours):
        raise KillSwitchError(f"--for {text!r}: longer than the {max_hours}h allowed (slack.killswitch_max_hours); "
                              f"set it for at most {max_hours}h and set it again if still needed")
    return duration


def status(ctx: Context) -> Status:
    state = store.current(ctx.state)
    if state is not None and state.expired(ctx.now()):
        state = None
    if state is None:
        return Status(None, 0)
    held = [SuppressedNotice(**row) for row in ctx.state.snapshot().table(store.SUPPRESSED).all()]
    webhook_posts = sum(1 for h in held if is_webhook(h))
    return Status(state, len(held) - webhook_posts, webhook_posts)


def active(ctx: Context) -> bool:
    return status(ctx).state is not None


def turn_on(ctx: Context, actor: Actor, duration: timedelta, reason: str) -> KillSwitchState:
    """Set the switch (or extend it: a second `on` replaces expiry and reason) and announce it."""
    authorize(ctx, actor, Permission.KILLSWITCH_SET, "killswitch on", SUBJECT)
    if not reason.strip():
        raise KillSwitchError("killswitch on needs --reason: say why alerts are held back (e.g. \"API outage\")")
    now = ctx.now()
    previous = store.current(ctx.state)
    if previous is not None and previous.expired(now):
        end(ctx, ended_by="expiry")
        previous = None
    state = KillSwitchState(set_by=actor.name, reason=reason.strip(), set_at=now.isoformat(),
                            until=(now + duration).isoformat(),
                            subject=previous.subject if previous else f"KILLSWITCH-{now:%Y%m%dT%H%M%SZ}",
                            last_reminded_at=now.isoformat())
    ctx.ledgers.operations.append("killswitch.on", actor.ledger_id, actor.role_for(Permission.KILLSWITCH_SET) or None,
                                  {"data": {"person": actor.name, "reason": state.reason, "until": state.until,
                                            "extended": previous is not None}})
    store.put(ctx.state, state)
    until = local_time(ctx, now + duration)
    verb = "extended" if previous else "ON"
    _announce(ctx, state, "killswitch.on",
              f":no_bell: Kill switch {verb} by {actor.name} until {until}: {state.reason}. Alert posting is "
              f"suppressed; monitoring and logging continue. Lift it early with {_lift_command(ctx)}.",
              update_original=previous is not None)
    return state


def turn_off(ctx: Context, actor: Actor) -> list[SuppressedNotice]:
    authorize(ctx, actor, Permission.KILLSWITCH_SET, "killswitch off", SUBJECT)
    held = end(ctx, ended_by=actor.name, actor=actor)
    if held is None:
        raise KillSwitchNotOn("the kill switch is not on; nothing to lift (`killswitch status` shows it)")
    return held


def end(ctx: Context, ended_by: str, actor: Actor = DAEMON) -> list[SuppressedNotice] | None:
    """Take the switch down, announce it, and post the one digest of what it suppressed."""
    taken = store.take_down(ctx.state, only_if=lambda _state: True)
    if taken is None:
        return None
    state, held = taken
    ctx.ledgers.operations.append("killswitch.off", actor.ledger_id,
                                  actor.role_for(Permission.KILLSWITCH_SET) or None,
                                  {"data": {"ended_by": ended_by, "set_by": state.set_by, "reason": state.reason,
                                            "suppressed": len(held)}})
    how = "expired" if ended_by == "expiry" else f"lifted by {ended_by}"
    _announce(ctx, state, "killswitch.off",
              f":bell: Kill switch {how}; alerts are posted again. It was set by {state.set_by}: {state.reason}.",
              update_original=True)
    alerts = [h for h in held if not is_webhook(h)]
    _announce(ctx, state, "killswitch.digest", digest_text(ctx, held),
              fields={"suppressed": len(alerts), "webhook_posts": len(held) - len(alerts)})
    return held


def tick(ctx: Context) -> None:
    """Expire the switch when its time is up; remind the channels while it is on."""
    state = store.current(ctx.state)
    if state is None:
        return
    now = ctx.now()
    if state.expired(now):
        end(ctx, ended_by="expiry")
        return
    every = timedelta(minutes=ctx.settings.slack.killswitch_remind_minutes)
    if now - datetime.fromisoformat(state.last_reminded_at) >= every:
        store.mark_reminded(ctx.state, now.isoformat())
        left = datetime.fromisoformat(state.until) - now
        held = status(ctx).suppressed
        _announce(ctx, state, "killswitch.reminder",
                  f":no_bell: Reminder: the kill switch is still on ({state.reason}); {_human(left)} left, "
                  f"{held} alert(s) held back so far.")


def suppress(ctx: Context, notice: Notice, webhooks: tuple[str, ...] = ()) -> bool:
    """True if the switch holds this notice back: its channel post and its `webhooks` posts (the runbook's
    per-severity webhooks), each recorded for the digest, all in one transaction."""
    if not notice.suppressible or not notice.channel:
        return False
    now = ctx.now()
    first_line = notice.text.splitlines()[0] if notice.text else ""
    records = [SuppressedNotice(at=now.isoformat(), kind=notice.kind, subject=notice.subject,
                                channel=channel, first_line=first_line)
               for channel in (notice.channel, *(f"{WEBHOOK_PREFIX}{severity}" for severity in webhooks))]
    return store.suppress_if(ctx.state, lambda state: not state.expired(now), *records)


def is_webhook(held: SuppressedNotice) -> bool:
    return held.channel.startswith(WEBHOOK_PREFIX)


def local_time(ctx: Context, moment: datetime) -> str:
    """A time as every kill switch message shows it: the configured zone, its name and its UTC offset."""
    local = ctx.local(moment)
    return f"{local:%Y-%m-%d %H:%M} {local:%Z} (UTC{local:%z})"


def _lift_command(ctx: Context) -> str:
    """Where a person lifts the switch: `/ops` when alerts go to Slack; in local mode there is no Slack to
    type `/ops` into, so the shell command."""

    return "`/ops killswitch off`" if slack_mode(data_dir=ctx.data_dir) else "`chatops killswitch off --as NAME` (an O3)"


def digest_text(ctx: Context, held: list[SuppressedNotice]) -> str:
    """The digest: the alerts held back, one line each, and how many webhook posts were held with them."""
    alerts = [h for h in held if not is_webhook(h)]
    if not alerts:
        return "Kill switch digest: no alert was suppressed."
    per_webhook: dict[str, int] = {}
    for h in held:
        if is_webhook(h):
            severity = h.channel.removeprefix(WEBHOOK_PREFIX)
            per_webhook[severity] = per_webhook.get(severity, 0) + 1
    webhooks = (" (and {} webhook post(s): {})".format(
        sum(per_webhook.values()), ", ".join(f"{s} {n}" for s, n in sorted(per_webhook.items())))
        if per_webhook else "")
    lines = [f"Kill switch digest: {len(alerts)} alert(s) were suppressed{webhooks}:"]
    lines += [f"• {local_time(ctx, datetime.fromisoformat(h.at))} {h.channel} {h.subject} ({h.kind}): "
              f"{h.first_line}" for h in alerts[:DIGEST_LINES]]
    if len(alerts) > DIGEST_LINES:
        lines.append(f"… and {len(alerts) - DIGEST_LINES} more (all are in outbox.jsonl with state \"suppressed\")")
    return "\n".join(lines)


def _announce(ctx: Context, state: KillSwitchState, kind: str, text: str, update_original: bool = False,
              fields: dict | None = None) -> None:
    channels = ctx.settings.slack.channels
    for channel in dict.fromkeys((channels.ops_critical, channels.ops_alerts)):
        ctx.notifier.send(Notice(kind=kind, subject=state.subject, text=text, channel=channel,
                                 fields={"until": state.until, "reason": state.reason, **(fields or {})},
                                 update_original=update_original, suppressible=False))


def _human(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
