"""Fixtures for the Slack layer: the stand-in, a context pointed at it, the real registry (plus the tests'
own small area for a non-case subject and slow work), and real cases opened by recording real runs."""
from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path
from typing import Any, Callable

import pytest

from chatops.config import LoadedConfig, parse_settings
from chatops.registry import AREAS, Registry
from chatops.slack.interface import SlackInterface
from jobs.compose import build_context
from jobs.context import Context
from jobs.credits.baselines.flows import set_baseline
from jobs.credits.intake.file_writers import DurableFileWriter
from jobs.credits.intake.recorder import Recorder
from jobs.credits.intake.sources import parse_records
from tests.conftest import PEOPLE_TOML
from tests.standins.slack import BOT_TOKEN, SlackStandIn

AREA = "tests.slack.area"


@pytest.fixture
def standin():
    server = SlackStandIn().start()
    yield server
    server.stop()


def make_loaded(tmp_path: Path, api_url: str, extra: dict[str, Any] | None = None) -> LoadedConfig:
    raw = tomllib.loads(PEOPLE_TOML)
    raw["slack"] = {"api_url": api_url, **(extra or {})}
    return LoadedConfig(settings=parse_settings(raw), path=tmp_path / "config.toml", data_dir=tmp_path / "var")


@pytest.fixture
def loaded(tmp_path: Path, standin: SlackStandIn) -> LoadedConfig:
    return make_loaded(tmp_path, standin.api_url)


@pytest.fixture
def ctx(loaded: LoadedConfig, monkeypatch) -> Context:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    return build_context(loaded.settings, loaded.data_dir)


@pytest.fixture
def registry() -> Registry:
    return Registry.load(areas=[*AREAS, AREA])


@pytest.fixture
def iface(ctx: Context, registry: Registry, loaded: LoadedConfig) -> SlackInterface:
    return SlackInterface(ctx=ctx, registry=registry, config=lambda: loaded)


def poll(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Wait for asynchronous delivery with a bounded deadline (not a timing assumption)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.01)


def open_case(ctx: Context, run_id: str = "run_9", scenario: str = "scn-invoice", times: float = 5.2) -> str:
    """A real SEV1 case: a baseline set by an O3, then a run at `times` the baseline recorded by the daemon.

    Its alert (with its buttons) goes out through the outbox like any other; returns the case id.
    """
    if not (ctx.data_dir / "config" / "credit-baselines.json").exists():
        set_baseline(ctx, ctx.people.by_name("ana"), scenario, 100.0, "test baseline")
    record = {"Run_ID": run_id, "Scenario_ID": scenario, "Job_Type": "sync", "Credits_Total": 100.0 * times,
              "retry_count": 0, "has_max_items_config": True, "Risk_Flags": [],
              "Started_At": ctx.now().isoformat()}
    [outcome] = Recorder(ctx, DurableFileWriter()).record(parse_records(json.dumps(record).encode(), "test"))
    assert outcome.case_id, outcome.message
    return outcome.case_id
