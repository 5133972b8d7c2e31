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
from typing import TYPE_CHECKING, Callable

from jobs.actors import Role
from jobs.notices import Notice
from store.outbox import Outbox, QueuedState
from jobs.errors import Refused

if TYPE_CHECKING:
    from jobs.context import Context

log = logging.getLogger("chatops.outbox")

#: Seed 002: "No compliance content leaves the local environment", with one exception it names: "CEO
#: notified immediately — Slack DM". So compliance content goes to Slack only as a DM to the CEO; the COO,
#: legal.exec and security.ops work on it locally (`chatops … --as`).
COMPLIANCE_DM_ROLES = frozenset({Role.CEO})


class NoticeRefused(Refused):
    """A notice that must not go where it was addressed, worded with the fix."""


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
        # Imported on the first notice: every command builds a context with this notifier, and most
        # send nothing (bench/cli_bench.py times them as whole processes).
        from jobs import killswitch, webhooks
        from jobs.delivery import DestinationName

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
        body = sealed_body(self.ctx, notice) if notice.fields.get("sealed") else dataclasses.asdict(notice)
        at = self.ctx.now().isoformat()
        self.outbox.queue([{"notice": body, "to": to} for to in destinations], state, at,
                          dest=DestinationName.SLACK, subject=notice.subject)
        if hooks:   # the webhooks are delivered by the daemon even in local mode (a team without a bot)
            self.outbox.queue([{"notice": body, "severity": str(s), "to": webhooks.env_name(s)} for s in hooks],
                              QueuedState.SUPPRESSED if held else QueuedState.PENDING, at,
                              dest=DestinationName.WEBHOOK, subject=notice.subject)
        if state == QueuedState.LOCAL:
            first = "(sealed)" if "sealed" in body else notice.text.splitlines()[0] if notice.text else ""
            log.info("outbox (local mode) %s %s about %s: %s", " ".join(destinations), notice.kind, notice.subject,
                     first)
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


def sealed_body(ctx: Context, notice: Notice) -> dict:
    """A notice that carries compliance content (`fields["sealed"]`, the SEV1 DM to the CEO) as it is queued:
    its kind and subject in clear, everything else a Fernet token under the incident key, so the outbox
    file holds no content; `open_body` decrypts it only to send it (seed 002 §1)."""
    from jobs.compliance.service import sealer   # only a sealed notice pays for the compliance area
    import json

    plain = json.dumps(dataclasses.asdict(notice), default=str).encode()
    return {"kind": notice.kind, "subject": notice.subject, "sealed": sealer(ctx).seal(plain)}


def open_body(ctx: Context, body: dict) -> dict:
    """The notice body of an outbox item, decrypted when it was sealed (`sealed_body`)."""
    if "sealed" not in body:
        return body
    from jobs.compliance.service import sealer
    import json

    return json.loads(sealer(ctx).open(body["sealed"], f"the outbox item about {body.get('subject', '?')}"))
