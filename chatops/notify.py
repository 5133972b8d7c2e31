"""Slack, the first destination of the outbox: one item is one notice posted, threaded, uploaded.

The queue, its order per subject, retries and parking belong to `jobs.delivery.DeliveryWorker`; this
module is what is Slack about it (`SlackDestination`, a `jobs.delivery.Destination`):

* a new subject in a channel starts a message (its thread parent, remembered in the store);
  later notices about it reply in its thread, and `update_original` also edits the parent
  (`chat.update`); `@name` destinations are DMs opened with `conversations.open`, each notice a new
  message there (thread replies in a DM do not notify); `fields["files"]`
  are uploaded into the thread (files.getUploadURLExternal → upload → files.completeUploadExternal);
* `429` is `RetryLater(after=Retry-After)`: the worker waits exactly that; Slack unreachable is a
  failure of the whole destination, 5xx and auth trouble of the one item (backoff with jitter);
* what Slack refuses for good (e.g. `channel_not_found`) is `Undeliverable` with Slack's error code:
  the worker parks it in the outbox (`chatops outbox status`, `outbox retry`);
* within one run a retried upload does not post the text again (`_posted`, dropped when settled).

The text was scrubbed before it was queued (`jobs.outbox.OutboxNotifier`); nothing here adds any.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatops.render.blocks import notice_blocks, thread_text
from chatops.slack.mode import Mode
from jobs.actors import UnknownPerson
from jobs.context import Context
from jobs.delivery import retry_after
from jobs.delivery import DeliveryWorker, DestinationName, RetryLater, Undeliverable
from jobs.notices import Notice
from jobs.outbox import OutboxNotifier, open_body
from store import slack_threads
from store.outbox import OutboxMessage
from store.slack_threads import Thread

if TYPE_CHECKING:
    from chatops.services import Wiring

log = logging.getLogger("chatops.notify")

RETRYABLE_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout", "invalid_auth", "not_authed", "account_inactive",
                              "token_revoked", "team_added_to_org"})


def web_client(ctx: Context, token: str) -> WebClient:
    """Every Web API client is pointed at `slack.api_url`; retries are the worker's, not the SDK's."""
    return WebClient(token=token, base_url=ctx.settings.slack.api_url, timeout=10, retry_handlers=[],
                     logger=_SDK_LOG)


#: The SDK logs each request and response body at DEBUG; a body can be the CEO's SEV1 DM, which must reach
#: no log (seed 002 §1), so its logger never passes below WARNING whatever the daemon's level.
_SDK_LOG = logging.getLogger("chatops.notify.slack_sdk")
_SDK_LOG.setLevel(logging.WARNING)


def slack_delivery(ctx: Context, client: WebClient, **worker: Any) -> DeliveryWorker:
    """The daemon's Slack worker: the outbox's `slack` items, delivered through `client`."""
    return DeliveryWorker(ctx, SlackDestination(ctx, client), **worker)


def waking_notifier(ctx: Context, worker: DeliveryWorker) -> OutboxNotifier:
    """The notifier for a process that runs `worker`: queues as pending and wakes it at once."""
    return OutboxNotifier(ctx, local=False, on_queued=worker.wake.set)


def services(wiring: "Wiring") -> list[DeliveryWorker]:
    """The outgoing queue's workers, one per destination delivered from this daemon: Slack when in Slack
    mode (in local mode its items are themselves the delivery), and the runbook's per-severity webhooks
    whenever one is set, in either mode. The context's notifier then wakes them; the webhooks set are
    recorded for the commands run beside this daemon (`jobs.webhooks.active`)."""
    from chatops.webhooks import webhook_delivery
    from jobs import webhooks
    from store.outbox import Outbox

    local = wiring.mode == Mode.LOCAL
    workers = [] if local else [slack_delivery(wiring.ctx, web_client(wiring.ctx, wiring.environ["SLACK_BOT_TOKEN"]))]
    configured = webhooks.configured(wiring.environ)
    Outbox(wiring.ctx.data_dir).set_webhooks([str(s) for s in configured])
    if configured:
        log.info("webhooks: alerts of %s also go to %s", ", ".join(configured),
                 ", ".join(webhooks.env_name(s) for s in configured))
        workers.append(webhook_delivery(wiring.ctx, dict(wiring.environ)))
    if workers:
        wiring.ctx.notifier = OutboxNotifier(wiring.ctx, local=local, on_queued=_waker(workers))
    return workers


def _waker(workers: list[DeliveryWorker]) -> Callable[[], None]:
    """What the notifier calls after queueing: wake every worker (each takes only its own items)."""
    def wake() -> None:
        for worker in workers:
            worker.wake.set()
    return wake


@dataclass
class SlackDestination:
    ctx: Context
    client: WebClient
    name: DestinationName = DestinationName.SLACK
    _dm_channels: dict[str, str] = field(default_factory=dict)
    #: item id → what its post answered, while a later step of the same item (an upload) is retried,
    #: so a retry does not post the text a second time
    _posted: dict[str, tuple[dict[str, Any], Thread]] = field(default_factory=dict)

    def settled(self, message: OutboxMessage) -> None:
        self._posted.pop(message.id, None)

    # ---- one item ---------------------------------------------------------------------------

    def deliver(self, message: OutboxMessage) -> dict[str, Any]:
        notice = _notice(open_body(self.ctx, message.item["notice"]))
        to = message.item["to"]
        try:
            if message.id not in self._posted:
                self._posted[message.id] = self._post(notice, to)
            detail, thread = self._posted[message.id]
            self._upload(notice, thread)
            return detail
        except SlackApiError as exc:
            response = exc.response
            error = response.get("error", "") if response is not None else ""
            if response is not None and response.status_code == 429:
                raise RetryLater("rate limited", retry_after(response.headers)) from None
            if response is not None and (response.status_code >= 500 or error in RETRYABLE_ERRORS):
                raise RetryLater(error or f"HTTP {response.status_code}") from None
            raise Undeliverable(error or str(exc).splitlines()[0]) from None
        except (OSError, TimeoutError, ValueError) as exc:   # URLError is an OSError; outages land here
            raise RetryLater(f"{type(exc).__name__}: {exc}", whole_destination=True) from None

    def _post(self, notice: Notice, to: str) -> tuple[dict[str, Any], Thread]:
        store = self.ctx.state
        thread = slack_threads.by_subject(store, to, notice.subject)
        # A DM is always a new message: a bot's reply in a thread of its own DM does not notify the
        # person, and the ACK reminders DMed "again at each interval" must reach them each time.
        if thread is None or to.startswith("@"):
            answer = self.client.chat_postMessage(channel=self._channel(to), text=notice.text,
                                                  blocks=notice_blocks(notice), unfurl_links=False)
            posted = Thread(subject=notice.subject, channel=to, channel_id=answer["channel"], ts=answer["ts"],
                            subject_kind=notice.subject_kind)
            slack_threads.remember(store, posted)   # the first message about a subject stays its parent
            return {"channel": answer["channel"], "ts": answer["ts"]}, posted
        if notice.update_original:
            self.client.chat_update(channel=thread.channel_id, ts=thread.ts, text=notice.text,
                                    blocks=notice_blocks(notice))
        answer = self.client.chat_postMessage(channel=thread.channel_id, thread_ts=thread.ts,
                                              text=thread_text(notice), unfurl_links=False)
        return {"channel": answer["channel"], "ts": answer["ts"], "thread_ts": thread.ts}, thread

    def _channel(self, to: str) -> str:
        if not to.startswith("@"):
            return to
        name = to[1:]
        if name not in self._dm_channels:
            try:
                person = self.ctx.people.by_name(name)
            except UnknownPerson as exc:
                raise Undeliverable(str(exc)) from None
            if not person.slack_id:
                raise Undeliverable(f"{name} has no slack_id in config.toml [people.{name}]; add it to DM them")
            self._dm_channels[name] = self.client.conversations_open(users=person.slack_id)["channel"]["id"]
        return self._dm_channels[name]

    def _upload(self, notice: Notice, thread: Thread) -> None:
        """Charts and reports into the message's thread (getUploadURLExternal → POST → completeUploadExternal).

        The file is read here first: a file that is gone or unreadable is a local problem, logged and
        skipped; only Slack's and the network's failures are retried, so one bad path never holds the queue.
        """
        for item in notice.fields.get("files") or []:
            path = Path(item["path"])
            try:
                content = path.read_bytes()
            except OSError as exc:
                log.error("file %s for %s cannot be read (%s); posting without it", path, notice.subject,
                          exc.strerror or exc)
                continue
            self.client.files_upload_v2(channel=thread.channel_id, thread_ts=thread.ts, content=content,
                                        filename=path.name, title=item.get("title", path.name))



def _notice(body: dict[str, Any]) -> Notice:
    return Notice(**{**body, "dm_to": tuple(body.get("dm_to", ()))})
