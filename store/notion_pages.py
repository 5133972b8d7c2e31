"""Which Notion page mirrors which run or case (table `notion_pages`), and what it last received.

One row per mirrored subject (`run:RUN-1`, `case:CASE-3`): the page id Notion gave when the page was
created (or that a query by Run_ID / Case_ID found), a digest of the properties last written, and
whether the page was locked. The page id is what makes a retry update instead of create; the digest
lets a queued change whose properties were already written (a later change of the same case went out
first) cost no request; `locked` says the SEV0 lock already happened.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tinydb import Query

from store.state import StateStore

TABLE = "notion_pages"


@dataclass(frozen=True)
class PageRow:
    subject: str          # "run:<Run_ID>" or "case:CASE-<n>"
    page_id: str
    digest: str = ""      # SHA-256 of the properties last written ("" when none were written yet)
    locked: bool = False
    synced_at: str = ""   # UTC ISO-8601 of the last write


def get(store: StateStore, subject: str) -> PageRow | None:
    row = store.snapshot().table(TABLE).get(Query().subject == subject)
    return _row(row) if row else None


def put(store: StateStore, page: PageRow) -> None:
    """Insert or replace the row of `page.subject`."""
    with store.transaction() as db:
        db.table(TABLE).upsert(asdict(page), Query().subject == page.subject)


def forget(store: StateStore, subject: str) -> None:
    """Drop a row whose page Notion no longer has (deleted in Notion): the next write finds or creates one."""
    with store.transaction() as db:
        db.table(TABLE).remove(Query().subject == subject)


def _row(row: dict[str, Any]) -> PageRow:
    return PageRow(subject=row["subject"], page_id=row["page_id"], digest=row.get("digest", ""),
                   locked=bool(row.get("locked")), synced_at=row.get("synced_at", ""))
