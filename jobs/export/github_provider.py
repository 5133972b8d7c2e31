"""The `github` pull-request provider: the export's PRs on GitHub or GitHub Enterprise Server (seed 000 step 5).

The client is PyGithub: synchronous like the pipeline and the delivery workers that call it, a small
dependency set (requests, PyJWT, PyNaCl), `base_url` for Enterprise Server, and objects built from
GitHub's JSON without a schema of their own. Its own waiting is turned off (`retry=None`, no
throttle): this module owns retries, so the sleeper and the clock are injected and tests never sleep.

What GitHub answers becomes the one error hierarchy (`store/errors.py`), each message naming the
repository, what was asked and the fix:

* 401 / 403 → `Refused` naming the token's scope to grant; 404 → `NotFound`; 422 → `Invalid` with
  GitHub's own message; a merge GitHub will not do (405 / 409) → `Conflict`, unless a re-read shows
  the PR merged (then it is the answer);
* 5xx and the network → retried with bounded backoff and jitter (`jobs.delivery.backoff`), then
  `GitHubUnavailable`; a rate limit (429, or 403 with `Retry-After` / `x-ratelimit-remaining: 0` /
  GitHub's "rate limit" message) waits what GitHub asked, when that is at most `max_wait`.

A retry runs the whole operation again, never just the last request, and every operation is written
to be safe to run twice: `open_or_update` looks for the branch's open PR before opening one (a lost
answer to the create finds the PR it made), `merge` re-reads the PR first (a lost answer to the merge
finds it merged), and `comment` marks its text with a hidden key and looks for it before posting again.

`push` is a real `git push` to `[export.github] push_url` (default `https://<host>/<repo>.git`). The
token reaches git as an `http.<origin>/.extraheader` in git's environment (`GIT_CONFIG_*`), scoped to
the push URL's origin: it is never written to disk, never in a process's argv, never in a URL.

`check_github(ctx)` is the `doctor`'s question: is the token valid, the repository reachable, may the
token push.
"""
from __future__ import annotations

import base64
import contextlib
import os
import random
import re
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar
from urllib.parse import urlsplit

import requests
from github import Auth, Github, GithubException
from github.PullRequest import PullRequest as GhPullRequest
from github.Repository import Repository

from jobs.context import Context
from jobs.delivery import backoff
from jobs.errors import ChatopsError, Conflict, Invalid, NotFound, Refused
from jobs.export.pull_requests import PullRequest, PullRequestState
from jobs.settings import ExportGitHubSettings

TOKEN_ENV = "GITHUB_TOKEN"
BASE_BRANCH = "main"
ATTEMPTS = 5                 # tries of one operation before `GitHubUnavailable`
MAX_WAIT = 300.0             # longest single wait for a rate limit; a longer one is an error to retry later
SECONDARY_LIMIT_WAIT = 60.0  # GitHub's advice when a secondary rate limit names no Retry-After
TIMEOUT = 15                 # seconds per request
GIT_TIMEOUT = 300            # seconds for one git command (a push of a day's transcripts)
SCOPE_FIX = ("give the token in GITHUB_TOKEN the \"repo\" scope (classic token), or Contents and Pull requests "
             "read and write on {repo} (fine-grained token)")
T = TypeVar("T")


