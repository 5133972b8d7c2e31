"""The runbook's per-severity incoming webhooks: which alert goes to which, decided when it is queued.

Seed 001 wires its alerts through `SLACK_WEBHOOK_URL_SEV0`, `…_SEV1` and `…_SEV2` (its kill switch empties
them). Here they are a destination of the one outgoing queue (`webhook` items, delivered by
`chatops/webhooks.py`), beside the bot's channels or instead of them for a team without a bot: an
alert carrying a severity (`fields["severity"]`) that the kill switch may hold is also queued for that
severity's webhook, and the kill switch's own announcements go to every configured webhook, so a team
that only has webhooks still hears that alerts are held and reads the digest.

The URL is a secret (anyone holding it can post): the outbox line names only the severity, and the
URL is read from the delivering process's environment when the item is sent. Which severities have a
webhook is the environment's answer; a command run beside the daemon, in a shell without the
variables, reads what the daemon recorded at its start (`Outbox.webhooks()`), as for the bot token.
"""
from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Mapping

from jobs.notices import Notice
from store.outbox import Outbox


class WebhookSeverity(StrEnum):
    """The severities the runbook has a webhook for (SEV3 and NORMAL have none)."""

    SEV0 = "SEV0"
    SEV1 = "SEV1"
    SEV2 = "SEV2"


#: The kill switch's notices: announced to every configured webhook (a webhook-only team must see them).
KILLSWITCH_KINDS = frozenset({"killswitch.on", "killswitch.off", "killswitch.reminder", "killswitch.digest"})


def env_name(severity: WebhookSeverity | str) -> str:
    """The environment variable holding `severity`'s webhook URL (the runbook's names)."""
    return f"SLACK_WEBHOOK_URL_{severity}"


def url(environ: Mapping[str, str], severity: WebhookSeverity | str) -> str:
    """The webhook URL for `severity` in `environ`; "" when unset or emptied (the runbook's old kill switch)."""
    return environ.get(env_name(severity), "").strip()


def configured(environ: Mapping[str, str]) -> tuple[WebhookSeverity, ...]:
    """The severities `environ` has a (non-empty) webhook URL for, in severity order."""
    return tuple(s for s in WebhookSeverity if url(environ, s))


def active(environ: Mapping[str, str] | None = None, data_dir: Path | None = None) -> tuple[WebhookSeverity, ...]:
    """The webhooks alerts are queued for: this process's environment, else what this data directory's
    daemon recorded at its start (a `chatops … --as` beside it queues for the webhooks it delivers)."""
    found = configured(os.environ if environ is None else environ)
    if found or data_dir is None:
        return found
    return tuple(WebhookSeverity(s) for s in Outbox(data_dir).webhooks() if s in WebhookSeverity.__members__)


def targets(notice: Notice, severities: tuple[WebhookSeverity, ...]) -> tuple[WebhookSeverity, ...]:
    """The webhooks `notice` goes to: its severity's for an alert, every one for a kill switch notice."""
    if notice.kind in KILLSWITCH_KINDS:
        return severities
    severity = str(notice.fields.get("severity", ""))
    if notice.suppressible and notice.channel and severity in severities:
        return (WebhookSeverity(severity),)
    return ()
