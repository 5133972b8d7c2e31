"""The daemon's GitHub delivery worker: export PR comments queued in the outbox (jobs/export/github_comments.py).

It runs when the github provider is configured (`[export.github] repo`) and GITHUB_TOKEN is set, in
Slack and local mode alike: the comments go to GitHub whatever carries the notices. Without them there
is nothing to deliver to, and `chatops outbox status` shows any `github` items waiting.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.delivery import DeliveryWorker

if TYPE_CHECKING:
    from chatops.services import Wiring


def services(wiring: "Wiring") -> list[DeliveryWorker]:
    if not wiring.ctx.settings.export.github.repo or not wiring.environ.get("GITHUB_TOKEN"):
        return []
    from jobs.export.github_comments import github_delivery

    return [github_delivery(wiring.ctx, wiring.environ)]
