"""A compliance deployment: the seed's roles, one customer with a contractual SLA, a real context (local outbox)."""
from __future__ import annotations

import json
import tomllib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chatops.config import parse_settings
from jobs.compose import build_context
from jobs.context import Context

PEOPLE = """
[people.ana]
slack_id = "U0ANA00001"
roles = ["O3", "coo"]

[people.dev]
slack_id = "U0DEV00004"
roles = ["O3", "ceo"]

[people.lee]
slack_id = "U0LEE00005"
roles = ["legal.exec"]

[people.sam]
slack_id = "U0SAM00006"
roles = ["security.ops"]

[people.ben]
slack_id = "U0BEN00002"
roles = ["O2", "chief.staff"]

[people.zoe]
slack_id = "U0ZOE00007"
roles = ["coo", "ceo"]

[compliance.customers.acme]
notify_hours = 48
"""

#: A Monday morning, Pacific: 09:00 PST.
START = datetime(2026, 12, 7, 17, 0, tzinfo=timezone.utc)


def settings(extra: dict | None = None):
    raw = tomllib.loads(PEOPLE)
    raw.update(extra or {})
    return parse_settings(raw)


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch) -> Context:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    return build_context(settings(), tmp_path / "var")


def person(ctx: Context, name: str):
    return ctx.people.by_name(name)


def queued(ctx: Context) -> list[dict]:
    """Every item queued in the outbox, as written."""
    path = ctx.data_dir / "outbox.jsonl"
    if not path.exists():
        return []
    return [line["item"] for line in map(json.loads, path.read_text().splitlines()) if line.get("op") == "queued"]


def ledger(ctx: Context) -> list[dict]:
    return [json.loads(line) for line in (ctx.data_dir / "operations" / "ledger.jsonl").read_text().splitlines()]


def refusals(ctx: Context) -> list[dict]:
    return [e["data"] for e in ledger(ctx) if e["kind"] == "command.refused"]
