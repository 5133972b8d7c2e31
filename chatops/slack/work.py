"""Where the listeners' work runs after the ack: its own event loop thread and a small thread pool, started
once the acks are done.

Why not in the app's loop: Slack waits for the ack (3 s, and users feel every 100 ms), and every
microsecond the app's loop spends on the work of earlier requests (the registry, the store, answering
through `respond()`, which opens an HTTP session per answer) is a microsecond a later request waits for
its ack. Measured with 50 `/ops help` in flight (bench/slack_bench.py): working in the app's loop and its
default executor (six threads) made the acks 3x slower than a bare Bolt app's; here the app's loop only
parses, verifies and acks. Few work threads on purpose: each runnable thread is one more contender for
the GIL the app's loop needs for the next ack.

Why held until the acks are done: the threads still share one GIL, so work running during a burst takes it
from the acks (measured in one run: with the work started as each request was acked, the daemon's acks were
2.0-2.3x the bare app's at p50; with it held, 0.9-1.3x, and every answer arrives). So work submitted while
requests keep arriving is held in the app's loop, with no hand-over per request, and handed to the work loop
in one batch once no request has arrived for `QUIET` seconds and none waits for its ack; a steady stream
releases it every `MAX_DEFER` seconds, so it is never starved. A lone request's answer waits `QUIET` more.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Coroutine, TypeVar

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from chatops.event_loop import EventLoop

log = logging.getLogger("chatops.slack")
T = TypeVar("T")
WORKERS = 4
RESPOND_TIMEOUT = 10.0
#: Held work is released once no request has arrived for QUIET seconds and none waits for its ack, and
#: at the latest MAX_DEFER seconds after the first request of a burst.
QUIET = 0.02
MAX_DEFER = 0.5


@dataclass
class Burst:
    """When held work may go, decided on the times it is given (the app's loop's clock), so the rule is
    tested without waiting: a burst begins with a request, and is over once none waits for its ack and
    none has arrived for `quiet` seconds, or once it has lasted `max_defer` seconds."""

    quiet: float = QUIET
    max_defer: float = MAX_DEFER
    acking: int = 0              # requests between arrival and ack
    last_arrival: float = 0.0
    since: float | None = None   # when the current burst began; None: no burst

    def arrived(self, now: float) -> bool:
        """A request arrived; True when it begins a burst (then ask `over` every `quiet` seconds)."""
        self.acking += 1
        self.last_arrival = now
        if self.since is None:
            self.since = now
            return True
        return False

    def acked(self) -> None:
        self.acking -= 1

    def over(self, now: float) -> bool:
        """True, and the burst ended, when its held work may go now."""
        if self.since is not None and now - self.since < self.max_defer \
                and (self.acking > 0 or now - self.last_arrival < self.quiet):
            return False
        self.since = None
        return True


class AfterAck:
    """`submit(coroutine)` from the app's loop; the coroutine runs in the work loop once the acks are done,
    and `run(fn, …)` inside it runs blocking work in the pool."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slack-work")
        self._loop = EventLoop("slack-after-ack")
        self._session: aiohttp.ClientSession | None = None
        self._burst = Burst()   # the app's loop alone reads and writes it
        self._held: list[tuple[Coroutine[Any, Any, Any], str]] = []
        self._held_lock = threading.Lock()   # `stop()` (another thread) takes what is still held

    def start(self) -> "AfterAck":
        self._loop.start()
        return self

    def submit(self, work: Coroutine[Any, Any, Any], what: str) -> None:
        """Run `work` in the work loop once the acks are done; a failure is logged with `what` (nobody
        awaits it). Called by the listeners, on the app's loop."""
        with self._held_lock:
            self._held.append((work, what))
        if self._burst.since is None:   # its burst is already over (an event's listener runs after its ack)
            self._release()

    def ack_started(self) -> None:
        """Called by the app's loop when a request arrives (middleware); `ack_done` once it is acked."""
        if self._burst.arrived(time.monotonic()):
            asyncio.get_running_loop().call_later(self._burst.quiet, self._release_when_over)

    def ack_done(self) -> None:
        self._burst.acked()

    def _release_when_over(self) -> None:
        """On the app's loop, every `quiet` seconds of a burst: once it is over, release what it held."""
        if self._burst.over(time.monotonic()):
            self._release()
        else:
            asyncio.get_running_loop().call_later(self._burst.quiet, self._release_when_over)

    def _release(self) -> None:
        """Hand everything held to the work loop in one call (one wake-up of its thread)."""
        with self._held_lock:
            batch, self._held = self._held, []
        if batch:
            self._loop.submit(_start(batch))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Blocking work (the registry, the store) in the pool, awaited from the work loop."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def respond(self, response_url: str, message: dict[str, Any]) -> None:
        """Answer an interaction through its response URL, on one HTTP session kept for all answers (Bolt's
        `respond()` opens a new session, connector and connection for each: measurable CPU per answer,
        taken from the GIL the app's loop needs for the next ack)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=RESPOND_TIMEOUT))
        response = await AsyncWebhookClient(url=response_url, session=self._session).send_dict(message)
        if response.status_code != 200:
            log.warning("answer to an interaction refused: HTTP %s %s", response.status_code, response.body[:200])

    def stop(self, timeout: float = 3.0) -> None:
        """Answers still held are started, as if their burst had ended; answers still being worked on are
        ended with the loop; the kept HTTP session is closed first."""
        deadline = time.monotonic() + timeout
        if self._loop.health() == "ok":
            self._release()
        if self._session is not None and self._loop.health() == "ok":
            try:
                self._loop.run(self._session.close(), timeout)
            except Exception:   # noqa: BLE001 - a session that does not close must not keep the daemon up
                log.warning("the Slack answers' HTTP session did not close cleanly", exc_info=True)
        self._loop.stop(max(0.0, deadline - time.monotonic()))
        self._pool.shutdown(wait=False, cancel_futures=True)


async def _start(batch: list[tuple[Coroutine[Any, Any, Any], str]]) -> None:
    """In the work loop: each piece of work of the batch as a task of its own."""
    for work, what in batch:
        asyncio.get_running_loop().create_task(_logged(work, what))


async def _logged(work: Coroutine[Any, Any, Any], what: str) -> None:
    try:
        await work
    except Exception:   # noqa: BLE001 - nobody awaits the work: its failure is logged, naming it
        log.exception("%s failed after its ack", what)
