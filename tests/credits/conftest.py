"""Fixtures for credit monitoring: a real context on a temporary data directory, a real signed credit
ledger (ctx.ledgers), a recording Notifier (implements jobs.notices.Notifier; it is the Slack stand-in at this
layer), baselines set through the baselines area's own API, and run records to submit."""
from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from chatops.config import load_config
from jobs.compose import build_context
from jobs.context import Context
from jobs.credits.intake.file_writers import DurableFileWriter, WriteBehindFileWriter
from jobs.credits.intake.recorder import Recorder
from jobs.notices import Notice

START = datetime(2026, 11, 22, 16, 30, tzinfo=timezone.utc)


@dataclass
class RecordingNotifier:
    """Keeps every notice it is given, in order."""

    sent: list[Notice] = field(default_factory=list)

    def send(self, notice: Notice) -> None:
        self.sent.append(notice)

    def kinds(self) -> list[str]:
        return [n.kind for n in self.sent]


@pytest.fixture
def ctx(config_file: Path) -> Context:
    loaded = load_config(config_file)
    context = build_context(loaded.settings, loaded.data_dir)
    context.notifier = RecordingNotifier()
    return context


@pytest.fixture(params=["durable-before-commit", "write-behind"])
def recorder(ctx: Context, request: pytest.FixtureRequest):
    """Each recorder test runs with both writers: `chatops runs record`'s, and the daemon's (files
    written before the commit, synced just after it); the outcomes must not differ."""
    writer = (DurableFileWriter() if request.param == "durable-before-commit"
              else WriteBehindFileWriter(ctx.data_dir, ctx.now))
    yield Recorder(ctx, writer)
    writer.close()


def entries(ctx: Context) -> list[dict[str, Any]]:
    path = ctx.data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def kinds(ctx: Context) -> list[str]:
    return [e["kind"] for e in entries(ctx)]


def raw_run(run_id: str = "run_1", scenario: str = "scn-invoice", credits: float = 100.0, **extra: Any) -> dict:
    record = {"Run_ID": run_id, "Scenario_ID": scenario, "Job_Type": "sync", "Credits_Total": credits,
              "retry_count": 0, "has_max_items_config": True, "Risk_Flags": [],
              "Started_At": START.isoformat()}
    record.update(extra)
    return record


def set_baseline(ctx: Context, scenario: str, credits: float) -> None:
    from jobs.credits.baselines.flows import set_baseline as set_it

    set_it(ctx, ctx.people.by_name("ana"), scenario, credits, "test baseline")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_intake(ctx):
    """The loopback HTTP intake of a context whose scn-invoice has a baseline of 100, on a free port."""
    from chatops.credits_service import CreditsService, serve
    from chatops.event_loop import EventLoop

    set_baseline(ctx, "scn-invoice", 100.0)
    port = free_port()
    loop = EventLoop().start()
    service = CreditsService(ctx)
    stop = serve(service, "s3cret-token", port, loop)
    yield f"http://127.0.0.1:{port}"
    stop()
    service.stop()
    loop.stop()
