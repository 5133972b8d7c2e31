"""A GitHub REST stand-in on 127.0.0.1: the endpoints the export's GitHub provider calls, over real HTTP.

The real client (PyGithub) is pointed at it with `base_url` (`GitHubStandIn.api_url`, or
`enterprise_url` for GitHub Enterprise Server's `/api/v3` prefix). It keeps repositories' pull
requests and their comments in memory, answers the way GitHub does (status codes, `message` and
`errors` bodies, `X-OAuth-Scopes`), records every request (`requests`), and can be made to misbehave:

* `fail(status, times, match=…, headers=…, message=…)`: the next matching requests answer `status`
  (403, 422, 5xx, 429 with `Retry-After`, …) and do nothing;
* `lose_answer(match, times)`: the next matching requests are carried out, then the connection is
  dropped without an answer, as when the network fails after GitHub acted;
* `merge_outside(number)`: someone merged the PR on GitHub's side.

git's smart-HTTP push (`<repo>.git/info/refs`) is recorded with its Authorization header and refused
(403), so a test sees how a push authenticates without a git server here.

A `match` is `"METHOD path-suffix"`, e.g. `"POST /pulls"` or `"PUT /merge"`. One thread per
connection (`ThreadingHTTPServer`), so the code under test may call it from any thread.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghp_standinTOKEN0000000000000000000000"
ENTERPRISE_PREFIX = "/api/v3"


@dataclass(frozen=True)
class Request:
    method: str
    path: str                  # as received, prefix included
    query: dict[str, str]
    body: dict[str, Any]
    token: str
    status: int                # what the stand-in answered; 0 when the answer was lost
    authorization: str = ""    # the Authorization header as sent (git's pushes send Basic)


@dataclass
class _Fault:
    match: str
    status: int                # 0: carry it out, then drop the connection
    headers: dict[str, str]
    message: str
    action: Callable[[], None] | None = None   # run when the fault fires: what happened meanwhile on GitHub


@dataclass
class GitHubStandIn:
    host: str = "127.0.0.1"
    port: int = 0
    token: str = TOKEN
    scopes: str = "repo"
    push: bool = True                          # the token may push (repository `permissions.push`)
    requests: list[Request] = field(default_factory=list)
    pulls: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)       # repo → number → PR
    comments: dict[str, dict[int, list[dict[str, Any]]]] = field(default_factory=dict)
    _faults: list[_Fault] = field(default_factory=list)
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "GitHubStandIn":
        standin = self

        class Handler(_Handler):
            owner = standin

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="github-standin",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base

    @property
    def enterprise_url(self) -> str:
        return self.base + ENTERPRISE_PREFIX

    # ---- misbehaviour ----------------------------------------------------------------------------

    def fail(self, status: int, times: int = 1, match: str = "", headers: dict[str, str] | None = None,
             message: str = "", meanwhile: Callable[[], None] | None = None) -> None:
        """The next `times` requests matching `match` answer `status`; `meanwhile` runs first each time
        (say, someone merging the PR on GitHub just before the merge call arrives)."""
        with self._lock:
            self._faults += [_Fault(match, status, dict(headers or {}), message, meanwhile)] * times

    def lose_answer(self, match: str, times: int = 1) -> None:
        with self._lock:
            self._faults += [_Fault(match, 0, {}, "")] * times

    def merge_outside(self, repo: str, number: int) -> None:
        with self._lock:
            self._merge(self.pulls[repo][number])

    # ---- reading what happened -------------------------------------------------------------------

    def made(self, match: str, answered_only: bool = False) -> list[Request]:
        """The requests matching `"METHOD path-suffix"` (e.g. `"POST /pulls"`), in order."""
        with self._lock:
            return [r for r in self.requests if _matches(match, r.method, r.path)
                    and (r.status != 0 or not answered_only)]

    def open_pulls(self, repo: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p for p in self.pulls.get(repo, {}).values() if p["state"] == "open"]

    # ---- the server's side -----------------------------------------------------------------------

    def _fault_for(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if not fault.match or _matches(fault.match, method, path):
                    return self._faults.pop(index)
        return None

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)
            self._lock.notify_all()

    def _merge(self, pr: dict[str, Any]) -> None:
        pr.update(state="closed", merged=True, merged_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  merge_commit_sha=f"{next(self._ids):040x}")

    def handle(self, method: str, path: str, query: dict[str, str], body: dict[str, Any],
               token: str) -> tuple[int, dict[str, str], Any]:
        """GitHub's answer to one request: (status, headers, JSON body)."""
        prefix = ENTERPRISE_PREFIX if path.startswith(ENTERPRISE_PREFIX + "/") else ""
        parts = path[len(prefix):].strip("/").split("/")
        if token != self.token:
            return 401, {}, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        headers = {"X-OAuth-Scopes": self.scopes}
        if len(parts) < 3 or parts[0] != "repos":
            return 404, headers, {"message": "Not Found"}
        repo = f"{parts[1]}/{parts[2]}"
        rest = parts[3:]
        url = f"{self.base}{prefix}/repos/{repo}"
        with self._lock:
            pulls = self.pulls.setdefault(repo, {})
            comments = self.comments.setdefault(repo, {})
            if not rest and method == "GET":
                return 200, headers, {"full_name": repo, "name": parts[2], "url": url, "default_branch": "main",
                                      "permissions": {"admin": False, "push": self.push, "pull": True}}
            if rest == ["pulls"] and method == "GET":
                found = [p for p in pulls.values()
                         if query.get("state", "open") in ("all", p["state"])
                         and (not query.get("head") or query["head"] == f"{parts[1]}:{p['head']['ref']}")
                         and (not query.get("base") or query["base"] == p["base"]["ref"])]
                return 200, headers, [self._render(p, url) for p in found]
            if rest == ["pulls"] and method == "POST":
                missing = [k for k in ("title", "head", "base") if not body.get(k)]
                if missing:
                    return 422, headers, {"message": "Validation Failed",
                                          "errors": [{"field": k, "code": "missing_field"} for k in missing]}
                if any(p["state"] == "open" and p["head"]["ref"] == body["head"] for p in pulls.values()):
                    return 422, headers, {"message": "Validation Failed", "errors": [
                        {"resource": "PullRequest", "code": "custom",
                         "message": f"A pull request already exists for {parts[1]}:{body['head']}."}]}
                number = next(self._numbers)
                pr = {"number": number, "id": next(self._ids), "title": body["title"], "body": body.get("body", ""),
                      "state": "open", "merged": False, "merged_at": None, "merge_commit_sha": None,
                      "head": {"ref": body["head"], "sha": f"{next(self._ids):040x}",
                               "label": f"{parts[1]}:{body['head']}"},
                      "base": {"ref": body["base"]}}
                pulls[number] = pr
                return 201, headers, self._render(pr, url)
            if len(rest) >= 2 and rest[0] in ("pulls", "issues") and rest[1].isdigit():
                pr = pulls.get(int(rest[1]))
                if pr is None:
                    return 404, headers, {"message": "Not Found"}
                tail = rest[2:]
                if rest[0] == "pulls" and not tail and method == "GET":
                    return 200, headers, self._render(pr, url)
                if rest[0] == "pulls" and not tail and method == "PATCH":
                    if pr["merged"]:
                        return 422, headers, {"message": "Validation Failed", "errors": [
                            {"resource": "PullRequest", "code": "custom",
                             "message": "Cannot update a merged pull request."}]}
                    pr.update({k: body[k] for k in ("title", "body") if k in body})
                    return 200, headers, self._render(pr, url)
                if rest[0] == "pulls" and tail == ["merge"] and method == "PUT":
                    if pr["merged"] or pr["state"] != "open":
                        return 405, headers, {"message": "Pull Request is not mergeable"}
                    if body.get("sha") and body["sha"] != pr["head"]["sha"]:
                        return 409, headers, {"message": "Head branch was modified. Review and try the merge again."}
                    self._merge(pr)
                    pr["merge_commit_message"] = body.get("commit_message", "")
                    return 200, headers, {"sha": pr["merge_commit_sha"], "merged": True,
                                          "message": "Pull Request successfully merged"}
                if rest[0] == "issues" and tail == ["comments"] and method == "GET":
                    return 200, headers, [self._render_comment(c, url) for c in comments.get(pr["number"], [])]
                if rest[0] == "issues" and tail == ["comments"] and method == "POST":
                    if not body.get("body"):
                        return 422, headers, {"message": "Validation Failed",
                                              "errors": [{"field": "body", "code": "missing_field"}]}
                    comment = {"id": next(self._ids), "body": body["body"]}
                    comments.setdefault(pr["number"], []).append(comment)
                    return 201, headers, self._render_comment(comment, url)
        return 404, headers, {"message": "Not Found"}

    def _render(self, pr: dict[str, Any], repo_url: str) -> dict[str, Any]:
        number = pr["number"]
        html = repo_url.replace("/repos/", "/html/")
        return {**json.loads(json.dumps(pr)), "url": f"{repo_url}/pulls/{number}",
                "issue_url": f"{repo_url}/issues/{number}", "html_url": f"{html}/pull/{number}"}

    @staticmethod
    def _render_comment(comment: dict[str, Any], repo_url: str) -> dict[str, Any]:
        return {**comment, "url": f"{repo_url}/issues/comments/{comment['id']}"}


