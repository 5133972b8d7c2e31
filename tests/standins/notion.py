"""A Notion API stand-in on 127.0.0.1: the endpoints the mirror calls, in API version 2025-09-03's shape.

The real notion-client is pointed at it with `base_url` (`NotionStandIn.api_url`, `[notion] api_url`).
It keeps databases (each with one data source and its property schema) and pages, checks the bearer
token, validates page properties against the schema the way Notion does (an unknown property or a
value of the wrong type is `400 validation_error` with Notion's message), and records every request.

Endpoints: `GET /v1/users/me`; `GET /v1/databases/{id}`; `GET /v1/data_sources/{id}`;
`POST /v1/data_sources/{id}/query` (title `equals` filter); `POST /v1/pages`; `GET` and
`PATCH /v1/pages/{id}` (properties, `is_locked`).

Misbehaviour: `rate_limit(n, retry_after)` answers the next n requests 429 with `Retry-After`;
`fail(n, status)` answers 5xx; `slow(n, seconds)` answers only after `seconds` (a client timeout);
`lose_next_create()` creates the page and then drops the connection instead of answering;
`hold_next_create()` creates it and answers only at `stop()` (the caller is killed meanwhile);
`go_down()` / `come_up()` close and reopen the port (connection refused); `drop_property(db, name)` and
`retype_property(db, name, type)` change a database's schema as a person could in Notion.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from jobs.notion.mapping import SCHEMA
from jobs.notion.records import Mirrored

TOKEN = "secret_standin_notion_token"
RUNS_DB = "11111111-1111-4111-8111-111111111111"
CASES_DB = "22222222-2222-4222-8222-222222222222"
DATABASES = {RUNS_DB: Mirrored.RUN, CASES_DB: Mirrored.CASE}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict[str, Any]
    at: float
    status: int


@dataclass
class NotionStandIn:
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    schemas: dict[str, dict[str, str]] = field(default_factory=dict)     # data source id → property → type
    sources: dict[str, str] = field(default_factory=dict)               # database id → its data source id
    _faults: list[tuple[int, float, dict[str, str]]] = field(default_factory=list)
    _lose_creates: int = 0
    _hold_creates: int = 0
    _released: asyncio.Event | None = None
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _site: web.TCPSite | None = None
    _thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "NotionStandIn":
        for database, kind in DATABASES.items():
            source = str(uuid.uuid4())
            self.sources[database] = source
            self.schemas[source] = dict(SCHEMA[kind])
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="notion-standin", daemon=True)
        self._thread.start()
        assert ready.wait(10), "stand-in did not start"
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._released.set)
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def go_down(self) -> None:
        asyncio.run_coroutine_threadsafe(self._site.stop(), self._loop).result(10)

    def come_up(self) -> None:
        async def reopen() -> None:
            self._site = web.TCPSite(self._runner, self.host, self.port)
            await self._site.start()

        asyncio.run_coroutine_threadsafe(reopen(), self._loop).result(10)

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    # ---- misbehaviour and schema changes -----------------------------------------------------------

    def rate_limit(self, times: int, retry_after: int = 1) -> None:
        with self._cond:
            self._faults += [(429, 0.0, {"Retry-After": str(retry_after)})] * times

    def fail(self, times: int, status: int = 502) -> None:
        with self._cond:
            self._faults += [(status, 0.0, {})] * times

    def slow(self, times: int, seconds: float) -> None:
        with self._cond:
            self._faults += [(0, seconds, {})] * times

    def lose_next_create(self) -> None:
        with self._cond:
            self._lose_creates += 1

    def hold_next_create(self) -> None:
        """Create the next page, then keep the answer until `stop()`: the caller can be killed in between."""
        with self._cond:
            self._hold_creates += 1

    def drop_property(self, database: str, name: str) -> None:
        del self.schemas[self.sources[database]][name]

    def retype_property(self, database: str, name: str, kind: str) -> None:
        self.schemas[self.sources[database]][name] = kind

    # ---- what happened -----------------------------------------------------------------------------

    def pages_in(self, database: str) -> list[dict[str, Any]]:
        source = self.sources[database]
        return [p for p in self.pages.values() if p["parent"].get("data_source_id") == source]

    def title_of(self, page: dict[str, Any]) -> str:
        for value in page["properties"].values():
            if "title" in value:
                return "".join(part["text"]["content"] for part in value["title"])
        return ""

    def served(self, method: str = "", path_start: str = "") -> list[Request]:
        with self._cond:
            return [r for r in self.requests if r.method.startswith(method) and r.path.startswith(path_start)]

    # ---- server ----------------------------------------------------------------------------------

    async def _start(self) -> None:
        self._released = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/v1/{path:.*}", self._handle)
        # a client that gave up (a timeout) leaves a connection behind: shutting down waits for it no longer
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port)
        await self._site.start()
        self.port = self._runner.addresses[0][1]

    def _record(self, request: web.Request, body: dict[str, Any], status: int) -> None:
        with self._cond:
            self.requests.append(Request(request.method, request.path.removeprefix("/v1/"), body, time.monotonic(),
                                         status))
            self._cond.notify_all()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._record(request, body, 401)
            return _error(401, "unauthorized", "API token is invalid.")
        with self._cond:
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            status, delay, headers = fault
            if delay:
                await asyncio.sleep(delay)
            else:
                self._record(request, body, status)
                code = "rate_limited" if status == 429 else "internal_server_error"
                return _error(status, code, "Injected by the stand-in.", headers)
        status, answer = self._answer(request.method, request.path.removeprefix("/v1/"), body)
        self._record(request, body, status)
        if request.method == "POST" and request.path == "/v1/pages" and status == 200:
            with self._cond:
                lose, self._lose_creates = self._lose_creates > 0, max(0, self._lose_creates - 1)
            if lose:   # the page exists; the answer never arrives
                request.transport.close()
                return web.Response(status=200)
            with self._cond:
                hold, self._hold_creates = self._hold_creates > 0, max(0, self._hold_creates - 1)
            if hold:
                await self._released.wait()
        return web.json_response(answer, status=status)

    def _answer(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = path.split("/")
        if (method, parts[0]) == ("GET", "users"):
            return 200, {"object": "user", "id": "bot-standin", "type": "bot", "name": "chatops stand-in"}
        if (method, parts[0]) == ("GET", "databases"):
            if parts[1] not in self.sources:
                return _missing("database", parts[1])
            return 200, {"object": "database", "id": parts[1],
                         "data_sources": [{"id": self.sources[parts[1]], "name": "Default"}]}
        if parts[0] == "data_sources":
            schema = self.schemas.get(parts[1])
            if schema is None:
                return _missing("data source", parts[1])
            if method == "GET":
                return 200, {"object": "data_source", "id": parts[1], "properties": {
                    name: {"id": name, "name": name, "type": kind, kind: {}} for name, kind in schema.items()}}
            return 200, self._query(parts[1], body)
        if (method, path) == ("POST", "pages"):
            return self._create(body)
        if parts[0] == "pages" and parts[1] in self.pages:
            page = self.pages[parts[1]]
            if method == "PATCH":
                problem = self._invalid(page["parent"]["data_source_id"], body.get("properties") or {})
                if problem:
                    return 400, problem
                page["properties"].update(body.get("properties") or {})
                if "is_locked" in body:
                    page["is_locked"] = bool(body["is_locked"])
            return 200, page
        return _missing("page", parts[-1])

    def _query(self, source: str, body: dict[str, Any]) -> dict[str, Any]:
        wanted = body.get("filter", {})
        results = [p for p in self.pages.values() if p["parent"]["data_source_id"] == source
                   and (not wanted or self.title_of(p) == wanted.get("title", {}).get("equals"))]
        return {"object": "list", "results": results[:body.get("page_size", 100)], "has_more": False}

    def _create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        source = body.get("parent", {}).get("data_source_id", "")
        if source not in self.schemas:
            return _missing("data source", source)
        problem = self._invalid(source, body.get("properties") or {})
        if problem:
            return 400, problem
        page_id = f"page-{next(self._ids):04d}-{uuid.uuid4().hex[:8]}"
        page = {"object": "page", "id": page_id, "parent": {"type": "data_source_id", "data_source_id": source},
                "properties": dict(body["properties"]), "is_locked": False}
        with self._cond:
            self.pages[page_id] = page
        return 200, page

    def _invalid(self, source: str, properties: dict[str, Any]) -> dict[str, Any] | None:
        schema = self.schemas[source]
        for name, value in properties.items():
            if name not in schema:
                return _body(400, "validation_error", f"{name} is not a property that exists.")
            if schema[name] not in value:
                given = next(iter(value), "?")
                return _body(400, "validation_error", f"{name} is expected to be {schema[name]}. "
                                                      f"Given: {given}.")
        return None


def _body(status: int, code: str, message: str) -> dict[str, Any]:
    return {"object": "error", "status": status, "code": code, "message": message}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(_body(status, code, message), status=status, headers=headers or {})


def _missing(what: str, ident: str) -> tuple[int, dict[str, Any]]:
    return 404, _body(404, "object_not_found", f"Could not find {what} with ID: {ident}. Make sure the relevant "
                                               "pages and databases are shared with your integration.")
