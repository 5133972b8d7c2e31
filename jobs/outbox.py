"""The notifier every context gets: a Notice becomes outbox lines, durably, before `send` returns.

Why this lives in `jobs` and not with the Slack delivery in `chatops/notify.py`: every context (a
test's, a CLI command's, the daemon's) needs a working `ctx.notifier`, and `jobs` may not import
`chatops`. Queueing knows nothing of Slack: it scrubs the notice with the scrub engine's rules
(`jobs/outgoing.py`; the outbox file never holds a secret either), applies the kill switch, keeps
compliance content to the DMs seed 002 allows, and writes one `slack` item per address, ordered by
the notice's subject, plus one `webhook` item per runbook webhook it goes to (`jobs/webhooks.py`).
The Slack worker (`jobs/delivery.py` + `chatops/notify.py`) delivers the pending items; in local mode
(no `SLACK_BOT_TOKEN`) they are written as `local` and are themselves the delivery (the webhook items
stay pending: the daemon delivers them in either mode).
"""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Callable, Mapping

from jobs import killswitch, webhooks
from jobs.actors import Role
from jobs.context import Context
from jobs.delivery import DestinationName
from jobs.notices import Notice
from store.outbox import Outbox, QueuedState
from jobs.errors import Refused

log = logging.getLogger("chatops.outbox")

#: How a data directory's daemon delivers (`Outbox.set_delivery`), read by the processes beside it.
DELIVERY_SLACK = "slack"
DELIVERY_LOCAL = "local"

#: Seed 002: "No compliance content leaves the local environment", with one exception it names: "CEO
#: notified immediately — Slack DM". So compliance content goes to Slack only as a DM to the CEO; the COO,
#: legal.exec and security.ops work on it locally (`chatops … --as`).
COMPLIANCE_DM_ROLES = frozenset({Role.CEO})


class NoticeRefused(Refused):
    """A notice that must not go where it was addressed, worded with the fix."""


def slack_mode(environ: Mapping[str, str] | None = None, data_dir: Path | None = None) -> bool:
    """Slack mode when a bot token is set (docs/architecture.md §6), or when the daemon of `data_dir` last ran
    in Slack mode: a `chatops … --as` in a shell without the token, beside that daemon, queues for it
    to deliver instead of writing `local` lines nobody would send. Otherwise the outbox is the delivery."""
    if (os.environ if environ is None else environ).get("SLACK_BOT_TOKEN"):
        return True
    return data_dir is not None and Outbox(data_dir).delivery() == DELIVERY_SLACK


def record_delivery(data_dir: Path, local: bool) -> None:
    """The daemon says how it delivers, at each start; `slack_mode` reads it."""
    Outbox(data_dir).set_delivery(DELIVERY_LOCAL if local else DELIVERY_SLACK)


@dataclasses.dataclass
class OutboxNotifier:
    """`Notifier` for `jobs.notices`: queue durably; `on_queued` wakes a delivery worker if one runs."""

    ctx: Context
    local: bool
    on_queued: Callable[[], None] = lambda: None

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.ctx.data_dir)

    def send(self, notice: Notice) -> None:
        notice = self.ctx.outgoing.notice(notice)   # the scrub engine's rules, before anything is written
        destinations = self._destinations(notice)
        if not destinations:
            raise NoticeRefused(f"notice {notice.kind} about {notice.subject} has no channel and no dm_to; "
                                f"give it one of them")
        hooks = webhooks.targets(notice, webhooks.active(data_dir=self.ctx.data_dir))
        held = killswitch.suppress(self.ctx, notice, hooks)
        if held:
            state = QueuedState.SUPPRESSED
            log.info("kill switch on: %s about %s held back", notice.kind, notice.subject)
        else:
            state = QueuedState.LOCAL if self.local else QueuedState.PENDING
        body = dataclasses.asdict(notice)
        at = self.ctx.now().isoformat()
        self.outbox.queue([{"notice": body, "to": to} for to in destinations], state, at,
                          dest=DestinationName.SLACK, subject=notice.subject)
        if hooks:   # the webhooks are delivered by the daemon even in local mode (a team without a bot)
            self.outbox.queue([{"notice": body, "severity": str(s), "to": webhooks.env_name(s)} for s in hooks],
                              QueuedState.SUPPRESSED if held else QueuedState.PENDING, at,
                              dest=DestinationName.WEBHOOK, subject=notice.subject)
        if state == QueuedState.LOCAL:
            log.info("outbox (local mode) %s: %s", " ".join(destinations), notice.text.splitlines()[0] if notice.text else "")
        if (state == QueuedState.PENDING) or (hooks and not held):
            self.on_queued()

    def _destinations(self, notice: Notice) -> list[str]:
        if notice.fields.get("sensitivity") == "compliance":
            if notice.channel:
                raise NoticeRefused(f"compliance notice {notice.kind} about {notice.subject} was addressed to "
                                    f"{notice.channel}; compliance content goes only to DMs (seed 002)")
            for name in notice.dm_to:
                person = self.ctx.people.by_name(name)
                if not person.roles & COMPLIANCE_DM_ROLES:
                    raise NoticeRefused(
                        f"compliance notice {notice.kind} may not be sent to {name}: compliance content leaves "
                        f"this machine only as a Slack DM to the CEO (seed 002); {name} reads it with chatops")
        return ([notice.channel] if notice.channel else []) + [f"@{name}" for name in notice.dm_to]
