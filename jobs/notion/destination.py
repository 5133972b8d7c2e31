"""Notion, a destination of the one outgoing queue: one item is one page brought up to date.

The queue, its order per subject (per page), Retry-After, backoff with jitter and parking belong to
`jobs.delivery.DeliveryWorker`; this module is what is Notion about it:

* **Created once.** The page id is stored (`store/notion_pages.py`) as soon as Notion answers a create.
  Before creating, the database is queried by the page's title (Run_ID / Case_ID): a create whose
  answer was lost, or a crash between Notion's answer and the stored id, finds its page instead of
  making a second one.
* **Updated on change.** The properties are built when the item is delivered from what chatops holds
  (`service.page_write`); a page whose last written properties are the same costs no request.
* **SEV0 lock.** A SEV0 run's page is locked with the API's `is_locked` (PATCH /v1/pages; the app then
  refuses edits; the API can still write it). Once locked, the credit ledger records `notion.locked`
  and the case's thread says it was done, so no message claims a lock before it happened.
* **Rate limit.** At most `[notion] requests_per_second` requests (a token bucket, burst of the same
  size), waited for before each request; the clock and the wait are injectable.
* **Failures.** 429 → `RetryLater(after=Retry-After)` (the whole destination pauses); 5xx and 409 →
  backoff of this page; unreachable, timeouts, a refused token (401), no access (403) or a database not
  found → backoff of the whole destination, with the fix in the message (`chatops notion status`);
  400 (validation) → parked with Notion's message (`chatops notion status`, `outbox retry`).
  The client's own retries are off: retrying is the worker's.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx
from notion_client import Client
from notion_client.errors import HTTPResponseError, RequestTimeoutError

from jobs.actors import DAEMON, Permission
from jobs.context import Context
from jobs.credits import messages
from jobs.credits.audit import ledger, who
from jobs.credits.cases import service as case_records
from jobs.delivery import DestinationName, RetryLater, Undeliverable
from jobs.notion import service
from jobs.notion.mapping import TITLE, PageWrite
from jobs.notion.records import Change, Mirrored, NotionEnv, NotMirrored
from store.outbox import OutboxMessage

log = logging.getLogger("chatops.notion")

def notion_client(ctx: Context, token: str) -> Client:
    """The real notion-client, pointed at `[notion] api_url`, its own retries off (the worker retries), its
    log in ours (its default logger prints to stdout)."""
    return Client(auth=token, base_url=ctx.settings.notion.api_url.rstrip("/"),
                  timeout_ms=int(ctx.settings.notion.timeout_seconds * 1000), retry=False,
                  logger=logging.getLogger("chatops.notion.client"))   # the log file, never a command's stdout


@dataclass
class TokenBucket:
    """At most `rate` requests a second on average, `burst` at once; `take` waits (through `sleep`) when empty."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _tokens: float = field(default=-1.0, init=False)
    _at: float = field(default=0.0, init=False)

    def take(self) -> float:
        """Take one token, waiting for it if needed; returns the seconds waited."""
        now = self.clock()
        if self._tokens < 0:
            self._tokens, self._at = self.burst, now
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        waited = 0.0
        if self._tokens < 1.0:
            waited = (1.0 - self._tokens) / self.rate
            self.sleep(waited)
            self._tokens, self._at = 1.0, now + waited
        self._tokens -= 1.0
        return waited