class GitHubUnavailable(ChatopsError):
    """GitHub did not answer usefully after the retries (5xx, the network, a rate limit longer than we wait).

    `retry_after`: the seconds GitHub asked for, when it did; `network`: GitHub was not reached at all
    (the delivery worker then pauses the whole destination, not one PR's comments)."""

    def __init__(self, message: str, retry_after: float | None = None, network: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.network = network


@dataclass(frozen=True)
class _Transient:
    """A failure worth another try: why, and how long GitHub asked us to wait (None: our backoff)."""

    reason: str
    wait: float | None = None
    network: bool = False


def default_push_url(api_url: str, repo: str) -> str:
    """`https://github.com/<repo>.git` for github.com's API, `<scheme>://<host>/<repo>.git` for Enterprise
    Server (`https://<host>/api/v3`) and any other API URL."""
    parts = urlsplit(api_url)
    host = "github.com" if parts.netloc == "api.github.com" else parts.netloc
    return f"{parts.scheme}://{host}/{repo}.git"


@dataclass
class GitHubProvider:
    """`PullRequestProvider` for a repository on GitHub (`jobs/export/pull_requests.py`)."""

    repo: str
    api_url: str
    token: str = field(repr=False)
    scrub: Callable[[str], str]          # what leaves the machine passes the outgoing scrub (jobs/outgoing.py)
    push_url: str = ""
    attempts: int = ATTEMPTS
    max_wait: float = MAX_WAIT
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time       # wall clock: GitHub's x-ratelimit-reset is epoch seconds
    rng: random.Random = field(default_factory=random.Random)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)
    name: str = "github"
    _client: Github | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, ctx: Context, environ: Mapping[str, str] | None = None, **options: Any) -> "GitHubProvider":
        """The provider `[export.github]` describes, with the token of `GITHUB_TOKEN` (environment only)."""
        environ = dict(os.environ if environ is None else environ)
        settings: ExportGitHubSettings = ctx.settings.export.github
        if not settings.repo:
            raise Invalid("export.github.repo is empty: set [export.github] repo = \"owner/name\" in config.toml "
                          "to use the github provider")
        token = environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise Invalid(f"{TOKEN_ENV} is not set: the github provider needs a token for {settings.repo} in the "
                          f"environment; {SCOPE_FIX.format(repo=settings.repo)}")
        return cls(repo=settings.repo, api_url=settings.api_url, token=token, scrub=ctx.outgoing.text,
                   push_url=settings.push_url or default_push_url(settings.api_url, settings.repo),
                   environ=environ, **options)

    # ---- the protocol ----------------------------------------------------------------------------

    def push(self, repo_dir: Path, branch: str) -> None:
        """Push `branch` (and `main`, while the remote has none: a PR needs its base) to `push_url`.
        Never forced: a remote branch with commits the export repository lacks is a `Conflict`."""
        def once() -> None:
            refs = [f"refs/heads/{branch}:refs/heads/{branch}"]
            if not self._git(repo_dir, "ls-remote", "--heads", self.push_url, BASE_BRANCH).strip():
                refs.append(f"refs/heads/{BASE_BRANCH}:refs/heads/{BASE_BRANCH}")
            self._git(repo_dir, "push", "--porcelain", self.push_url, *refs)

        self._call(f"push {branch}", once)

    def open_or_update(self, branch: str, title: str, body: str) -> PullRequest:
        title, body = self.scrub(title), self.scrub(body)

        def once() -> PullRequest:
            repo = self._repo()
            for _ in range(2):   # a second look when GitHub says the PR already exists (opened meanwhile)
                for pr in repo.get_pulls(state="open", head=f"{self.owner}:{branch}", base=BASE_BRANCH):
                    if pr.title != title or (pr.body or "") != body:
                        pr.edit(title=title, body=body)
                    return _record(pr)
                merged = [pr.number for pr in repo.get_pulls(state="closed", head=f"{self.owner}:{branch}",
                                                              base=BASE_BRANCH) if pr.merged_at is not None]
                follow = (f"Follow-up to #{merged[-1]} (merged): GitHub cannot reopen a merged pull request, so "
                          f"the sessions this day's later run added come in this one.\n\n") if merged else ""
                try:
                    return _record(repo.create_pull(base=BASE_BRANCH, head=branch,
                                                    title=title + (f" (follow-up to #{merged[-1]})" if merged else ""),
                                                    body=follow + body))
                except GithubException as exc:
                    if exc.status != 422 or "already exists" not in _message(exc):
                        raise
            raise Conflict(f"GitHub says a PR for {branch} already exists on {self.repo} but lists none open; "
                           f"look at {self.repo}'s pull requests for {branch}")

        return self._call(f"open the PR of {branch}", once)

    def get(self, number: int) -> PullRequest:
        return self._call(f"read PR #{number}", lambda: _record(self._pull(number)))

    def comment(self, number: int, text: str, *, key: str = "") -> None:
        """Add `text` to PR `number`. The comment carries a hidden `key` (the outbox item's id, or a new
        one): with a given key, or on a retry, an existing comment with it means the work is done."""
        marker = f"<!-- chatops:{key or uuid.uuid4().hex} -->"
        body = f"{self.scrub(text)}\n\n{marker}"
        tries = 0

        def once() -> None:
            nonlocal tries
            tries += 1
            pr = self._pull(number)
            if (key or tries > 1) and any(marker in (c.body or "") for c in pr.get_issue_comments()):
                return
            pr.create_issue_comment(body)

        self._call(f"comment on PR #{number}", once)

    def merge(self, number: int, message: str) -> PullRequest:
        title, _, detail = self.scrub(message).partition("\n")

        def once() -> PullRequest:
            pr = self._pull(number)
            if pr.merged_at is not None:
                return _record(pr)
            if pr.state != "open":
                raise Conflict(f"PR #{number} on {self.repo} is closed without being merged; reopen it on GitHub "
                               f"or let the next export run open a new one")
            try:
                pr.merge(commit_title=title, commit_message=detail.strip(), merge_method="merge", sha=pr.head.sha)
            except GithubException as exc:
                if exc.status not in (405, 409):
                    raise
                again = self._pull(number)
                if again.merged_at is not None:   # merged already (by us, a lost answer ago, or by someone)
                    return _record(again)
                raise Conflict(f"GitHub will not merge PR #{number} on {self.repo} (HTTP {exc.status}: "
                               f"{_message(exc)}); resolve it on GitHub, then merge again") from None
            return _record(self._pull(number))

        return self._call(f"merge PR #{number}", once)

    # ---- GitHub ----------------------------------------------------------------------------------

    @property
    def owner(self) -> str:
        return self.repo.split("/", 1)[0]

    @property
    def client(self) -> Github:
        if self._client is None:
            self._client = Github(auth=Auth.Token(self.token), base_url=self.api_url, timeout=TIMEOUT, retry=None,
                                  seconds_between_requests=None, seconds_between_writes=None, per_page=100,
                                  user_agent="chatops-export", lazy=True)
        return self._client

    def _repo(self) -> Repository:
        return self.client.get_repo(self.repo)

    def _pull(self, number: int) -> GhPullRequest:
        return self._repo().get_pull(number)

    def repository(self) -> tuple[bool, list[str] | None]:
        """(may the token push, its classic scopes or None for a fine-grained token), one try, no retry."""
        def once() -> tuple[bool, list[str] | None]:
            repo = self._repo()   # lazy: reading its permissions is the request
            return bool(repo.permissions and repo.permissions.push), self.client.oauth_scopes

        return self._call("read the repository", once, attempts=1)

    # ---- retries ---------------------------------------------------------------------------------

    def _call(self, action: str, once: Callable[[], T], attempts: int | None = None) -> T:
        """`once()` until it succeeds, a permanent error, or `attempts` transient failures."""
        attempts = attempts or self.attempts
        failures = 0
        while True:
            try:
                return once()
            except ChatopsError:
                raise
            except Exception as exc:
                problem = self._transient(exc, action)
            failures += 1
            if problem.wait is not None and problem.wait > self.max_wait:
                raise GitHubUnavailable(f"GitHub asks to wait {problem.wait:.0f} s before {action} on {self.repo} "
                                        f"({problem.reason}); try again after that", problem.wait, problem.network)
            if failures >= attempts:
                raise GitHubUnavailable(f"GitHub did not {action} on {self.repo} after {failures} "
                                        f"{'try' if failures == 1 else 'tries'} ({problem.reason}); check "
                                        f"{self.api_url} is reachable and try again", problem.wait, problem.network)
            self.sleep(problem.wait if problem.wait is not None else backoff(failures, self.rng))

    def _transient(self, exc: Exception, action: str) -> _Transient:
        """What `exc` means: a `_Transient` to retry, or the permanent error raised in its place."""
        if isinstance(exc, GithubException):
            status, headers, message = exc.status, {k.lower(): v for k, v in (exc.headers or {}).items()}, _message(exc)
            if status == 429 or status == 403 and _rate_limited(headers, message):
                return _Transient(f"rate limited: {message}", self._rate_wait(headers))
            if status == 401:
                raise Refused(f"GitHub refused to {action} on {self.repo}: the token in {TOKEN_ENV} is not valid "
                              f"(HTTP 401 {message}); set {TOKEN_ENV} to a current token") from None
            if status == 403:
                raise Refused(f"GitHub refused to {action} on {self.repo} (HTTP 403: {message}); "
                              f"{SCOPE_FIX.format(repo=self.repo)}") from None
            if status == 404:
                raise NotFound(f"GitHub found nothing to {action} on {self.repo} (HTTP 404); check [export.github] "
                               f"repo and that the token in {TOKEN_ENV} can see the repository") from None
            if status == 422:
                raise Invalid(f"GitHub refused to {action} on {self.repo}: {message}") from None
            if status >= 500:
                return _Transient(f"HTTP {status}: {message}")
            raise Conflict(f"GitHub would not {action} on {self.repo} (HTTP {status}: {message})") from None
        if isinstance(exc, (requests.RequestException, OSError)):
            return _Transient(f"{type(exc).__name__}: {exc}", network=True)
        if isinstance(exc, _GitFailed):
            return _Transient(exc.reason, network=True)
        raise exc

    def _rate_wait(self, headers: Mapping[str, str]) -> float:
        """GitHub's own wait (`Retry-After`, or the primary limit's reset), else a minute: its secondary
        limits say neither, and its docs ask for at least that (not the outbox's 1 s default)."""
        with contextlib.suppress(ValueError):   # a header that is no number: the secondary limit's wait
            if "retry-after" in headers:
                return max(0.0, float(headers["retry-after"]))
            if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
                return max(1.0, float(headers["x-ratelimit-reset"]) - self.clock() + 1.0)
        return SECONDARY_LIMIT_WAIT

    # ---- git -------------------------------------------------------------------------------------

    def _git(self, repo_dir: Path, *args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(repo_dir), *args], capture_output=True, text=True,
                                  env=self._git_env(), timeout=GIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise _GitFailed(f"git {args[0]} to {self.push_url} took more than {GIT_TIMEOUT} s") from None
        if done.returncode == 0:
            return done.stdout
        output = self.scrub((done.stderr + done.stdout).strip())
        summary = " / ".join(line.strip() for line in output.splitlines() if line.strip())[-400:]
        where = f"{self.push_url} ({args[0]})"
        if re.search(r"non-fast-forward|\[rejected\]|fetch first", output):
            raise Conflict(f"{where} has commits on the export branch that the export repository lacks: {summary}; "
                           f"look at the remote branch, then run the export again")
        if re.search(r"Authentication failed|could not read Username|denied|403|401", output, re.I):
            raise Refused(f"{where} refused the push: {summary}; {SCOPE_FIX.format(repo=self.repo)}")
        if re.search(r"not found|does not appear to be a git repository|404", output, re.I):
            raise NotFound(f"{where}: no such repository ({summary}); check [export.github] push_url and repo")
        raise _GitFailed(f"git {args[0]}: {summary or f'exit {done.returncode}'}")

    def _git_env(self) -> dict[str, str]:
        """git's environment: no prompts, no stored credentials, and the token as an HTTP header scoped
        to the push URL's origin, given through GIT_CONFIG_* (not argv, not a file, not the URL)."""
        env = {**self.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
        parts = urlsplit(self.push_url)
        config = [("credential.helper", "")]
        if parts.scheme in ("http", "https"):
            basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            config.append((f"http.{parts.scheme}://{parts.netloc}/.extraheader", f"Authorization: Basic {basic}"))
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for index, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"], env[f"GIT_CONFIG_VALUE_{index}"] = key, value
        return env


class _GitFailed(Exception):
    """git failed for a reason that may pass (the network, the host); retried like a 5xx."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_github(ctx: Context, environ: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """The doctor's line for GitHub, a plain function any health check may call: (ok, one line).

    Ok when GITHUB_TOKEN is set and valid, the repository of `[export.github] repo` is reachable at
    `api_url`, and the token may push to it (a classic token also needs the `repo` or `public_repo`
    scope). One request, no retries: a doctor answers at once; the line says what is wrong and the fix."""
    try:
        provider = GitHubProvider.from_settings(ctx, environ)
        may_push, scopes = provider.repository()
    except ChatopsError as exc:
        return False, f"github: {exc}"
    where = f"{provider.repo} at {provider.api_url}"
    if scopes is not None and not {"repo", "public_repo"} & set(scopes):
        return False, (f"github: {where} is reachable but the token's scopes are {', '.join(scopes) or 'none'}; "
                       f"{SCOPE_FIX.format(repo=provider.repo)}")
    if not may_push:
        return False, f"github: {where} is reachable but the token may not push to it; " \
                      f"{SCOPE_FIX.format(repo=provider.repo)}"
    kind = f"scopes {', '.join(scopes)}" if scopes is not None else "fine-grained token"
    return True, f"github: {where} reachable, the token may push ({kind})"


def _record(pr: GhPullRequest) -> PullRequest:
    merged_at = pr.merged_at
    state = (PullRequestState.MERGED if merged_at is not None
             else PullRequestState.OPEN if pr.state == "open" else PullRequestState.CLOSED)
    return PullRequest(number=pr.number, url=pr.html_url, branch=pr.head.ref, title=pr.title, body=pr.body or "",
                       state=state, head_sha=pr.head.sha or "",
                       merged_at=merged_at.isoformat().replace("+00:00", "Z") if merged_at else "")


def _message(exc: GithubException) -> str:
    """GitHub's own words: its `message`, with each validation error's message after it."""
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or f"HTTP {exc.status}")
    details = [str(e.get("message") or f"{e.get('field', '')} {e.get('code', '')}".strip())
               for e in data.get("errors") or [] if isinstance(e, dict)]
    return "; ".join([message, *details]) if details else message


def _rate_limited(headers: Mapping[str, str], message: str) -> bool:
    return "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0" or "rate limit" in message.lower()
