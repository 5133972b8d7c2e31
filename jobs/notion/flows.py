"""What people and the daemon do with the Notion mirror: its status, a sync now, the check, the lag.

* `status` — the mirror's part of the outgoing queue: pending changes, the oldest one (the sync lag),
  the worker's last error, parked changes with Notion's message; and whether it is live or a dry run.
* `sync` — deliver what is pending now, in this process (the runbook's "Notion sync failing": after a
  fix, without waiting for the daemon's next retry). It stops at the first wait (a 429, an outage) and
  says what remains; the daemon's worker goes on from there.
* `check` — the token is valid, both databases are reachable, and every property the mirror writes is
  there with its type; each problem named with its fix. `check_notion` is the same for the
  doctor command, and never raises.
* `sync_lag` — for the sweep: how long the oldest unsent change has waited (None: nothing waits, or
  the mirror is a dry run); `lag_report` is the sweep's line when that is over
  `[notion] sync_lag_alert_minutes`.

One deliverer at a time per data directory (`notion.lock`, held per item): a `notion sync` beside the
daemon's worker waits for the item in hand, then finds it written and makes no second request.
"""
from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterator

from jobs import outbox_admin
from jobs.context import Context
from jobs.delivery import DeliveryWorker, DestinationName
from jobs.errors import Invalid
from jobs.notion import service
from jobs.notion.mapping import SCHEMA, TITLE
from jobs.notion.records import Mirrored, NotionEnv
from store.files import open_creating
from store.outbox import OutboxMessage

if TYPE_CHECKING:
    from jobs.notion.destination import NotionDestination

LOCK_FILE = "notion.lock"

#: How a missing or mistyped property is fixed, by the type it must have.
TYPE_NAMES = {"title": "Title", "rich_text": "Text", "select": "Select", "multi_select": "Multi-select",
              "number": "Number", "date": "Date", "checkbox": "Checkbox", "url": "URL"}


class NotConfigured(Invalid):
    """The mirror is asked to reach Notion without its token or database ids."""


@dataclass(frozen=True)
class MirrorStatus:
    live: bool
    queue: outbox_admin.DestinationStatus

    def describe(self) -> list[str]:
        if self.live:
            return self.queue.describe()
        head = (f"notion: dry run (set {', '.join(NotionEnv.read().missing()) or 'the variables'} for the daemon to "
                "mirror); run files carry \"Would write to Notion\" (`grep \"Would write to Notion\" "
                "runs/CREDIT_MONITORING/*/run_*.json`), case changes are logged")
        return [head, *self.queue.describe()[1:]] if self.queue.pending or self.queue.parked else [head]


def status(ctx: Context) -> MirrorStatus:
    queue = next((d for d in outbox_admin.status(ctx) if d.destination == DestinationName.NOTION.value), None)
    return MirrorStatus(service.live(ctx), queue or outbox_admin.DestinationStatus(
        DestinationName.NOTION.value, 0, "", None, (), "", "", ""))


def sync_lag(ctx: Context) -> timedelta | None:
    """How long the oldest unsent Notion change has waited; None when none waits (the sweep's question)."""
    queue = status(ctx).queue
    return timedelta(seconds=queue.oldest_pending_seconds) if queue.oldest_pending_seconds is not None else None


def lag_report(ctx: Context) -> str | None:
    """The sweep's line when the mirror is behind by more than `[notion] sync_lag_alert_minutes`; None otherwise."""
    lag = sync_lag(ctx)
    limit = timedelta(minutes=ctx.settings.notion.sync_lag_alert_minutes)
    if lag is None or lag <= limit:
        return None
    queue = status(ctx).queue
    why = f"; last error: {queue.last_error}" if queue.last_error else ""
    return (f"Notion mirror is {int(lag.total_seconds() // 60)} min behind (over {limit.seconds // 60} min): "
            f"{queue.pending} change(s) pending since {queue.oldest_pending_at}{why}; see `chatops notion status`")


def require_env(environ: dict[str, str] | None = None) -> NotionEnv:
    env = NotionEnv.read(environ)
    if not env.configured:
        raise NotConfigured(f"Notion is not configured: set {', '.join(env.missing())} (the runbook's names); "
                            "without them chatops writes \"Would write to Notion\" into each run file instead")
    return env


def worker(ctx: Context, env: NotionEnv, clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep, **options: Any) -> DeliveryWorker:
    """The mirror's worker: the outbox's `notion` items, through the real notion-client, rate-limited."""
    # notion-client and httpx: for the worker and the check, not for `notion status` (a read of the queue)
    from jobs.notion.destination import NotionDestination, TokenBucket, notion_client

    rate = ctx.settings.notion.requests_per_second
    destination = _Locked(NotionDestination(ctx, notion_client(ctx, env.token), env,
                                            TokenBucket(rate, max(1.0, rate), clock, sleep)))
    return DeliveryWorker(ctx, destination, clock=clock, **options)


