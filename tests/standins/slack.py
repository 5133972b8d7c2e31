"""A Slack stand-in on 127.0.0.1: the Web API methods chatops calls, and a Socket Mode endpoint.

The real slack_sdk / slack_bolt clients are pointed at it with `base_url` (`SlackStandIn.api_url`).
It records every call (method, parameters, token, time), answers the way Slack does, and can be made
to misbehave: `rate_limit(n, retry_after)` answers the next n calls 429 with `Retry-After`,
`fail(n)` answers 500, `refuse(n, error)` answers `ok: false` with Slack's error for good (HTTP 200), `go_down()` / `come_up()` close and reopen the port (connection refused).
`auth.test` sends the granted `scopes` as `x-oauth-scopes`; `conversations.list` lists `channels`
(name → the bot is a member): tests take one away to see `chatops doctor` name it.

Socket Mode: `apps.connections.open` (with an `xapp-` token) hands out `ws://…/socket`; the socket
greets with `hello`, `deliver(type, payload)` sends an envelope and `wait_ack(envelope_id)` returns
the client's acknowledgement (its payload and how long it took). Interaction `response_url`s point
at `/respond/<n>`, whose posts are recorded too.

It runs its own event loop in a thread, so synchronous tests and the code under test (which has
its own loops and threads) use it as they would use Slack.
"""
from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-standin-bot-token"
APP_TOKEN = "xapp-standin-app-token"
BOT_USER = "UBOTSTANDIN"
SCOPES = ("chat:write", "chat:write.public", "commands", "im:write", "im:history", "channels:history",
          "groups:history", "files:write", "channels:read", "groups:read")
CHANNELS = ("ops-critical", "ops-alerts", "ops-review", "security-incidents")


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    token: str
    at: float                 # time.monotonic() when it arrived
    status: int               # what the stand-in answered


@dataclass
class Ack:
    payload: dict[str, Any] | None
    seconds: float


