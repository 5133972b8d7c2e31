"""A stand-in for Slack's incoming webhooks on 127.0.0.1: real HTTP, one URL per severity.

`url(severity)` is the URL to put in `SLACK_WEBHOOK_URL_<SEV>`. Every POST is recorded (`posts`: the
path, the JSON body, when it arrived, what was answered). It answers as Slack does — `200 ok` — and
can be made to misbehave for the next requests, in order: `rate_limit(n, retry_after)` answers 429
with `Retry-After`, `fail(n, status)` a 5xx, `refuse(n, error, status)` a 4xx with Slack's error text
(`no_service` 404, `invalid_token` 403, …). `go_down()` closes the port (connection refused).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Post:
    path: str
    body: dict[str, Any]
    at: float            # time.monotonic() when it arrived
    status: int          # what the stand-in answered


@dataclass
class WebhookStandIn:
    host: str = "127.0.0.1"
    port: int = 0
    posts: list[Post] = field(default_factory=list)
    _faults: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> "WebhookStandIn":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:   # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    body = {}
                with standin._lock:
                    status, text, headers = standin._faults.pop(0) if standin._faults else (200, "ok", {})
                    standin.posts.append(Post(self.path, body, time.monotonic(), status))
                payload = text.encode()
                self.send_response(status)
                for name, value in {"Content-Type": "text/plain", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                """Quiet: the test reads `posts`."""

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def go_down(self) -> None:
        self.stop()

    def come_up(self) -> None:
        self.start()

    def url(self, severity: str) -> str:
        return f"http://{self.host}:{self.port}/services/T0STANDIN/B0{severity}/standin-secret-{severity.lower()}"

    def environ(self, *severities: str) -> dict[str, str]:
        """`SLACK_WEBHOOK_URL_<SEV>` for each severity (all three when none is named)."""
        return {f"SLACK_WEBHOOK_URL_{s}": self.url(s) for s in (severities or ("SEV0", "SEV1", "SEV2"))}

    def rate_limit(self, n: int, retry_after: float) -> None:
        self._queue(n, 429, "rate_limited", {"Retry-After": str(retry_after)})

    def fail(self, n: int, status: int = 500) -> None:
        self._queue(n, status, "internal_error", {})

    def refuse(self, n: int, error: str, status: int = 404) -> None:
        self._queue(n, status, error, {})

    def _queue(self, n: int, status: int, text: str, headers: dict[str, str]) -> None:
        with self._lock:
            self._faults.extend([(status, text, headers)] * n)

    def delivered(self, severity: str | None = None) -> list[Post]:
        """The posts answered 200, optionally only those to `severity`'s webhook."""
        return [p for p in self.posts if p.status == 200 and (severity is None or f"/B0{severity}/" in p.path)]
