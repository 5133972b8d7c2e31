"""The notifier every context gets: a Notice becomes outbox lines, durably, before `send` returns.

Why this lives in `jobs` and not with the Slack delivery in `chatops/notify.py`: every context (a
test's, a CLI command's, the daemon's) needs a working `ctx.notifier`, and `jobs` may not import
`chatops`. Queueing knows nothing of Slack: it applies the kill switch, keeps compliance content to
the DMs seed 002 allows, masks token-shaped strings, and writes one outbox line per destination.
`chatops/notify.py` delivers the pending lines to Slack; in local mode (no `SLACK_BOT_TOKEN`) the
lines are written as `local` and are themselves the delivery.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import re
from typing import Any, Callable, Mapping

from jobs import killswitch
from jobs.actors import Role
from jobs.context import Context
from jobs.notices import Notice
from store.outbox import Outbox, QueuedState

log = logging.getLogger("chatops.outbox")

SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "NOTION_TOKEN", "GITHUB_TOKEN")
_TOKEN_SHAPES = re.compile(r"\b(?:xox[abposre]-[A-Za-z0-9-]{8,}|xapp-[A-Za-z0-9-]{8,}|gh[pousr]_[A-Za-z0-9]{20,}"
                           r"|secret_[A-Za-z0-9]{30,}|ntn_[A-Za-z0-9]{30,})")
#: Seed 002: compliance content leaves the local environment only as DMs to these roles.
COMPLIANCE_DM_ROLES = frozenset({Role.CEO, Role.COO, Role.LEGAL_EXEC, Role.SECURITY_OPS})


class NoticeRefused(Exception):
    """A notice that must not go where it was addressed, worded with the fix."""


def slack_mode(environ: Mapping[str, str] | None = None) -> bool:
    """Slack mode when a bot token is set (ARCHITECTURE §6); otherwise the outbox is the delivery."""
    return bool((os.environ if environ is None else environ).get("SLACK_BOT_TOKEN"))


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
        notice = _masked(notice)
        destinations = self._destinations(notice)
        if not destinations:
            raise NoticeRefused(f"notice {notice.kind} about {notice.subject} has no channel and no dm_to; "
                                f"give it one of them")
        if killswitch.suppress(self.ctx, notice):
            state = QueuedState.SUPPRESSED
            log.info("kill switch on: %s about %s held back", notice.kind, notice.subject)
        else:
            state = QueuedState.LOCAL if self.local else QueuedState.PENDING
        body = dataclasses.asdict(notice)
        self.outbox.queue([{"notice": body, "to": to} for to in destinations], state, self.ctx.now().isoformat())
        if state == QueuedState.LOCAL:
            log.info("outbox (local mode) %s: %s", " ".join(destinations), notice.text.splitlines()[0] if notice.text else "")
        elif state == QueuedState.PENDING:
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
                        f"compliance notice {notice.kind} may not be sent to {name}: only people with role "
                        f"ceo, coo, legal.exec or security.ops receive compliance content (seed 002)")
        return ([notice.channel] if notice.channel else []) + [f"@{name}" for name in notice.dm_to]


def _masked(notice: Notice) -> Notice:
    """Replace token-shaped strings and the configured secrets' values, wherever they appear."""
    secrets = [v for k in SECRET_ENV if len(v := os.environ.get(k, "")) >= 8]

    def mask(value: Any) -> Any:
        if isinstance(value, str):
            for secret in secrets:
                value = value.replace(secret, "[REDACTED]")
            return _TOKEN_SHAPES.sub("[REDACTED]", value)
        if isinstance(value, dict):
            return {k: mask(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(mask(v) for v in value)
        return value

    return dataclasses.replace(notice, text=mask(notice.text), fields=mask(notice.fields))