def _matches(match: str, method: str, path: str) -> bool:
    want_method, _, suffix = match.partition(" ")
    return method == want_method and urlsplit(path).path.rstrip("/").endswith(suffix.rstrip("/"))


class _Handler(BaseHTTPRequestHandler):
    owner: GitHubStandIn
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:   # quiet: the records are the log
        return

    def _serve(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else {}
        auth = self.headers.get("Authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else ""
        owner = self.owner
        if split.path.endswith("/info/refs"):   # git over HTTP: record how it authenticated, refuse the push
            owner._record(Request(self.command, split.path, query, body, token, 403, auth))
            return self._answer(403, {}, {"message": "Permission denied"})
        fault = owner._fault_for(self.command, split.path)
        if fault is not None and fault.action is not None:
            fault.action()
        if fault is not None and fault.status:
            owner._record(Request(self.command, split.path, query, body, token, fault.status))
            payload = {"message": fault.message or _REASONS.get(fault.status, "Server Error")}
            return self._answer(fault.status, fault.headers, payload)
        status, headers, payload = owner.handle(self.command, split.path, query, body, token)
        if fault is not None:   # carried out; the answer is lost with the connection
            owner._record(Request(self.command, split.path, query, body, token, 0))
            self.close_connection = True
            return
        owner._record(Request(self.command, split.path, query, body, token, status))
        self._answer(status, headers, payload)

    def _answer(self, status: int, headers: dict[str, str], payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = _serve


_REASONS = {403: "Resource not accessible by personal access token", 404: "Not Found",
            422: "Validation Failed", 429: "You have exceeded a secondary rate limit.",
            500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