def sync(ctx: Context, env: NotionEnv, **options: Any) -> tuple[int, MirrorStatus]:
    """Deliver the pending changes now; stop at the first wait. Returns how many were settled, and the status."""
    settled = worker(ctx, env, wait=lambda _seconds: True, **options).deliver_pending()
    return settled, status(ctx)


@dataclass
class _Locked:
    """A destination delivered by one process at a time per data directory (`notion.lock`, per item)."""

    inner: NotionDestination

    @property
    def name(self) -> DestinationName:
        return self.inner.name

    def deliver(self, message: OutboxMessage) -> dict[str, Any]:
        with _deliverer(self.inner.ctx):
            return self.inner.deliver(message)

    def settled(self, message: OutboxMessage) -> None:
        self.inner.settled(message)


@contextmanager
def _deliverer(ctx: Context) -> Iterator[None]:
    fd = open_creating(ctx.data_dir / LOCK_FILE, os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# ---- the check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckLine:
    ok: bool
    text: str


def check(ctx: Context, env: NotionEnv) -> list[CheckLine]:
    """Token, both databases, every property: one line each, the problems with their fix."""
    import httpx
    from notion_client.errors import HTTPResponseError, RequestTimeoutError

    from jobs.notion.destination import notion_client

    client = notion_client(ctx, env.token)
    lines: list[CheckLine] = []
    try:
        me = client.users.me()
        lines.append(CheckLine(True, f"token: valid ({me.get('name') or me.get('id')}, {me.get('type', 'bot')})"))
    except HTTPResponseError as exc:
        lines.append(CheckLine(False, f"token: refused by Notion ({exc.status} {_code(exc)}: {exc}); set NOTION_TOKEN "
                                      "to the integration's secret"))
        return lines
    except (RequestTimeoutError, httpx.TransportError) as exc:
        lines.append(CheckLine(False, f"Notion unreachable at {ctx.settings.notion.api_url} "
                                      f"({type(exc).__name__}); check [notion] api_url and the network"))
        return lines
    for kind in Mirrored:
        lines += _check_database(client, env, kind)
    return lines


def _check_database(client: Any, env: NotionEnv, kind: Mirrored) -> list[CheckLine]:
    from notion_client.errors import HTTPResponseError

    name = f"{kind.database} ({kind.env}={env.database(kind)})"
    try:
        database = client.databases.retrieve(env.database(kind))
        sources = database.get("data_sources") or []
        if not sources:
            return [CheckLine(False, f"{name}: has no data source; point {kind.env} at the database's id")]
        properties = client.data_sources.retrieve(sources[0]["id"]).get("properties") or {}
    except HTTPResponseError as exc:
        return [CheckLine(False, f"{name}: not reachable ({exc.status} {_code(exc)}: {exc}); share the database with "
                                 "the integration (••• → Connections) and check the id")]
    problems = []
    for prop, wanted in SCHEMA[kind].items():
        have = (properties.get(prop) or {}).get("type")
        kind_name = TYPE_NAMES[wanted]
        if have == wanted:
            continue
        if wanted == "title":
            current = next((n for n, p in properties.items() if p.get("type") == "title"), "")
            problems.append(CheckLine(False, f"{name}: the title property is {current!r}, not {prop!r}; rename "
                                             f"{current!r} to {prop!r}"))
        elif have is None:
            problems.append(CheckLine(False, f"{name}: property {prop} is missing; add it as a {kind_name} property"))
        else:
            problems.append(CheckLine(False, f"{name}: property {prop} is {TYPE_NAMES.get(have, have)}, expected "
                                             f"{kind_name}; change its type to {kind_name}"))
    if problems:
        return problems
    return [CheckLine(True, f"{name}: reachable; all {len(SCHEMA[kind])} properties present "
                            f"(title {TITLE[kind]})")]


def _code(exc: Any) -> str:
    return str(getattr(exc.code, "value", exc.code) or "")


@dataclass(frozen=True)
class NotionHealth:
    """The doctor's view of the mirror: ok, and one line per finding."""

    ok: bool
    lines: tuple[str, ...]


def check_notion(ctx: Context, environ: dict[str, str] | None = None) -> NotionHealth:
    """For the doctor command: a dry run is fine (said so); a live mirror must pass `check` and have nothing
    parked. A plain function: the doctor calls it and prints `lines`."""
    env = NotionEnv.read(environ)
    if not env.configured:
        return NotionHealth(True, (f"notion: dry run ({', '.join(env.missing())} not set); run files carry "
                                   "\"Would write to Notion\"",))
    try:
        lines = check(ctx, env)
    except Exception as exc:   # the doctor reports; it never dies of one check
        return NotionHealth(False, (f"notion: check failed ({type(exc).__name__}: {exc})",))
    queue = status(ctx).queue
    found = [("ok   " if line.ok else "FAIL ") + line.text for line in lines]
    if queue.parked:
        found.append(f"FAIL {len(queue.parked)} change(s) parked: `chatops notion status`, then `chatops outbox retry`")
    return NotionHealth(all(line.ok for line in lines) and not queue.parked, tuple(found))
