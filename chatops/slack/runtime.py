"""The Slack connection (a daemon service, `chatops/slack/services.py`) and `start_slack` for tests and benches.

The Bolt app is asyncio; the daemon is threads. So the app (Socket Mode client or aiohttp site) runs
on the daemon's one event loop (`chatops/event_loop.py`), where it only takes requests and acks them;
the listeners' work runs in a second loop (`chatops/slack/work.py`). The outbox's Slack worker is another thread with a plain
WebClient (`chatops.notify`); `start_slack` starts both, as the daemon's services do, and swaps the
context's notifier for one that wakes the worker, so a flow's `ctx.notifier.send()` is delivered at
once rather than at the next poll.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from chatops.event_loop import EventLoop
from chatops.notify import slack_delivery, waking_notifier, web_client
from chatops.slack.app import build_app
from chatops.slack.interface import SlackInterface
from chatops.slack.mode import Mode
from chatops.slack.work import AfterAck
from jobs.delivery import DeliveryWorker

log = logging.getLogger("chatops.slack")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 3.0


@dataclass
class SlackConnection:
    """The app on the daemon's event loop: Socket Mode or HTTP; `port` is the bound port in HTTP mode."""

    iface: SlackInterface
    mode: Mode
    environ: Mapping[str, str]
    loop: EventLoop
    http_port: int | None = None
    http_host: str = "127.0.0.1"
    port: int | None = None
    _after: AfterAck | None = None
    _close: Callable[[], Awaitable[None]] | None = None

    @property
    def name(self) -> str:
        return f"slack-{self.mode}"

    def health(self) -> str:
        if self.loop.health() != "ok":
            return f"the Slack {self.mode} connection has stopped with the event loop; restart the daemon"
        return "ok"

    def start(self) -> "SlackConnection":
        self.iface.ctx.outgoing.engine()   # answers pass the outgoing scrub: its rules load now, not on the loop
        self._after = AfterAck().start()   # the listeners' work, after each ack: off the servers' loop
        try:
            self._close = self.loop.run(self._open(self._after), START_TIMEOUT)
        except BaseException:
            self._after.stop()
            raise
        return self

    def stop(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        try:
            if self._close is not None:
                self.loop.run(self._close(), timeout)
        except Exception:   # noqa: BLE001 - a connection that does not close must not keep the daemon up
            log.exception("the Slack %s connection did not close cleanly", self.mode)
        finally:
            self._close = None
            if self._after is not None:
                self._after.stop(max(0.0, deadline - time.monotonic()))

    async def _open(self, after: AfterAck) -> Callable[[], Awaitable[None]]:
        """Connect (Socket Mode) or listen (HTTP); returns how to close it again."""
        token = self.environ["SLACK_BOT_TOKEN"]
        if self.mode == Mode.SOCKET:
            app = build_app(self.iface, token, signing_secret=None, after=after)
            handler = AsyncSocketModeHandler(app, self.environ["SLACK_APP_TOKEN"])
            await handler.connect_async()
            return handler.close_async
        app = build_app(self.iface, token, signing_secret=self.environ["SLACK_SIGNING_SECRET"], after=after)
        runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.http_host, self.http_port or 0)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = runner.addresses[0][1]
        return runner.cleanup


@dataclass
class SlackRuntime:
    connection: SlackConnection
    delivery: DeliveryWorker
    loop: EventLoop

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Both sides are told at once and waited for together, within `timeout`: the daemon must stop
        within 5 s even while Slack holds a request open (the worker's own client waits up to 10 s).
        A message cut off there was not marked sent, so it is sent again at the next start."""
        deadline = time.monotonic() + timeout
        self.delivery.stop_event.set()
        self.delivery.wake.set()
        self.connection.stop(timeout)
        self.delivery.stop(max(0.0, deadline - time.monotonic()))
        self.loop.stop(max(0.0, deadline - time.monotonic()))


def start_slack(iface: SlackInterface, mode: Mode, environ: Mapping[str, str], http_port: int | None = None,
                http_host: str = "127.0.0.1") -> SlackRuntime:
    """Start the event loop and delivery first (so nothing queued while connecting waits), then the
    connection on that loop, as the daemon's services do."""
    loop = EventLoop().start()
    delivery = slack_delivery(iface.ctx, web_client(iface.ctx, environ["SLACK_BOT_TOKEN"]))
    iface.ctx.notifier = waking_notifier(iface.ctx, delivery)
    delivery.start()
    try:
        connection = SlackConnection(iface, mode, environ, loop, http_port, http_host).start()
    except BaseException:
        delivery.stop()
        loop.stop()
        raise
    return SlackRuntime(connection, delivery, loop)


def host_for(environ: Mapping[str, str]) -> str:
    """HTTP mode binds 127.0.0.1 (a TLS proxy in front); CHATOPS_HTTP_HOST=0.0.0.0 to listen on all."""
    return environ.get("CHATOPS_HTTP_HOST", "127.0.0.1")
