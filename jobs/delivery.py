"""Delivery of the outbox: one worker per destination, ordered per subject, retried, parked, never dead.

The outbox (`store/outbox.py`) is the one durable queue of what leaves the machine; every item names
its destination and its subject. A `Destination` knows how to hand one item to its service (Slack
now; GitHub, Notion and webhooks implement the same protocol) and says how it failed; the
`DeliveryWorker` owns everything else, the same for every destination:

* **Order per subject.** Items about one subject go out in file order: a later item never overtakes
  an earlier one. A subject whose head is waiting for a retry holds only itself; other subjects go on.
* **Retry-After, exactly.** A destination that says "not before N s" (`RetryLater(after=N)`: Slack's
  429) pauses the whole destination for exactly N s; its limit is per service, not per subject.
* **Backoff with jitter, bounded.** Other temporary failures wait `base · 2^(n-1)` capped at
  `MAX_BACKOFF`, drawn uniformly from its upper half (so subjects that failed together do not retry in
  lock-step, and no wait is shorter than half its step nor longer than the cap). A failure of the
  service as a whole (`whole_destination=True`: unreachable) backs off the destination; one of a
  single item backs off that item's subject.
* **Parked, with the destination's message.** What the destination refuses for good (`Undeliverable`:
  a 4xx-class answer), and what this code fails on, is marked `undeliverable` with the message and
  stays in the outbox, where `chatops outbox status` shows it and `outbox retry` sends it back.
* **Never dies of one item.** Any exception of one item parks that item; a failed pass is logged and
  the next pass starts.

A crash between delivery and the `sent` line re-sends the item at the next start: at least once,
never zero; a destination that answered is never sent the item again once `sent` is written.
Time comes from `clock` and waits go through `wait`, so tests move time without sleeping.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable, Mapping, Protocol

from jobs.context import Context
from store.outbox import FinalOp, Outbox, OutboxMessage, fold

log = logging.getLogger("chatops.delivery")

POLL = 1.0            # seconds between looks at the file for what other processes queued
BASE_BACKOFF = 1.0
MAX_BACKOFF = 60.0


class DestinationName(StrEnum):
    """Where an outbox item may go. Slack is delivered now; the others are the issues that follow."""

    SLACK = "slack"
    GITHUB = "github"
    NOTION = "notion"
    WEBHOOK = "webhook"


class RetryLater(Exception):
    """Not delivered for now. `after`: the seconds the destination asked for (Retry-After), else None
    for backoff; `whole_destination`: the service itself is failing, not this one item."""

    def __init__(self, reason: str, after: float | None = None, whole_destination: bool = False) -> None:
        super().__init__(reason)
        self.after = after
        self.whole_destination = whole_destination


class Undeliverable(Exception):
    """The destination refused the item for good; the text is its message (e.g. `channel_not_found`)."""


class Destination(Protocol):
    """One service things are sent to. `deliver` sends one item or raises `RetryLater` / `Undeliverable`;
    it returns what the service answered (kept on the `sent` line: ids, timestamps). `settled` is told
    when the worker is done with an item, so a destination can drop what it kept between retries."""

    name: DestinationName

    def deliver(self, message: OutboxMessage) -> dict[str, Any]: ...

    def settled(self, message: OutboxMessage) -> None: ...


def backoff(failures: int, rng: random.Random) -> float:
    """The wait after the `failures`-th failure in a row: the upper half of a doubling step, capped."""
    step = min(MAX_BACKOFF, BASE_BACKOFF * 2.0 ** (failures - 1))
    return rng.uniform(step / 2, step)


@dataclass
class _Subject:
    """Retry state of one subject's head item."""

    head: str = ""          # the item it is about: when another item heads the subject, it starts afresh
    failures: int = 0
    not_before: float = 0.0


