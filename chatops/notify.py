"""Delivery of the outbox to Slack: in order, at least once, nothing lost across outages and restarts.

The queueing side (`jobs.outbox.OutboxNotifier`, the `Notifier` every context has) writes each
message to `outbox.jsonl` and fsyncs it before `send` returns. `SlackDelivery` is the one worker
thread of the daemon that reads pending messages in file order and delivers them:

* a new subject in a channel starts a message (its thread parent, remembered in the store);
  later notices about it reply in its thread, and `update_original` also edits the parent
  (`chat.update`); `@name` destinations are DMs opened with `conversations.open`, each notice a new
  message there (thread replies in a DM do not notify); `fields["files"]`
  are uploaded into the thread (files.getUploadURLExternal → upload → files.completeUploadExternal);
* `429` waits exactly the `Retry-After` Slack asks for; outages, 5xx and auth trouble are retried
  with exponential backoff (1 s doubling to `MAX_BACKOFF`); the head of the queue is retried until it
  goes, so later messages never overtake it;
* a message Slack refuses for good (e.g. `channel_not_found`), or one this code fails on, is marked
  `undeliverable` with the error, stays in the outbox (`jq 'select(.op=="undeliverable")' outbox.jsonl`),
  and the queue moves on; the worker thread itself never dies of one message;
* after delivery the message is marked `sent`. A crash between the two re-sends it on restart:
  at least once, never zero. Within one run a retried upload does not post the text again.

Other processes (`chatops … --as`) append to the same file; the worker notices within `POLL`
seconds, or at once when its own process queued (`wake`).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatops.render.blocks import notice_blocks, thread_text
from jobs.actors import UnknownPerson
from jobs.context import Context
from jobs.notices import Notice
from jobs.outbox import OutboxNotifier
from store import slack_threads
from store.outbox import FinalOp, Outbox, OutboxMessage, fold
from store.slack_threads import Thread

log = logging.getLogger("chatops.notify")

POLL = 1.0
MAX_BACKOFF = 60.0
RETRYABLE_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout", "invalid_auth", "not_authed", "account_inactive",
                              "token_revoked", "team_added_to_org"})


class Undeliverable(Exception):
    """Slack refused the message for good; the text is Slack's error code or ours."""


class Retry(Exception):
    """Delivery failed for now; `after` seconds is what Slack asked for (429) or None for backoff."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


def web_client(ctx: Context, token: str) -> WebClient:
    """Every Web API client is pointed at `slack.api_url`; retries are the worker's, not the SDK's."""
    return WebClient(token=token, base_url=ctx.settings.slack.api_url, timeout=10, retry_handlers=[])


@dataclass
class SlackDelivery:
    ctx: Context
    client: WebClient
    wait: Callable[[float], bool] | None = None       # returns True when stopping; tests record waits
    stop_event: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    _messages: dict[str, OutboxMessage] = field(default_factory=dict)
    _offset: int = 0
    _dm_channels: dict[str, str] = field(default_factory=dict)
    #: message id → what its post answered, while a later step of the same message (an upload) is retried,
    #: so a retry does not post the text a second time
    _posted: dict[str, tuple[dict[str, Any], Thread]] = field(default_factory=dict)
    _thread: threading.Thread | None = None

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.ctx.data_dir)

    def notifier(self) -> OutboxNotifier:
        """The notifier for this process's context: queues as pending and wakes this worker."""
        return OutboxNotifier(self.ctx, local=False, on_queued=self.wake.set)

    def start(self) -> "SlackDelivery":
        self._thread = threading.Thread(target=self.run, name="slack-delivery", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def pending(self) -> list[OutboxMessage]:
        lines, self._offset = self.outbox.read(self._offset)
        fold(lines, self._messages)
        for key in [k for k, m in self._messages.items() if not m.pending]:
            del self._messages[key]
        return list(self._messages.values())

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.deliver_pending()
            except Exception:   # the one delivery thread must outlive any one bad read; the log says why
                log.exception("outbox delivery pass failed; trying again in %.0f s", POLL)
            self.wake.wait(POLL)
            self.wake.clear()

    def deliver_pending(self) -> int:
        """Deliver everything pending now, in order; returns how many were settled."""
        settled = 0
        for message in self.pending():
            if not self._deliver_with_retry(message):
                break
            settled += 1
        return settled

    def _deliver_with_retry(self, message: OutboxMessage) -> bool:
        failures = 0
        while not self.stop_event.is_set():
            try:
                detail = self.deliver(message)
                self._finish(message, FinalOp.SENT, detail)
                return True
            except Retry as exc:
                failures += 1
                delay = exc.after if exc.after is not None else min(MAX_BACKOFF, 2.0 ** (failures - 1))
                log.warning("delivery of %s to %s failed (%s); retrying in %.0f s", message.id,
                            message.item["to"], exc, delay)
                if self._wait(delay):
                    return False
            except Undeliverable as exc:
                log.error("Slack refused message %s to %s for good: %s; kept in outbox as undeliverable",
                          message.id, message.item["to"], exc)
                self._finish(message, FinalOp.UNDELIVERABLE, {"error": str(exc)})
                return True
            except Exception as exc:   # a message this code cannot send: keep it, never stop the queue
                log.exception("message %s to %s cannot be delivered; kept in outbox as undeliverable",
                              message.id, message.item.get("to"))
                self._finish(message, FinalOp.UNDELIVERABLE, {"error": f"{type(exc).__name__}: {exc}"})
                return True
        return False

    def _wait(self, seconds: float) -> bool:
        if self.wait is not None:
            return self.wait(seconds)
        return self.stop_event.wait(seconds)

    def _finish(self, message: OutboxMessage, op: FinalOp, detail: dict[str, Any]) -> None:
        self.outbox.finish(message.id, op, self.ctx.now().isoformat(), detail)
        self._messages.pop(message.id, None)
        self._posted.pop(message.id, None)

    # ---- one message ---------------------------------------------------------------------------

    def deliver(self, message: OutboxMessage) -> dict[str, Any]:
        notice = _notice(message.item["notice"])
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
                raise Retry("rate limited", retry_after(response.headers)) from None
            if response is not None and (response.status_code >= 500 or error in RETRYABLE_ERRORS):
                raise Retry(error or f"HTTP {response.status_code}") from None
            raise Undeliverable(error or str(exc).splitlines()[0]) from None
        except (OSError, TimeoutError, ValueError) as exc:   # URLError is an OSError; outages land here
            raise Retry(f"{type(exc).__name__}: {exc}") from None

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


def retry_after(headers: Mapping[str, Any]) -> float:
    """Slack's `Retry-After` in seconds, whatever the header's case; 1 s when absent or not a number."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, (list, tuple)) and value else value
            try:
                return max(0.0, float(str(value).strip()))
            except ValueError:
                log.warning("Retry-After %r is not a number of seconds; waiting 1 s", value)
    return 1.0


def _notice(body: dict[str, Any]) -> Notice:
    return Notice(**{**body, "dm_to": tuple(body.get("dm_to", ()))})