@dataclass
class SlackStandIn:
    host: str = "127.0.0.1"
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)     # posts to response_url
    acks: dict[str, Ack] = field(default_factory=dict)
    #: what `auth.test` says the bot token may do (its `x-oauth-scopes` header); a test removes one to
    #: see the doctor name it
    scopes: set[str] = field(default_factory=lambda: set(SCOPES))
    #: the workspace's channels, name → whether the bot is a member (`conversations.list`)
    channels: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(CHANNELS, True))
    _faults: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    _upload_faults: list[int] = field(default_factory=list)
    _refusals: list[str] = field(default_factory=list)
    _released: asyncio.Event | None = None
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    _sent_at: dict[str, float] = field(default_factory=dict)
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _site: web.TCPSite | None = None
    _thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "SlackStandIn":
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="slack-standin", daemon=True)
        self._thread.start()
        assert ready.wait(10), "stand-in did not start"
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def go_down(self) -> None:
        """Close the port: clients get connection refused, as in an outage."""
        asyncio.run_coroutine_threadsafe(self._site.stop(), self._loop).result(10)

    def come_up(self) -> None:
        async def reopen() -> None:
            self._site = web.TCPSite(self._runner, self.host, self.port)
            await self._site.start()

        asyncio.run_coroutine_threadsafe(reopen(), self._loop).result(10)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    # ---- misbehaviour ----------------------------------------------------------------------------

    def rate_limit(self, times: int, retry_after: int | str = 1, header: str = "Retry-After") -> None:
        """The next `times` calls answer 429; `header` as Slack's edge spells it (HTTP/2 proxies send
        `retry-after`)."""
        with self._cond:
            self._faults += [(429, {header: str(retry_after)})] * times

    def hang(self, times: int) -> None:
        """The next `times` API calls are recorded (status 0) and never answered until `stop()`: a Slack
        that accepts the connection and then says nothing."""
        with self._cond:
            self._faults += [(0, {})] * times

    def fail_uploads(self, times: int, status: int = 500) -> None:
        """The next `times` file uploads (the POST to the upload URL) answer `status`."""
        with self._cond:
            self._upload_faults += [status] * times

    def refuse(self, times: int, error: str = "not_in_channel") -> None:
        """The next `times` API calls answer `{"ok": false, "error": error}` with HTTP 200, as Slack refuses
        what it will never accept (the bot not in the channel, a message too long, …)."""
        with self._cond:
            self._refusals += [error] * times

    def fail(self, times: int, status: int = 500) -> None:
        with self._cond:
            self._faults += [(status, {})] * times

    # ---- reading what happened -------------------------------------------------------------------

    def calls_to(self, method: str, ok_only: bool = True) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    def wait_for(self, predicate: Callable[["SlackStandIn"], Any], timeout: float = 10.0) -> Any:
        """Poll `predicate(self)` until truthy or the deadline; returns its value or raises."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(self)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"stand-in: condition not met within {timeout} s; calls: "
                                         f"{[c.method for c in self.calls][-20:]}")
                self._cond.wait(min(left, 0.05))

    @staticmethod
    def channel_id(name: str) -> str:
        return "C" + hashlib.sha1(name.encode()).hexdigest()[:9].upper()

    # ---- Socket Mode -----------------------------------------------------------------------------

    def deliver(self, envelope_type: str, payload: dict[str, Any], wait_connected: float = 10.0) -> str:
        """Send one envelope to the connected Socket Mode client; returns its envelope id."""
        self.wait_for(lambda s: s._sockets, wait_connected)
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": envelope_type, "payload": payload,
                    "accepts_response_payload": envelope_type != "events_api", "retry_attempt": 0,
                    "retry_reason": ""}

        async def send() -> None:
            self._sent_at[envelope_id] = time.monotonic()
            await self._sockets[-1].send_str(json.dumps(envelope))

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(10)
        return envelope_id

    def open_app_home(self, user: str, heading: str) -> str:
        """Open the App Home tab as `user` (Socket Mode); the text of the published section under `heading`."""
        before = len(self.calls_to("views.publish"))
        self.deliver("events_api", {"token": "x", "team_id": "T0STANDIN", "api_app_id": "A0STANDIN",
                                    "type": "event_callback", "event_id": f"EvHome{user}{before}",
                                    "event_time": 1700000000,
                                    "event": {"type": "app_home_opened", "user": user, "channel": "D1",
                                              "tab": "home"}})
        published = self.wait_for(lambda s: s.calls_to("views.publish")[before:])[0]
        assert published.params["user_id"] == user
        [section] = [b["text"]["text"] for b in published.params["view"]["blocks"]
                     if b["type"] == "section" and b["text"]["text"].startswith(heading)]
        return section

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> Ack:
        return self.wait_for(lambda s: s.acks.get(envelope_id), timeout)

    # ---- server ----------------------------------------------------------------------------------

    async def _start(self) -> None:
        self._released = asyncio.Event()
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{n}", self._respond)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port)
        await self._site.start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        self._released.set()
        for ws in list(self._sockets):
            await ws.close()
        await self._runner.cleanup()

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        body = await request.read()
        if request.content_type == "application/json":
            params = json.loads(body or b"{}")
        elif request.content_type == "multipart/form-data":
            params = {}
        else:
            params = dict(parse_qsl(body.decode()))
        params.update(request.query)
        for key in ("blocks", "view"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or params.get("token", "")
        with self._cond:
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None and fault[0] == 0:
            self._record(Call(method, params, token, time.monotonic(), 0))
            await self._released.wait()
            return web.json_response({"ok": False, "error": "internal_error"}, status=503)
        if fault is not None:
            status, headers = fault
            self._record(Call(method, params, token, time.monotonic(), status))
            error = "ratelimited" if status == 429 else "internal_error"
            return web.json_response({"ok": False, "error": error}, status=status, headers=headers)
        with self._cond:
            refusal = self._refusals.pop(0) if self._refusals and fault is None else None
        answer = {"ok": False, "error": refusal} if refusal else self._answer(method, params, token)
        self._record(Call(method, params, token, time.monotonic(), 200))
        headers = {"x-oauth-scopes": ",".join(sorted(self.scopes))} if method == "auth.test" else None
        return web.json_response(answer, headers=headers)

    def _answer(self, method: str, params: dict[str, Any], token: str) -> dict[str, Any]:
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": f"ws://{self.host}:{self.port}/socket"}
        if token != BOT_TOKEN:
            return {"ok": False, "error": "invalid_auth"}
        if method == "auth.test":
            return {"ok": True, "url": "https://standin.slack.com/", "team": "Stand-in", "user": "chatops",
                    "team_id": "T0STANDIN", "user_id": BOT_USER, "bot_id": "B0STANDIN"}
        if method == "chat.postMessage":
            channel = params.get("channel", "")
            if channel == "#nowhere":
                return {"ok": False, "error": "channel_not_found"}
            channel_id = self.channel_id(channel) if channel.startswith("#") else channel
            ts = f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": channel_id, "ts": ts,
                    "message": {"text": params.get("text", ""), "ts": ts, "thread_ts": params.get("thread_ts")}}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts"), "text": params.get("text")}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + params.get("users", "").upper()[:10]}}
        if method in ("views.open", "views.publish"):
            return {"ok": True, "view": {"id": "V" + uuid.uuid4().hex[:8].upper(), **(params.get("view") or {})}}
        if method == "files.getUploadURLExternal":
            file_id = "F" + uuid.uuid4().hex[:9].upper()
            return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else files or []
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}
        if method == "conversations.list":
            return {"ok": True, "channels": [{"id": self.channel_id(f"#{name}"), "name": name, "is_member": member}
                                             for name, member in self.channels.items()],
                    "response_metadata": {"next_cursor": ""}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        return {"ok": False, "error": "unknown_method"}

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._cond:
            status = self._upload_faults.pop(0) if self._upload_faults else 200
        self._record(Call("upload", {"file_id": request.match_info["file_id"], "bytes": len(body),
                                     "sha256": hashlib.sha256(body).hexdigest()}, "", time.monotonic(), status))
        return web.Response(text=f"OK - {status}" if status == 200 else "upload failed", status=status)

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._cond:
            self.responses.append({"n": request.match_info["n"], "at": time.monotonic(), **body})
            self._cond.notify_all()
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1,
                                      "connection_info": {"app_id": "A0STANDIN"}}))
        with self._cond:
            self._sockets.append(ws)
            self._cond.notify_all()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                envelope_id = data.get("envelope_id")
                if envelope_id:
                    with self._cond:
                        sent = self._sent_at.get(envelope_id, time.monotonic())
                        self.acks[envelope_id] = Ack(data.get("payload"), time.monotonic() - sent)
                        self._cond.notify_all()
        finally:
            with self._cond:
                self._sockets.remove(ws)
        return ws

    def response_url(self) -> str:
        return f"{self.base}/respond/{uuid.uuid4().hex[:8]}"
