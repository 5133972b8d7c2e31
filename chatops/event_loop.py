"""One asyncio event loop, in one thread, for every server and connection of the daemon.

The daemon is threads (the scheduler, the intake's recorder, the queue's workers); its network
front ends are asyncio (Bolt's Socket Mode client or HTTP site, the credit intake's aiohttp site).
They share this one loop instead of each bringing its own thread and loop: one place to start and
stop them, one loop to watch for health, and no thread per server contending for the GIL. The
listeners' work after a Slack ack is not a server and keeps its own loop (`chatops/slack/work.py`
says why: the ack must not wait behind it).

`run(coroutine, timeout)` runs a coroutine on the loop from any other thread and returns its result,
so a service's `start()` and `stop()` stay plain calls.
"""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, Coroutine, TypeVar

if TYPE_CHECKING:
    from chatops.services import Service, Wiring

T = TypeVar("T")
START_TIMEOUT = 10.0


class EventLoop:
    """A service: the loop's thread. Start it before the servers on it; stop it after them."""

    def __init__(self, name: str = "event-loop") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "EventLoop":
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"the {self.name} thread did not start within {START_TIMEOUT:.0f} s")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:    # requests still being answered when stopped: ended before the loop
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Future:
        """Schedule `coroutine` on the loop from any thread; its future, for whoever wants the result."""
        if self._loop is None or not self._loop.is_running():
            coroutine.close()
            raise RuntimeError(f"the {self.name} thread is not running; start it first")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run `coroutine` on the loop and wait up to `timeout` seconds for its result (or its exception)."""
        future = self.submit(coroutine)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError(f"no answer from the event loop within {timeout:.1f} s") from None

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)

    def health(self) -> str:
        if self._thread is not None and not self._thread.is_alive():
            return f"the {self.name} thread has stopped; restart the daemon"
        return "ok"


def services(wiring: "Wiring") -> list["Service"]:
    """The loop comes first among the daemon's services, so it is stopped last."""
    return [wiring.loop]
