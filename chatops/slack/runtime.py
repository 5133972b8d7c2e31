"""The Slack connection (a daemon service, `chatops/slack/services.py`) and `start_slack` for tests and benches.

The Bolt app is asyncio; the daemon is threads. So the app gets its own event loop in one thread
(Socket Mode client or aiohttp site) that only takes requests and acks them; the listeners' work runs
in a second loop (`chatops/slack/work.py`). The outbox's Slack worker is another thread with a plain
WebClient (`chatops.notify`); `start_slack` starts both, as the daemon's services do, and swaps the
context's notifier for one that wakes the worker, so a flow's `ctx.notifier.send()` is delivered at
once rather than at the next poll.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Mapping

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from chatops.notify import slack_delivery, waking_notifier, web_client
from chatops.slack.app import build_app
from chatops.slack.interface import SlackInterface
from chatops.slack.mode import Mode
from chatops.slack.work import AfterAck
from jobs.context import Context
from jobs.delivery import DeliveryWorker

log = logging.getLogger("chatops.slack")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 3.0


@dataclass
class SlackConnection:
    """The app's event loop thread: Socket Mode or HTTP; `port` is the bound port in HTTP mode."""

    iface: SlackInterface
    mode: Mode
    environ: Mapping[str, str]
    http_port: int | None = None
    http_host: str = "127.0.0.1"
    port: int | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return f"slack-{self.mode}"

    def health(self) -> str:
        if self._thread is not None and not self._thread.is_alive():
            return f"the Slack {self.mode} connection has stopped; restart the daemon"
        return "ok"

    def start(self) -> "SlackConnection":
        self.iface.ctx.outgoing.engine()   # answers pass the outgoing scrub: its rules load now, not on the loop
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"the Slack {self.mode} connection did not come up within {START_TIMEOUT:.0f} s")
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:   # reported to start(); the daemon prints it
            self._error = exc
            self._ready.set()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:   # listeners still answering when stopped: end them before the loop
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _main(self) -> None:
        after = AfterAck().start()         # the listeners' work, after each ack: off this loop
        try:
            await self._serve(after)
        finally:
            after.stop()

    async def _serve(self, after: AfterAck) -> None:
        self._stop = asyncio.Event()
        token = self.environ["SLACK_BOT_TOKEN"]
        if self.mode == Mode.SOCKET:
            app = build_app(self.iface, token, signing_secret=None, after=after)
            handler = AsyncSocketModeHandler(app, self.environ["SLACK_APP_TOKEN"])
            await handler.connect_async()
            self._ready.set()
            await self._stop.wait()
            await handler.close_async()
            return
        app = build_app(self.iface, token, signing_secret=self.environ["SLACK_SIGNING_SECRET"], after=after)
        runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.http_host, self.http_port or 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()


@dataclass
class SlackRuntime:
    connection: SlackConnection
    delivery: DeliveryWorker

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Both sides are told at once and waited for together, within `timeout`: the daemon must stop
        within 5 s even while Slack holds a request open (the worker's own client waits up to 10 s).
        A message cut off there was not marked sent, so it is sent again at the next start."""
        deadline = time.monotonic() + timeout
        self.delivery.stop_event.set()
        self.delivery.wake.set()
        self.connection.stop(timeout)
        self.delivery.stop(max(0.0, deadline - time.monotonic()))


def start_slack(iface: SlackInterface, mode: Mode, environ: Mapping[str, str], http_port: int | None = None,
                http_host: str = "127.0.0.1") -> SlackRuntime:
    """Start delivery first (so nothing queued while connecting waits), then the connection."""
    delivery = slack_delivery(iface.ctx, web_client(iface.ctx, environ["SLACK_BOT_TOKEN"]))
    iface.ctx.notifier = waking_notifier(iface.ctx, delivery)
    delivery.start()
    try:
        connection = SlackConnection(iface, mode, environ, http_port, http_host).start()
    except BaseException:
        delivery.stop()
        raise
    return SlackRuntime(connection, delivery)


def host_for(environ: Mapping[str, str]) -> str:
    """HTTP mode binds 127.0.0.1 (a TLS proxy in front); CHATOPS_HTTP_HOST=0.0.0.0 to listen on all."""
    return environ.get("CHATOPS_HTTP_HOST", "127.0.0.1")