@dataclass
class DeliveryWorker:
    """The worker of one destination: a thread in the daemon, a `Service` (start, stop, health)."""

    ctx: Context
    destination: Destination
    wait: Callable[[float], bool] | None = None   # returns True when stopping; tests inject one with `clock`
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    stop_event: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    _messages: dict[str, OutboxMessage] = field(default_factory=dict)
    _offset: int = 0
    _subjects: dict[str, _Subject] = field(default_factory=dict)
    _paused_until: float = 0.0      # the whole destination: Retry-After, or an outage's backoff
    _outage_failures: int = 0
    _failing: bool | None = None    # the health file says so (None: not read yet); cleared at the next delivery
    _thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return f"{self.destination.name}-delivery"

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.ctx.data_dir)

    # ---- the Service seam ----------------------------------------------------------------------

    def start(self) -> "DeliveryWorker":
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def health(self) -> str:
        """"ok", or what is wrong in one line (read by the daemon's log and `outbox status`)."""
        if self._thread is not None and not self._thread.is_alive() and not self.stop_event.is_set():
            return f"{self.name} thread has stopped; restart the daemon"
        report = self.outbox.health().get(self.destination.name, {})
        return f"failing since {report['failing_since']}: {report.get('last_error', '')}" if report.get(
            "failing_since") else "ok"

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.deliver_pending()
            except Exception:   # the one worker of a destination must outlive any bad pass; the log says why
                log.exception("%s: delivery pass failed; trying again in %.0f s", self.name, POLL)
            self.wake.wait(POLL)
            self.wake.clear()

    # ---- the queue -----------------------------------------------------------------------------

    def pending(self) -> list[OutboxMessage]:
        """This destination's pending items in file order (re-read from where the last read ended)."""
        lines, self._offset = self.outbox.read(self._offset)
        if any(line.get("op") == FinalOp.REQUEUED and line.get("id") not in self._messages for line in lines):
            # a parked item sent back (`outbox retry`): settled items are not kept, so read it all again
            self._messages.clear()
            lines, self._offset = self.outbox.read(0)
        fold(lines, self._messages)
        for key in [k for k, m in self._messages.items() if not m.pending or m.dest != self.destination.name]:
            del self._messages[key]
        return list(self._messages.values())

    def deliver_pending(self) -> int:
        """Deliver until nothing is pending (or stopping); returns how many items were settled."""
        settled = 0
        while not self.stop_event.is_set():
            heads: dict[str, OutboxMessage] = {}
            for message in self.pending():
                heads.setdefault(message.subject, message)
            for subject in [s for s, state in self._subjects.items() if s not in heads or heads[s].id != state.head]:
                del self._subjects[subject]   # settled, or parked by a person: the next head owes no wait
            if not heads:
                return settled
            now = self.clock()
            ready = [] if now < self._paused_until else [
                m for m in heads.values() if self._subjects.get(m.subject, _Subject()).not_before <= now]
            if not ready:   # every head waits: for the destination's pause, or for its subject's backoff
                soonest = self._paused_until if now < self._paused_until else min(
                    self._subjects[s].not_before for s in heads if s in self._subjects)
                if self._wait(max(0.0, soonest - now)):
                    return settled
                continue
            for message in ready:
                if self.stop_event.is_set() or self.clock() < self._paused_until:
                    break
                settled += self._attempt(message)
        return settled

    def _attempt(self, message: OutboxMessage) -> int:
        """One try of one subject's head; 1 when it was settled (sent or parked)."""
        try:
            detail = self.destination.deliver(message)
        except RetryLater as exc:
            self._retry_later(message, exc)
            return 0
        except Undeliverable as exc:
            log.error("%s refused item %s (%s) for good: %s; parked in the outbox", self.destination.name,
                      message.id, message.subject, exc)
            self._finish(message, FinalOp.UNDELIVERABLE, {"error": str(exc)})
            return 1
        except Exception as exc:   # an item this code cannot send: park it, never stop the queue
            log.exception("item %s (%s) cannot be delivered to %s; parked in the outbox", message.id,
                          message.subject, self.destination.name)
            self._finish(message, FinalOp.UNDELIVERABLE, {"error": f"{type(exc).__name__}: {exc}"})
            return 1
        self._finish(message, FinalOp.SENT, detail)
        return 1

    def _retry_later(self, message: OutboxMessage, exc: RetryLater) -> None:
        now = self.clock()
        if exc.after is not None:   # the destination said when: exactly that, for all of it
            delay = exc.after
            self._paused_until = now + delay
        elif exc.whole_destination:
            self._outage_failures += 1
            delay = backoff(self._outage_failures, self.rng)
            self._paused_until = now + delay
        else:
            state = self._subjects.setdefault(message.subject, _Subject(head=message.id))
            state.failures += 1
            delay = backoff(state.failures, self.rng)
            state.not_before = now + delay
        log.warning("%s: item %s (%s) not delivered (%s); retrying in %.1f s", self.destination.name,
                    message.id, message.subject, exc, delay)
        self._report({"last_error": str(exc), "last_error_at": self.ctx.now().isoformat(),
                      "failing_since": self._since() or self.ctx.now().isoformat()})

    def _since(self) -> str:
        return self.outbox.health().get(self.destination.name, {}).get("failing_since", "") \
            if self._failing is not False else ""

    def _report(self, health: dict[str, Any]) -> None:
        self._failing = bool(health.get("failing_since"))
        try:
            self.outbox.record_health(self.destination.name, health)
        except OSError as exc:   # the report is for people; delivery goes on without it
            log.error("%s: could not write the outbox health file: %s", self.name, exc)

    def _wait(self, seconds: float) -> bool:
        """Wait up to `seconds`; True when stopping. Woken early by new items (`wake`), which may belong
        to a subject that need not wait; at most `POLL` for those other processes queue."""
        if self.wait is not None:
            return self.wait(seconds)
        self.wake.wait(min(seconds, POLL))
        self.wake.clear()
        return self.stop_event.is_set()

    def _finish(self, message: OutboxMessage, op: FinalOp, detail: dict[str, Any]) -> None:
        self.outbox.finish(message.id, op, self.ctx.now().isoformat(), detail)
        self._messages.pop(message.id, None)
        self._subjects.pop(message.subject, None)
        self.destination.settled(message)
        if op == FinalOp.SENT:
            self._outage_failures = 0
            previous = self.outbox.health().get(self.destination.name, {}) if self._failing is not False else {}
            if previous.get("failing_since"):   # an earlier failure, of this worker or of the last daemon's
                self._report({**previous, "failing_since": "", "recovered_at": self.ctx.now().isoformat()})
            self._failing = False


def retry_after(headers: Mapping[str, Any]) -> float:
    """A destination's `Retry-After` in seconds, whatever the header's case; 1 s when absent or not a number."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, (list, tuple)) and value else value
            try:
                return max(0.0, float(str(value).strip()))
            except ValueError:
                log.warning("Retry-After %r is not a number of seconds; waiting 1 s", value)
    return 1.0
