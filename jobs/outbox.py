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
from pathlib import Path
from typing import Any, Callable, Mapping

from jobs import killswitch
from jobs.actors import Role
from jobs.context import Context
from jobs.notices import Notice
from store.outbox import Outbox, QueuedState
from jobs.errors import Refused

log = logging.getLogger("chatops.outbox")

#: How a data directory's daemon delivers (`Outbox.set_delivery`), read by the processes beside it.
DELIVERY_SLACK = "slack"
DELIVERY_LOCAL = "local"

SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "NOTION_TOKEN", "GITHUB_TOKEN",
              "CHATOPS_INTAKE_TOKEN", "CHATOPS_LEDGER_KEY_PASSPHRASE", "CHATOPS_WITNESS_KEY_PASSPHRASE")
#: Any other environment variable named like a secret holds one too (secrets come only from the environment).
_SECRET_NAME = re.compile(r"(?:TOKEN|SECRET|PASSWORD|PASSPHRASE|API_KEY|PRIVATE_KEY)$", re.I)
_TOKEN_SHAPES = re.compile(r"\b(?:xox[abposre]-[A-Za-z0-9-]{8,}|xapp-[A-Za-z0-9-]{8,}|gh[pousr]_[A-Za-z0-9]{20,}"
                           r"|github_pat_[A-Za-z0-9_]{20,}|secret_[A-Za-z0-9]{30,}|ntn_[A-Za-z0-9]{30,}"
                           r"|sk-ant-[A-Za-z0-9_-]{20,}|sk-(?:proj-)?[A-Za-z0-9]{32,}|AKIA[0-9A-Z]{16})"
                           r"|-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S)
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
        notice = _masked(notice, secret_values(self.ctx))
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
                        f"compliance notice {notice.kind} may not be sent to {name}: compliance content leaves "
                        f"this machine only as a Slack DM to the CEO (seed 002); {name} reads it with chatops")
        return ([notice.channel] if notice.channel else []) + [f"@{name}" for name in notice.dm_to]


def secret_values(ctx: Context, environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of this process's secrets: the known variables, the ledger passphrase variable the
    config names, and every variable named like a secret. Short values (< 8) are not masked: they
    would mask ordinary words, and no real token is that short."""
    environ = os.environ if environ is None else environ
    names = {*SECRET_ENV, ctx.settings.ledger.passphrase_env, *(k for k in environ if _SECRET_NAME.search(k))}
    return sorted({v for k in names if len(v := environ.get(k, "")) >= 8}, key=len, reverse=True)


def mask_text(text: str, secrets: list[str]) -> str:
    """`text` with the secrets' values and token-shaped strings replaced by `[REDACTED]`."""
    for secret in secrets:
        text = text.replace(secret, "[REDACTED]")
    return _TOKEN_SHAPES.sub("[REDACTED]", text)


def _masked(notice: Notice, secrets: list[str]) -> Notice:
    """Mask every string of the notice (text, fields), wherever it appears."""

    def mask(value: Any) -> Any:
        if isinstance(value, str):
            return mask_text(value, secrets)
        if isinstance(value, dict):
            return {k: mask(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(mask(v) for v in value)
        return value

    return dataclasses.replace(notice, subject=mask(notice.subject), text=mask(notice.text),
                               fields=mask(notice.fields))
