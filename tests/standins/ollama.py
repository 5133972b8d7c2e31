"""An Ollama stand-in on a loopback address: `POST /api/chat` over real HTTP, recorded, with faults on demand.

The official `ollama` client is pointed at it (`OllamaStandIn.endpoint`). Every request that reaches it is
kept (method, path or the absolute URL a proxy is asked for, headers, JSON body, the client's address), so a
test can say what left the process and where it went. It answers the way `ollama serve` does for a
non-streamed chat (`reply` sets the assistant's text), and can be made to misbehave for the next requests:
`fail(n, status, error)` answers with Ollama's `{"error": …}`, `redirect(n, location)` answers 307,
`drop(n)` closes the connection without an answer, `garble(n)` answers 200 with a body that is not JSON.

It also serves as a would-be proxy: any request to any path is recorded, so pointing `HTTP_PROXY` at one
shows whether a client sent anything through it.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str                  # `/api/chat`, or `http://host:port/api/chat` when asked as a proxy
    headers: dict[str, str]
    body: Any                  # the decoded JSON, or the raw text when it is not JSON
    client: str                # the peer's address


@dataclass
class OllamaStandIn:
    host: str = "127.0.0.1"
    reply: str = "What happened: a draft.\nWhat is contained: a draft.\nWhat is at risk: a draft."
    requests: list[Request] = field(default_factory=list)
    _faults: list[tuple[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> "OllamaStandIn":
        self._server = ThreadingHTTPServer((self.host, 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="ollama-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "OllamaStandIn":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the stand-in first"
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ---- faults for the next requests --------------------------------------------------------------

    def fail(self, n: int = 1, status: int = 500, error: str = "model runner has unexpectedly stopped") -> None:
        self._queue(n, ("fail", (status, error)))

    def redirect(self, n: int = 1, location: str = "") -> None:
        self._queue(n, ("redirect", location))

    def drop(self, n: int = 1) -> None:
        self._queue(n, ("drop", None))

    def garble(self, n: int = 1) -> None:
        self._queue(n, ("garble", None))

    def _queue(self, n: int, fault: tuple[str, Any]) -> None:
        with self._lock:
            self._faults.extend([fault] * n)

    def _next_fault(self) -> tuple[str, Any] | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


def _handler(standin: OllamaStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:   # quiet: the test reads `requests`
            return

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            self._serve(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _serve(self, raw: bytes) -> None:
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            standin._record(Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                    self.client_address[0]))
            fault = standin._next_fault()
            if fault is not None:
                kind, detail = fault
                if kind == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if kind == "fail":
                    status, error = detail
                    return self._send(status, json.dumps({"error": error}).encode())
                if kind == "redirect":
                    return self._send(307, b"", {"Location": detail})
                if kind == "garble":
                    return self._send(200, b"<html>not ollama</html>")
            if self.path != "/api/chat" or self.command != "POST":
                return self._send(404, b"404 page not found")
            model = body.get("model", "") if isinstance(body, dict) else ""
            return self._send(200, json.dumps({
                "model": model, "created_at": "2026-12-05T18:00:00.000000Z",
                "message": {"role": "assistant", "content": standin.reply},
                "done": True, "done_reason": "stop", "total_duration": 1, "load_duration": 1,
                "prompt_eval_count": 1, "prompt_eval_duration": 1, "eval_count": 1, "eval_duration": 1}).encode())

        def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler
