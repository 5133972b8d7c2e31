"""Where the schema versions live: a row in the state store, and the ledgers' headers.

The state: table `schema`, one row `{"version": N}`; a state written before versions existed has no
row and is version 1. A ledger: its `ledger.created` entry (entry 0, its header) names the schema it
started with (`data.schema`; absent in ledgers created before: 1), and each `ledger.upgraded` entry
after it (`data.to`) the schema from there on. Signed history is never rewritten: a ledger is upgraded
by appending. `jobs/upgrade.py` decides what to migrate; this module only reads and writes the numbers.
"""
from __future__ import annotations

import json
from pathlib import Path

from store.errors import Damaged
from store.ledger.scan import scan_ledger
from store.state import StateStore

TABLE = "schema"
UNVERSIONED = 1        # what files written before versions existed are
STATE_VERSION = 2      # what this code writes into a new state (jobs/upgrade.py migrates older ones)


def state_version(store: StateStore) -> int:
    rows = store.snapshot().table(TABLE).all()
    return int(rows[0]["version"]) if rows else UNVERSIONED


def set_state_version(store: StateStore, version: int) -> None:
    with store.transaction() as db:
        table = db.table(TABLE)
        table.truncate()
        table.insert({"version": version})


def ledger_version(jsonl: Path) -> int | None:
    """The schema a ledger is at; None when the ledger has no entry yet."""
    try:
        with open(jsonl, "rb") as handle:
            first = handle.readline()
    except FileNotFoundError:
        return None
    if not first.strip():
        return None
    try:
        header = json.loads(first)
    except json.JSONDecodeError:
        raise Damaged(f"{jsonl}: its first line (the ledger's header) is not JSON; chatops ledger verify "
                      "says more") from None
    version = int((header.get("data") or {}).get("schema", UNVERSIONED))
    for _seq, entry in scan_ledger(jsonl, collect_kinds=("ledger.upgraded",)).collected:
        version = int(entry["data"]["to"])
    return version
