"""A context on a temporary data directory, and run records written through the real credit ledger."""
from __future__ import annotations

import textwrap
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from chatops.config import parse_settings
from jobs.compose import build_context
from jobs.context import Context
from tests.conftest import PEOPLE_TOML

NOW = datetime(2024, 1, 23, 18, 15, tzinfo=timezone.utc)   # 10:15 in Los Angeles


def make_context(data_dir: Path, extra_toml: str = "") -> Context:
    raw = tomllib.loads('timezone = "America/Los_Angeles"\n' + PEOPLE_TOML + textwrap.dedent(extra_toml))
    return build_context(parse_settings(raw), data_dir)


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return make_context(tmp_path / "var")


def record_run(ctx: Context, run_id: str, scenario_id: str, credits: float, at: datetime,
               severity: str = "NORMAL", is_backfill: bool = False, **fields: object) -> None:
    """A `run.recorded` entry shaped as jobs/credits/records.py writes it, through the ledger API."""
    ctx.ledgers.credit.append("run.recorded", "daemon", None, {
        "Run_ID": run_id, "Scenario_ID": scenario_id, "Job_Type": "batch", "Credits_Total": credits,
        "Severity": severity, "is_backfill": is_backfill, "Risk_Flags": [], "retry_count": 0,
        "has_max_items_config": True, "Started_At": at.isoformat(),
        "Ended_At": (at + timedelta(minutes=5)).isoformat(), **fields})


def quarantine_run(ctx: Context, run_id: str) -> None:
    ctx.ledgers.credit.append("quarantine.moved", "daemon", None, {"Run_ID": run_id, "data": {
        "old_path": f"runs/CREDIT_MONITORING/2024-01-20/run_{run_id}.json",
        "new_path": f"runs/QUARANTINE/{run_id}/run_{run_id}.json", "sha256": "0" * 64}})


def daily_runs(ctx: Context, scenario_id: str, credits: list[float], end: datetime = NOW,
               prefix: str = "r") -> None:
    """One run a day, the last one an hour before `end`, oldest first."""
    for i, value in enumerate(credits):
        at = end - timedelta(days=len(credits) - 1 - i, hours=1)
        record_run(ctx, f"{prefix}{i:03d}", scenario_id, value, at)


def ledger_entries(ctx: Context, kind: str) -> list[dict]:
    import json

    path = ctx.data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    return [e for e in map(json.loads, path.read_text().splitlines()) if e["kind"] == kind]
