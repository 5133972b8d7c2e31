"""The mirror's reads and writes of the store: queueing changes, building a page from what chatops holds,
and the page-id bookkeeping.

Queued inside the commit of the change (the recorder's batch before its ledger commit, a case
procedure inside its state transaction), so no change can be committed locally without its mirror
change being durable in the outbox. The item names only the subject (`Change`): what is written is
read when it is delivered, under the lock of the commit that queued it (the intake lock for runs, the
state lock for cases), so the worker waits for that commit to finish and writes what it left. A
commit that failed after queueing leaves an item that writes what chatops already holds (a case), or
one that finds no run and is settled as such: harmless either way, never a page for nothing.

Live or dry run: live when this process has NOTION_TOKEN and both database ids, or when the daemon
of this data directory has them (it says so at each start, `record_delivery`), so a `chatops … --as`
beside it queues for it. Otherwise nothing is sent: a run file carries `Would write to Notion` with
the exact payload (`Notion_Sync`, which the recorder asks of `dry_run_of`), and a case change is
logged (`chatops.notion`, "Would write to Notion: {…}"), as the architecture's local mode says.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterable, Mapping

from jobs.context import Context
from jobs.credits.cases import service as case_records
from jobs.credits.records import Case
from jobs.delivery import DestinationName
from jobs.notion.mapping import PageWrite, case_page, run_page
from jobs.notion.records import DRY_RUN_PREFIX, Change, Mirrored, NotionEnv
from store import notion_pages, quarantine as quarantine_store
from store.files import write_file_atomically
from store.notion_pages import PageRow
from store.outbox import Outbox, QueuedState
from store.run_lookup import RunLookup, open_runs
from store.runs_index import intake_lock

log = logging.getLogger("chatops.notion")

DELIVERY_FILE = "notion.delivery"   # "live" or "dry-run": how this directory's last daemon mirrors
LIVE = "live"
DRY_RUN = "dry-run"


def record_delivery(data_dir: Path, env: NotionEnv) -> None:
    """The daemon says at each start whether it mirrors, for the commands run beside it."""
    write_file_atomically(Path(data_dir) / DELIVERY_FILE, (LIVE if env.configured else DRY_RUN).encode() + b"\n")


def live(ctx: Context, environ: Mapping[str, str] | None = None) -> bool:
    if NotionEnv.read(environ).configured:
        return True
    try:
        return (ctx.data_dir / DELIVERY_FILE).read_text().strip() == LIVE
    except FileNotFoundError:
        return False


def dry_run_of(fields: Mapping[str, Any], quarantined: bool) -> str:
    """What a run file carries as `Notion_Sync`: "Would write to Notion: " and exactly the payload the
    worker would send, as one line of JSON (`jq -r '.Notion_Sync | ltrimstr("Would write to Notion: ") | fromjson'`)."""
    return DRY_RUN_PREFIX + json.dumps(run_page(fields, quarantined).to_json(), sort_keys=True, ensure_ascii=False)


def queue_changes(ctx: Context, runs: Iterable[str] = (), cases: Iterable[Case] = (),
                  mirror_live: bool | None = None) -> None:
    """Queue the mirror changes of these runs and cases (one outbox append, fsynced), inside the caller's commit.

    Dry run: nothing is queued; a run's file carries its payload, a case's is logged."""
    latest = {case.case_id: case for case in cases}
    if live(ctx) if mirror_live is None else mirror_live:
        changes = [Change(Mirrored.RUN, r) for r in dict.fromkeys(runs)] + [Change(Mirrored.CASE, c) for c in latest]
        Outbox(ctx.data_dir).queue_each([(c.subject, c.to_item()) for c in changes], QueuedState.PENDING,
                                        ctx.now().isoformat(), DestinationName.NOTION)
        return
    if not log.isEnabledFor(logging.INFO):
        return
    for case in latest.values():
        log.info("%s%s", DRY_RUN_PREFIX, json.dumps(case_page(case, ctx.outgoing.text).to_json(), sort_keys=True,
                                                    ensure_ascii=False))


def page_write(ctx: Context, change: Change) -> PageWrite | None:
    """What the page of `change` should hold now; None when chatops has no such run or case.

    Read under the lock of the commit that queued the change, so a commit still in progress is
    waited for, never raced."""
    if change.kind is Mirrored.CASE:
        with ctx.state.transaction() as db:   # waits for the transaction that queued it; writes nothing
            try:
                case = case_records.load(db, change.id)
            except case_records.CaseNotFound:
                return None
        return case_page(case, ctx.outgoing.text)
    # The recorder that queued it holds the intake lock until its ledger commit and state write are both
    # done; a quarantine release queues inside its state transaction. Same order as the recorder's.
    with intake_lock(ctx.data_dir), ctx.state.transaction() as db:
        entry = _run_entry(ctx.data_dir, change.id)
        held = quarantine_store.get(db, change.id) if entry is not None else None
    if entry is None:
        return None
    return run_page(entry, quarantined=held is not None and not held.get("released_at"))


def _run_entry(data_dir: Path, run_id: str) -> dict[str, Any] | None:
    """The run's `run.recorded` entry (its file's fields), through the index on disk, closed after."""
    runs = open_runs(data_dir)
    try:
        return runs.entry(run_id)
    finally:
        if isinstance(runs, RunLookup):
            runs.close()


def page_of(ctx: Context, change: Change) -> PageRow | None:
    return notion_pages.get(ctx.state, change.page_key)


def remember(ctx: Context, change: Change, page_id: str, digest: str = "", locked: bool = False) -> PageRow:
    row = PageRow(change.page_key, page_id, digest, locked, ctx.now().isoformat())
    notion_pages.put(ctx.state, row)
    return row


def forget(ctx: Context, change: Change) -> None:
    notion_pages.forget(ctx.state, change.page_key)
