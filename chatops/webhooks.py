"""The runbook's per-severity incoming webhooks as a destination of the outgoing queue.

Which alert goes to which webhook is decided when it is queued (`jobs/webhooks.py`); the queue's
order, retries and parking are `jobs.delivery.DeliveryWorker`'s. This is what is webhook about it
(`WebhookDestination`): one item is one POST of the notice (text and blocks, without buttons: a
webhook message cannot be answered by the bot) to the URL in `SLACK_WEBHOOK_URL_<SEV>`, read from the
daemon's environment when it is sent (the outbox never holds the URL, which is a secret).

How Slack's answers are taken, as for the bot's posts:
* `429` is `RetryLater(after=Retry-After)`: the worker waits exactly that, for every webhook;
* unreachable (connection refused, timeout) is a failure of the whole destination; `5xx` of the item
  (backoff with jitter);
* any other `4xx` (`no_service`: the webhook was removed; `invalid_token`, `channel_not_found`,
  `channel_is_archived`, `action_prohibited`, `invalid_payload`) is refused for good: `Undeliverable`
  with Slack's answer and the fix, parked in the outbox (`chatops outbox status`, `outbox retry`);
* a webhook whose variable is unset in the daemon's environment is parked the same way, naming it.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping

from chatops.render.blocks import notice_blocks
from jobs import webhooks
from jobs.context import Context
from jobs.delivery import DeliveryWorker, DestinationName, RetryLater, Undeliverable, retry_after
from jobs.notices import Notice
from store.outbox import OutboxMessage

log = logging.getLogger("chatops.webhooks")

TIMEOUT = 10.0          # seconds for one POST; a slower webhook is treated as unreachable
MAX_ANSWER = 200        # characters of Slack's answer kept in a parked item's message


@dataclass
class WebhookDestination:
    ctx: Context
    environ: Mapping[str, str]
    name: DestinationName = DestinationName.WEBHOOK

    def settled(self, message: OutboxMessage) -> None:
        """Nothing is kept between retries: one item is one POST."""

    def deliver(self, message: OutboxMessage) -> dict[str, Any]:
        severity = str(message.item["severity"])
        variable = webhooks.env_name(severity)
        url = webhooks.url(self.environ, severity)
        if not url:
            raise Undeliverable(f"{variable} is not set in the daemon's environment; set it (chatops service "
                                f"install writes it to the env file) and send the item again with "
                                f"`chatops outbox retry {message.id}`")
        notice = Notice(**{**message.item["notice"], "dm_to": tuple(message.item["notice"].get("dm_to", ()))})
        body = json.dumps({"text": notice.text, "unfurl_links": False,
                           "blocks": [b for b in notice_blocks(notice) if b.get("type") != "actions"]}).encode()
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:   # noqa: S310 (https from config)
                return {"webhook": variable, "status": response.status}
        except urllib.error.HTTPError as exc:
            answer = _answer(exc)
            if exc.code == 429:
                raise RetryLater(f"{variable}: rate limited", retry_after(dict(exc.headers.items()))) from None
            if exc.code >= 500:
                raise RetryLater(f"{variable}: HTTP {exc.code} {answer}".rstrip()) from None
            raise Undeliverable(f"{variable}: HTTP {exc.code} {answer}; {_fix(answer, variable)}") from None
        except (OSError, TimeoutError, ValueError) as exc:   # URLError is an OSError: the webhook is unreachable
            reason = getattr(exc, "reason", exc)
            raise RetryLater(f"{variable}: unreachable ({type(exc).__name__}: {reason})",
                             whole_destination=True) from None


def _answer(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read(MAX_ANSWER).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _fix(answer: str, variable: str) -> str:
    """What a person does about a webhook Slack refused for good."""
    if answer in ("no_service", "invalid_token", "no_team", "team_disabled"):
        return (f"the webhook was removed or revoked: create a new incoming webhook, set {variable} to it, "
                f"restart the daemon and run `chatops outbox retry --all-parked`")
    if answer in ("channel_not_found", "channel_is_archived", "action_prohibited"):
        return f"the webhook's channel cannot be posted to: fix the channel or point {variable} at another webhook"
    return "the item is parked; `chatops outbox status` shows it, `chatops outbox retry ITEM` sends it again"


def webhook_delivery(ctx: Context, environ: Mapping[str, str], **worker: Any) -> DeliveryWorker:
    """The daemon's webhook worker: the outbox's `webhook` items, posted to the URLs in `environ`."""
    return DeliveryWorker(ctx, WebhookDestination(ctx, environ), **worker)
