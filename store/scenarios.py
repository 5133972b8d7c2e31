"""Typed access to per-scenario settings (table `credit_scenarios`) and their runbook-shaped export.

The store is the source of truth; `config/scenarios/<scenario_id>.json` is written atomically after
every change in the runbook's shape (`max_items`, `is_backfill`, and the backfill start and end) so
`jq '.max_items' config/scenarios/<id>.json` answers as the runbook expects. It is never read back.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from tinydb import Query, TinyDB

from store.access import make_dirs
from store.files import write_file_atomically

TABLE = "credit_scenarios"
EXPORT_DIR = Path("config") / "scenarios"


def get(db: TinyDB, scenario_id: str) -> dict[str, Any] | None:
    return db.table(TABLE).get(Query().scenario_id == scenario_id)


def by_id(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every row by scenario id, from one pass (a batch of runs asks about many scenarios; a query
    per scenario evaluates it against every row); for `StateStore.derived`."""
    return {row["scenario_id"]: row for row in rows}


def all_rows(db: TinyDB) -> list[dict[str, Any]]:
    return sorted(db.table(TABLE).all(), key=lambda r: r["scenario_id"])


def put(db: TinyDB, row: dict[str, Any]) -> None:
    """Insert or replace the row of `row["scenario_id"]` (inside a transaction)."""
    db.table(TABLE).upsert(row, Query().scenario_id == row["scenario_id"])


def write_export(data_dir: Path, row: dict[str, Any]) -> Path:
    """Write `config/scenarios/<id>.json`; returns its path relative to the data directory."""
    relative = EXPORT_DIR / f"{row['scenario_id']}.json"
    backfill = row.get("backfill") or {}
    document = {
        "scenario_id": row["scenario_id"],
        "max_items": row.get("max_items"),
        "is_backfill": bool(backfill),
        "backfill_start": backfill.get("start"),
        "backfill_end": backfill.get("end"),
        "_comment": "Export of the chatops store; change with `chatops scenario set` / `chatops backfill`.",
    }
    target = Path(data_dir) / relative
    make_dirs(target.parent)
    write_file_atomically(target, (json.dumps(document, indent=2) + "\n").encode())
    return relative
