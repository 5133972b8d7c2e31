"""How this data directory's messages leave: to Slack, or to the local outbox file nobody sends.

Apart from the queue and the notifier so that anything may ask (the kill switch's wording, the
composition root choosing the notifier, the daemon saying how it delivers) without importing them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from store.outbox import Outbox

#: How a data directory's daemon delivers (`Outbox.set_delivery`), read by the processes beside it.
DELIVERY_SLACK = "slack"
DELIVERY_LOCAL = "local"


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