@dataclass
class NotionDestination:
    ctx: Context
    client: Client
    env: NotionEnv
    bucket: TokenBucket
    name: DestinationName = DestinationName.NOTION
    _sources: dict[Mirrored, str] = field(default_factory=dict)   # database id → its data source id, per kind

    def settled(self, message: OutboxMessage) -> None:
        """Nothing is kept between retries: the page id is in the store as soon as Notion gives it."""

    def deliver(self, message: OutboxMessage) -> dict[str, Any]:
        try:
            change = Change.from_item(message.item)
        except NotMirrored as exc:
            raise Undeliverable(str(exc)) from None
        wanted = service.page_write(self.ctx, change)
        if wanted is None:
            return {"skipped": f"chatops holds no {change.kind.value} {change.id} (its commit did not happen); "
                               "nothing to mirror"}
        try:
            return self._upsert(change, wanted)
        except HTTPResponseError as exc:
            raise _failure(exc, change, self.env) from None
        except (RequestTimeoutError, httpx.TransportError) as exc:
            raise RetryLater(f"Notion unreachable at {self.ctx.settings.notion.api_url} "
                             f"({type(exc).__name__}: {exc or 'timed out'})", whole_destination=True) from None

    # ---- one page ---------------------------------------------------------------------------

    def _upsert(self, change: Change, wanted: PageWrite) -> dict[str, Any]:
        known = service.page_of(self.ctx, change)
        if known is not None and known.digest == wanted.digest:   # the digest covers the lock too
            return {"page_id": known.page_id, "unchanged": True}
        page_id = known.page_id if known is not None else self._find(change, wanted)
        created = False
        if page_id is None:
            page = self._request(self.client.pages.create, parent={
                "type": "data_source_id", "data_source_id": self._source(change.kind)}, properties=wanted.properties)
            page_id, created = page["id"], True
            service.remember(self.ctx, change, page_id)   # at once: a retry from here updates, never creates
        lock_now = wanted.lock and not (known is not None and known.locked)
        if not created or lock_now:
            update: dict[str, Any] = {} if created else {"properties": wanted.properties}
            if lock_now:
                update["is_locked"] = True
            try:
                self._request(self.client.pages.update, page_id, **update)
            except HTTPResponseError as exc:
                if exc.status == 404 and known is not None:   # deleted in Notion: find or create it again
                    service.forget(self.ctx, change)
                    raise RetryLater(f"the Notion page {page_id} of {change.id} is gone; it will be found or "
                                     "created again") from None
                raise
        service.remember(self.ctx, change, page_id, wanted.digest, locked=wanted.lock)
        if lock_now:
            self._locked(change, page_id)
        return {"page_id": page_id, "created": created, **({"locked": True} if lock_now else {})}

    def _find(self, change: Change, wanted: PageWrite) -> str | None:
        """The page already in the database for this Run_ID / Case_ID (a create whose answer was lost)."""
        title = TITLE[change.kind]
        answer = self._request(self.client.data_sources.query, self._source(change.kind),
                               filter={"property": title, "title": {"equals": wanted.key}}, page_size=1)
        results = answer.get("results") or []
        if results:
            log.info("found the Notion page of %s %s (%s) before creating one", change.kind.value, change.id,
                     results[0]["id"])
            return str(results[0]["id"])
        return None

    def _source(self, kind: Mirrored) -> str:
        """The data source of the configured database (API 2025-09-03: pages live in a database's data source)."""
        if kind not in self._sources:
            database = self._request(self.client.databases.retrieve, self.env.database(kind))
            sources = database.get("data_sources") or []
            if not sources:
                raise RetryLater(f"the Notion database {kind.database} ({kind.env}={self.env.database(kind)}) has "
                                 "no data source; point the variable at the database's id", whole_destination=True)
            self._sources[kind] = str(sources[0]["id"])
        return self._sources[kind]

    def _request(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.bucket.take()
        return call(*args, **kwargs)

    def _locked(self, change: Change, page_id: str) -> None:
        """The SEV0 lock happened: record it, and say it in the case's thread (only now, never before)."""
        actor, role = who(DAEMON, Permission.RUN_RECORD)
        ledger(self.ctx).append("notion.locked", actor, role, {"Run_ID": change.id, "data": {
            "page_id": page_id, "database": change.kind.database, "is_locked": True}})
        case = case_records.case_for_run(self.ctx.state.snapshot(), change.id)
        if case is not None:
            self.ctx.notifier.send(messages.case_update(
                self.ctx.settings, case, f"Done automatically: the Notion RUNS_LEDGER page of {change.id} is "
                                         f"locked (read-only in Notion) for {case.case_id}"))


def _failure(exc: HTTPResponseError, change: Change, env: NotionEnv) -> Exception:
    """Notion's answer as the worker's `RetryLater` / `Undeliverable`, worded with the fix."""
    code = str(getattr(exc.code, "value", exc.code) or "")
    said = f"Notion {exc.status} {code}: {exc}".rstrip(": ")
    if exc.status == 429:
        return RetryLater("rate limited by Notion", after=_retry_after(exc.headers), whole_destination=True)
    if exc.status >= 500 or exc.status == 409:
        return RetryLater(said)
    if exc.status == 401:
        return RetryLater(f"{said}; NOTION_TOKEN was refused: set a valid integration token and restart the daemon",
                          whole_destination=True)
    if exc.status in (403, 404):
        return RetryLater(f"{said}; share the {change.kind.database} database ({change.kind.env}="
                          f"{env.database(change.kind)}) with the integration, give it insert, update and read "
                          "content, and check the id (`chatops notion check`)", whole_destination=True)
    return Undeliverable(f"{change.kind.database} page of {change.id} refused: {said}")


def _retry_after(headers: httpx.Headers) -> float:
    """Notion's `Retry-After` in seconds; 1 s when absent or not a number."""
    try:
        return max(0.0, float(str(headers.get("retry-after", "1")).strip()))
    except ValueError:
        return 1.0
