"""Where the listeners' work runs after the ack: its own event loop thread and a small thread pool.

Why not in the app's loop: Slack waits for the ack (3 s, and users feel every 100 ms), and every
microsecond the app's loop spends on the work of earlier requests (the registry, the store, answering
through `respond()`, which opens an HTTP session per answer) is a microsecond a later request waits for
its ack. Measured with 50 `/ops help` in flight (bench/slack_bench.py): working in the app's loop and its
default executor (six threads) made the acks 3x slower than a bare Bolt app's; here the app's loop only
parses, verifies and acks. Few work threads on purpose: each runnable thread is one more contender for
the GIL the app's loop needs for the next ack.
"""
from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Awaitable, Callable, TypeVar

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from chatops.event_loop import EventLoop

log = logging.getLogger("chatops.slack")
T = TypeVar("T")
WORKERS = 4
RESPOND_TIMEOUT = 10.0
#: Work waits for pending acks at most this long (then runs anyway: a steady stream must not starve it),
#: looking every DEFER_STEP seconds.
MAX_DEFER = 0.5
DEFER_STEP = 0.002


class AfterAck:
    """`submit(coroutine)` from any thread; the coroutine runs in the work loop, `run(fn, …)` inside it
    runs blocking work in the pool."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slack-work")
        self._loop = EventLoop("slack-after-ack")
        self._session: aiohttp.ClientSession | None = None
        self._acking = 0          # requests the app's loop is between receiving and acking (its thread alone writes)

    def start(self) -> "AfterAck":
        self._loop.start()
        return self

    def submit(self, work: Awaitable[Any], what: str) -> Future:
        """Run `work` in the work loop; a failure is logged with `what` (nobody awaits it)."""
        future = self._loop.submit(work)   # type: ignore[arg-type]
        future.add_done_callback(lambda done: _log_failure(done, what))
        return future

    def ack_started(self) -> None:
        """Called by the app's loop when a request arrives (middleware); `ack_done` once it is acked."""
        self._acking += 1

    def ack_done(self) -> None:
        self._acking -= 1

    async def _after_the_acks(self) -> None:
        """Wait (at most `MAX_DEFER`) while requests are waiting for their ack: work yields to acks."""
        deadline = time.monotonic() + MAX_DEFER
        while self._acking > 0 and time.monotonic() < deadline:
            await asyncio.sleep(DEFER_STEP)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Blocking work (the registry, the store) in the pool, awaited from the work loop, started once no
        request waits for its ack."""
        await self._after_the_acks()
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def respond(self, response_url: str, message: dict[str, Any]) -> None:
        """Answer an interaction through its response URL, on one HTTP session kept for all answers (Bolt's
        `respond()` opens a new session, connector and connection for each: measurable CPU per answer,
        taken from the GIL the app's loop needs for the next ack)."""
        await self._after_the_acks()
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=RESPOND_TIMEOUT))
        response = await AsyncWebhookClient(url=response_url, session=self._session).send_dict(message)
        if response.status_code != 200:
            log.warning("answer to an interaction refused: HTTP %s %s", response.status_code, response.body[:200])

    def stop(self, timeout: float = 3.0) -> None:
        """Answers still being worked on are ended with the loop; the kept HTTP session is closed first."""
        deadline = time.monotonic() + timeout
        if self._session is not None and self._loop.health() == "ok":
            try:
                self._loop.run(self._session.close(), timeout)
            except Exception:   # noqa: BLE001 - a session that does not close must not keep the daemon up
                log.warning("the Slack answers' HTTP session did not close cleanly", exc_info=True)
        self._loop.stop(max(0.0, deadline - time.monotonic()))
        self._pool.shutdown(wait=False, cancel_futures=True)


def _log_failure(done: Future, what: str) -> None:
    if done.cancelled():
        return
    error = done.exception()
    if error is not None:
        log.error("%s failed after its ack", what, exc_info=error)
